"""The ``hashstore`` command (also ``python -m hashstore`` and ``flask hashstore``).

Options are the ``Settings`` fields spelled as flags (``base_url`` -> ``--base-url``). An
adapter may pass ``defaults`` (Flask passes the app's configuration), which flags override.
Any :class:`~hashstore.errors.HashstoreError` is printed once and exits 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from .build import BuiltFile
from .errors import HashstoreError
from .manifest import Manifest
from .publish import Plan, PublishReport, format_size, publish
from .settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]

# (flag, Settings field, argparse keyword arguments) for options shared by the commands.
_TARGET_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("--to", "target", {"metavar": "TARGET", "help": "s3://bucket/prefix/ or a directory"}),
    ("--endpoint-url", "endpoint_url", {"metavar": "URL", "help": "S3-compatible endpoint"}),
    ("--region", "region", {"help": "AWS region of the bucket"}),
    ("--profile", "profile", {"help": "AWS credentials profile"}),
    ("--jobs", "jobs", {"metavar": "N", "help": "parallel requests (default 32)"}),
]
_MANIFEST_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "--manifest",
        "manifest",
        {"metavar": "PATH", "help": "manifest file (default hashstore.json)"},
    ),
    ("--base-url", "base_url", {"metavar": "URL", "help": "prefix of asset URLs"}),
]
_BUILD_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("--release", "release", {"metavar": "ID", "help": "release id (default: from content)"}),
    ("--strict", "strict", {"action": "store_true", "help": "missing references are errors"}),
    ("--ignore", "ignore", {"action": "append", "metavar": "GLOB", "help": "names to leave out"}),
    (
        "--allow-missing",
        "allow_missing",
        {"action": "append", "metavar": "GLOB", "help": "files whose missing references are fine"},
    ),
    ("--hash-length", "hash_length", {"metavar": "N", "help": "hex digits in names (default 12)"}),
    (
        "--static-url-path",
        "static_url_path",
        {"metavar": "PATH", "help": "URL path of root-relative references"},
    ),
    ("--cache-control", "cache_control", {"metavar": "VALUE", "help": "Cache-Control of objects"}),
    ("--acl", "acl", {"help": "canned ACL (default: none)"}),
    (
        "--no-conditional-writes",
        "conditional_writes",
        {"action": "store_false", "help": "for stores that reject If-None-Match"},
    ),
    (
        "--checksum",
        "checksum",
        {"choices": ["sha256", "md5", "none"], "help": "upload checksum (default sha256)"},
    ),
]


def _add_options(
    parser: argparse.ArgumentParser, table: list[tuple[str, str, dict[str, Any]]]
) -> None:
    for flag, dest, kwargs in table:
        parser.add_argument(flag, dest=f"setting_{dest}", default=argparse.SUPPRESS, **kwargs)


def _settings(args: argparse.Namespace, defaults: Settings) -> Settings:
    values = {
        key.removeprefix("setting_"): value
        for key, value in vars(args).items()
        if key.startswith("setting_")
    }
    if getattr(args, "sources", None):
        values["sources"] = tuple(args.sources)
    flags = {
        dest: flag
        for table in (_TARGET_OPTIONS, _MANIFEST_OPTIONS, _BUILD_OPTIONS)
        for flag, dest, _ in table
    }
    return Settings.from_mapping(values, base=defaults, describe=lambda n: flags.get(n, n))


def build_parser(prog: str = "hashstore") -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per job."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Publish static files under content-hashed names to S3 or a directory.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser("publish", help="build and upload, then write the manifest")
    p.add_argument("sources", nargs="*", metavar="SRC", help="source directories, in order")
    _add_options(p, _TARGET_OPTIONS + _MANIFEST_OPTIONS + _BUILD_OPTIONS)
    p.add_argument("--dry-run", action="store_true", help="show the plan; upload nothing")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.add_argument("-v", "--verbose", action="count", default=0, help="a line per file")
    p.set_defaults(handler=_publish)

    u = commands.add_parser("url", help="print the URL of a logical name from the manifest")
    u.add_argument("name", help="logical name, e.g. css/app.css")
    u.add_argument("--integrity", action="store_true", help="print the SRI value too")
    _add_options(u, _MANIFEST_OPTIONS)
    u.set_defaults(handler=_url)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    defaults: Settings | None = None,
    prog: str = "hashstore",
) -> int:
    """Run the command line; returns the exit code.

    :param argv: arguments (default ``sys.argv[1:]``).
    :param defaults: settings that flags override (Flask passes the app's configuration).
    """
    args = build_parser(prog).parse_args(argv)
    handler: Handler = args.handler
    try:
        settings = _settings(args, defaults if defaults is not None else Settings())
        return handler(args, settings)
    except HashstoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


class _Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.total = self.done = 0
        self.lock = threading.Lock()

    def start(self, the_plan: Plan) -> None:
        self.total = len(the_plan.missing)
        self.enabled = self.enabled and self.total >= 20

    def step(self, _file: BuiltFile, _created: bool) -> None:
        if not self.enabled:
            return
        with self.lock:
            self.done += 1
            filled = 30 * self.done // self.total
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total}")
            if self.done == self.total:
                self.stream.write("\r" + " " * 50 + "\r")
            self.stream.flush()


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.sources:
        raise HashstoreError(
            "no source directories: give them as arguments (hashstore publish SRC... --to TARGET)"
        )
    progress = _Progress(sys.stderr)
    verbose: int = args.verbose

    def on_plan(the_plan: Plan) -> None:
        progress.start(the_plan)
        if verbose and not args.json:
            scanned = the_plan.build.scanned
            for shadow in scanned.shadowed if scanned is not None else ():
                print(f"{shadow.name}: using {shadow.kept}, ignoring {shadow.ignored}")
            print(f"existing objects found by: {the_plan.strategy}")

    def on_file(f: BuiltFile, created: bool) -> None:
        progress.step(f, created)
        if verbose and not args.json:
            note = "" if created else " (stored meanwhile by another publisher)"
            print(f"uploaded {f.name} -> {f.key} ({format_size(f.size)}){note}")

    report = publish(settings, dry_run=args.dry_run, on_file=on_file, on_plan=on_plan)
    _print_report(report, args, verbose)
    return 0


def _print_report(report: PublishReport, args: argparse.Namespace, verbose: int) -> None:
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    missing = report.build.missing
    for item in missing:
        print(f"warning: {item}", file=sys.stderr)
    if missing:
        print(
            f"warning: {len(missing)} reference(s) point at files in no source root and were "
            "left as written (--strict makes this an error)",
            file=sys.stderr,
        )
    if report.dry_run and verbose:
        for f in report.plan.missing:
            print(f"would upload {f.name} -> {f.key} ({format_size(f.size)})")
    print(report.summary())
    if not report.dry_run:
        print(f"manifest written to {report.manifest_path}")


def _url(args: argparse.Namespace, settings: Settings) -> int:
    url_base = settings.base_url if hasattr(args, "setting_base_url") else None
    manifest = Manifest.load(settings.manifest, url_base=url_base)
    print(manifest.url(args.name))
    if args.integrity:
        print(manifest.integrity(args.name))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
