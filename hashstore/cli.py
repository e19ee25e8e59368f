"""The ``hashstore`` command (also ``python -m hashstore`` and ``flask hashstore``).

Options are the ``Settings`` fields spelled as flags (``base_url`` -> ``--base-url``). An
adapter may pass ``defaults`` (Flask passes the app's configuration), which flags override.
Any :class:`~hashstore.errors.HashstoreError` is printed once (``error: ...``, naming settings as
flags) and exits 1; usage errors (an unknown flag, a missing argument or target, an invalid
flag value) exit 2. With ``--json`` a failure also prints a JSON error object on stdout.
Warnings the core logs (``logging``, logger ``hashstore``) are printed as ``warning: ...`` lines
on stderr, unless the program has configured logging itself.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timezone
from typing import Any, NoReturn, TextIO

from . import __version__
from .build import BuiltFile
from .errors import ConfigError, HashstoreError, Interrupted, PublishError, UnknownAssetError
from .interrupts import stop_on_signals
from .manifest import Manifest
from .progress import Progress, StatusLine
from .publish import Plan, PublishReport, format_size, publish
from .settings import Settings
from .spelling import Spelling, option
from .tags import render_asset_tag, render_entry_tags
from .targets import open_target

Handler = Callable[[argparse.Namespace, Settings], int]

# (flag, Settings field, argparse keyword arguments) for options shared by the commands.
_TARGET_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("--to", "target", {"metavar": "TARGET", "help": "s3://bucket/prefix/ or a directory"}),
    ("--endpoint-url", "endpoint_url", {"metavar": "URL", "help": "S3-compatible endpoint"}),
    ("--region", "region", {"metavar": "REGION", "help": "AWS region of the bucket"}),
    ("--profile", "profile", {"metavar": "PROFILE", "help": "AWS credentials profile"}),
    ("--jobs", "jobs", {"metavar": "N", "help": "parallel requests"}),
]
_MANIFEST_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "--manifest",
        "manifest",
        {"metavar": "PATH", "help": "manifest file"},
    ),
    ("--base-url", "base_url", {"metavar": "URL", "help": "prefix of asset URLs"}),
]
_BUILD_OPTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("--release", "release", {"metavar": "ID", "help": "release id"}),
    ("--strict", "strict", {"action": "store_true", "help": "missing references are errors"}),
    ("--ignore", "ignore", {"action": "append", "metavar": "GLOB", "help": "names to leave out"}),
    (
        "--allow-empty",
        "allow_empty",
        {"action": "store_true", "help": "publish even if the build has no files"},
    ),
    (
        "--allow-missing",
        "allow_missing",
        {"action": "append", "metavar": "GLOB", "help": "files whose missing references are fine"},
    ),
    ("--hash-length", "hash_length", {"metavar": "N", "help": "hex digits in names"}),
    (
        "--prehashed",
        "prehashed",
        {
            "action": "append",
            "metavar": "DIR|GLOB",
            "help": "source directory or names already hashed: keep their names; repeatable",
        },
    ),
    (
        "--hashed-pattern",
        "hashed_pattern",
        {"metavar": "REGEX", "help": "file names already hashed keep them (default: none)"},
    ),
    (
        "--static-url-path",
        "static_url_path",
        {"metavar": "PATH", "help": "URL path of root-relative references"},
    ),
    ("--cache-control", "cache_control", {"metavar": "VALUE", "help": "Cache-Control of objects"}),
    ("--acl", "acl", {"metavar": "ACL", "help": "canned ACL"}),
    (
        "--no-conditional-writes",
        "conditional_writes",
        {"action": "store_false", "help": "for stores that reject If-None-Match"},
    ),
    (
        "--checksum",
        "checksum",
        {"choices": ["sha256", "md5", "none"], "help": "upload checksum"},
    ),
]


# What `--help` says for a setting whose default is None.
_NONE_DEFAULTS = {
    "release": "derived from the content",
    "region": "boto3's configuration",
    "profile": "boto3's credential chain",
    "acl": "none",
    "static_url_path": "the path of --base-url, or /static/",
}
# `url` and `verify` read the manifest, whose recorded base_url is the default.
_FROM_MANIFEST = {"base_url": "the manifest's"}


def _add_options(
    parser: argparse._ActionsContainer,
    table: list[tuple[str, str, dict[str, Any]]],
    defaults: Settings | None = None,
    notes: dict[str, str] | None = None,
    *,
    target_required: bool = True,
) -> None:
    """Add the flags of ``table``, their help showing the default each takes from ``defaults``
    (an adapter's settings) or from ``notes``; ``--to`` is required when ``defaults`` are given
    without a target."""
    shown = defaults if defaults is not None else Settings()
    for flag, dest, kwargs in table:
        options = dict(kwargs)
        required = (
            dest == "target"
            and target_required
            and defaults is not None
            and defaults.target is None
        )
        if required:
            options["help"] += " (required)"
        elif notes and dest in notes:
            options["help"] += f" (default: {notes[dest]})"
        elif kwargs.get("action") not in ("store_true", "store_false"):
            value = getattr(shown, dest)
            if isinstance(value, tuple):
                value = ", ".join(map(str, value))
            text = _NONE_DEFAULTS.get(dest) if value is None else str(value)
            if text:
                options["help"] += f" (default: {text.replace('%', '%%')})"
        parser.add_argument(
            flag, dest=f"setting_{dest}", default=argparse.SUPPRESS, required=required, **options
        )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self)


class _CommandParser(_Parser):
    """A subcommand's parser: a flag it does not know is reported with its own usage line."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


class FlagSpelling(Spelling):
    """Settings as command-line flags: ``--jobs``, ``--checksum md5``,
    ``--no-conditional-writes``; settings without a flag keep their field name."""

    def __init__(self, flags: Mapping[str, tuple[str, str | None]]) -> None:
        self.flags = dict(flags)
        """Settings field -> (flag, argparse action)."""

    def name(self, field: str) -> str:
        flag = self.flags.get(field)
        return flag[0] if flag is not None else field

    def assign(self, field: str, value: object) -> str:
        if field not in self.flags:
            return super().assign(field, value)
        flag, action = self.flags[field]
        if action in ("store_true", "store_false"):
            wanted = action == "store_true"
            return flag if value is wanted else f"no {flag}"
        if isinstance(value, (list, tuple)):
            return " ".join(f"{flag} {shlex.quote(str(item))}" for item in value)
        return f"{flag} {shlex.quote(str(value))}"


SPELLING = FlagSpelling(
    {
        dest: (flag, kwargs.get("action"))
        for table in (_TARGET_OPTIONS, _MANIFEST_OPTIONS, _BUILD_OPTIONS)
        for flag, dest, kwargs in table
    }
)
"""How the ``hashstore`` command writes settings in its messages."""


def _settings(args: argparse.Namespace, defaults: Settings) -> Settings:
    values = {
        key.removeprefix("setting_"): value
        for key, value in vars(args).items()
        if key.startswith("setting_")
    }
    if getattr(args, "sources", None):
        values["sources"] = tuple(args.sources)
    return Settings.from_mapping(values, base=defaults, spelling=SPELLING)


class UsageError(Exception):
    """The command line is wrong (exit status 2), raised instead of argparse's exit."""

    def __init__(self, message: str, parser: argparse.ArgumentParser) -> None:
        super().__init__(message)
        self.parser = parser


def build_parser(
    prog: str = "hashstore", defaults: Settings | None = None
) -> argparse.ArgumentParser:
    """The argument parser, with one subcommand per job.

    :param defaults: the settings flags override, shown as each flag's default in ``--help``.
    """
    defaults = defaults if defaults is not None else Settings()
    parser = _Parser(
        prog=prog,
        description="Publish static files under content-hashed names to S3 or a directory.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_CommandParser
    )

    p = commands.add_parser("publish", help="build and upload, then write the manifest")
    p.add_argument("sources", nargs="*", metavar="SRC", help="source directories, in order")
    _add_options(p, _TARGET_OPTIONS + _MANIFEST_OPTIONS + _BUILD_OPTIONS, defaults)
    p.add_argument("--dry-run", action="store_true", help="show the plan; upload nothing")
    p.add_argument(
        "--pin",
        action="append",
        default=[],
        metavar="NAME",
        help="pin the release as NAME (e.g. production) after its record; repeatable",
    )
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.add_argument("-v", "--verbose", action="count", default=0, help="a line per file")
    _add_quiet(p)
    p.set_defaults(handler=_publish, subparser=p)

    u = commands.add_parser("url", help="print the URL of a logical name from the manifest")
    u.add_argument("name", help="logical name (css/app.css) or a bundler entry (src/main.js)")
    u.add_argument("--integrity", action="store_true", help="print the SRI value too")
    u.add_argument(
        "--tags", action="store_true", help="print the HTML tags that load it, with integrity"
    )
    _add_options(u, _MANIFEST_OPTIONS, defaults, _FROM_MANIFEST)
    u.set_defaults(handler=_url, subparser=u)

    r = commands.add_parser(
        "releases",
        help="list the target's releases, newest first, and their pins; pin and unpin them",
    )
    # Not required here: `releases pin NAME RELEASE --to TARGET` gives it to the subcommand.
    _add_options(r, _TARGET_OPTIONS, defaults, target_required=False)
    r.add_argument("--json", action="store_true", help="print JSON")
    r.set_defaults(handler=_releases, subparser=r)
    pins = r.add_subparsers(dest="pin_command", metavar="{pin,unpin}")
    pin = pins.add_parser(
        "pin",
        help="declare RELEASE live as NAME: prune keeps it, verify checks it",
        description="Pin RELEASE as NAME (e.g. production), replacing what NAME pinned before. "
        "Prune never deletes an object of a pinned release; verify checks pinned releases.",
    )
    pin.add_argument("name", metavar="NAME", help="pin name, e.g. production or staging")
    pin.add_argument("release", metavar="RELEASE", help="release id (`hashstore releases`)")
    _add_options(pin, _TARGET_OPTIONS, defaults)
    pin.set_defaults(handler=_pin, subparser=pin)
    unpin = pins.add_parser(
        "unpin", help="remove the pin NAME (its release is then pruned by the policy alone)"
    )
    unpin.add_argument("name", metavar="NAME", help="pin name")
    _add_options(unpin, _TARGET_OPTIONS, defaults)
    unpin.set_defaults(handler=_unpin, subparser=unpin)

    v = commands.add_parser(
        "verify", help="check that every object of a manifest or release is stored intact"
    )
    add_verify_arguments(v, defaults)
    v.set_defaults(handler=_verify, subparser=v)

    pr = commands.add_parser(
        "prune",
        help="delete what no kept release needs (dry run unless --yes)",
        description="Keep the newest N releases, every release younger than D days and always "
        "the newest; delete objects no kept release references whose LastModified is at "
        "least D days old, then the dropped release records. See docs/retention.md.",
    )
    add_prune_arguments(pr, defaults)
    pr.set_defaults(handler=_prune, subparser=pr)

    d = commands.add_parser("doctor", help="check bucket and CloudFront settings hashstore needs")
    _add_options(d, _TARGET_OPTIONS, defaults)
    d.add_argument(
        "--origin", metavar="URL", help="the site's origin that must pass CORS for SRI assets"
    )
    d.add_argument("--distribution-id", metavar="ID", help="CloudFront distribution to check")
    d.add_argument(
        "--cloudfront-endpoint-url", metavar="URL", help="CloudFront endpoint (local stacks)"
    )
    d.add_argument(
        "--no-probe", action="store_true", help="write no probe objects under .hashstore/probe/"
    )
    d.add_argument("--json", action="store_true", help="print a JSON report")
    d.set_defaults(handler=_doctor, subparser=d)
    return parser


def add_verify_arguments(parser: argparse.ArgumentParser, defaults: Settings | None = None) -> None:
    """The options of ``verify`` (also ``manage.py hashstore_verify``).

    :param defaults: the adapter's settings, whose values ``--help`` shows as the defaults.
    """
    _add_options(parser, _TARGET_OPTIONS + _MANIFEST_OPTIONS[1:], defaults, _FROM_MANIFEST)
    which = parser.add_mutually_exclusive_group()
    _add_options(which, _MANIFEST_OPTIONS[:1], defaults)
    which.add_argument(
        "--release",
        dest="release_id",
        metavar="ID",
        help="verify this release's record in the target instead of the manifest file",
    )
    parser.add_argument("--deep", action="store_true", help="read and hash every object")
    parser.add_argument(
        "--no-pins",
        dest="pins",
        action="store_false",
        help="check only the manifest, not also the pinned releases (`hashstore releases`)",
    )
    parser.add_argument(
        "--via-cdn",
        action="store_true",
        help="also fetch every URL: bytes, Cache-Control immutable, Content-Type",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    _add_quiet(parser)


def add_prune_arguments(parser: argparse.ArgumentParser, defaults: Settings | None = None) -> None:
    """The options of ``prune`` (also ``manage.py hashstore_prune``).

    :param defaults: the adapter's settings, whose values ``--help`` shows as the defaults.
    """
    _add_options(parser, _TARGET_OPTIONS, defaults)
    parser.add_argument(
        "--keep-releases",
        type=_whole_number,
        default=5,
        metavar="N",
        help="keep the newest N releases (default 5; the newest is always kept)",
    )
    parser.add_argument(
        "--keep-days",
        type=_days,
        default=7.0,
        metavar="D",
        help="keep releases and objects younger than D days (default 7; must exceed the "
        "longest publish; 0 only when no publish runs)",
    )
    parser.add_argument("--yes", action="store_true", help="delete (default: print the plan only)")
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    _add_quiet(parser)


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress line on the terminal (results and errors still print)",
    )


def settings_from_args(args: argparse.Namespace, defaults: Settings) -> Settings:
    """The ``Settings`` of parsed arguments: flags override ``defaults`` (an adapter's)."""
    return _settings(args, defaults)


def _whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return value


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days >= 0")
    return value


def main(
    argv: Sequence[str] | None = None,
    *,
    defaults: Settings | None = None,
    prog: str = "hashstore",
    spelling: Spelling = SPELLING,
) -> int:
    """Run the command line; returns the exit code (0 ok, 1 error).

    Bad usage (an unknown flag, a missing argument, source or target, an invalid flag value)
    raises ``SystemExit(2)`` after the usage line, as argparse does.

    :param argv: arguments (default ``sys.argv[1:]``).
    :param defaults: settings that flags override (Flask passes the app's configuration).
    :param spelling: how messages name settings (Flask adds its ``HASHSTORE_*`` keys).
    """
    try:
        return _main(list(sys.argv[1:] if argv is None else argv), defaults, prog, spelling)
    except KeyboardInterrupt:
        # Ctrl-C before the command's handlers were in place (while the options are read), or
        # a second one that did not wait for a safe point: no claim about what was recorded.
        print("interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str], defaults: Settings | None, prog: str, spelling: Spelling) -> int:
    parser = build_parser(prog, defaults)
    as_json = "--json" in argv
    try:
        args = parser.parse_args(argv)
        as_json = bool(getattr(args, "json", False))
        try:
            settings = _settings(args, defaults if defaults is not None else Settings())
        except ConfigError as exc:
            raise UsageError(str(exc), args.subparser) from exc
        _check_usage(args, settings, spelling)
    except UsageError as exc:
        # As argparse does (SystemExit 2 after the usage line), with a JSON error if asked.
        exc.parser.print_usage(sys.stderr)
        print(f"{exc.parser.prog}: error: {exc}", file=sys.stderr)
        if as_json:
            print_json_error("UsageError", str(exc), 2)
        raise SystemExit(2) from None
    handler: Handler = args.handler
    try:
        with warnings_to(sys.stderr):
            return handler(args, settings)
    except Interrupted as exc:
        print(exc, file=sys.stderr)
        if as_json:
            print_json_error("Interrupted", str(exc), exc.exit_code)
        return exc.exit_code
    except HashstoreError as exc:
        message = exc.render(spelling)
        print(f"error: {message}", file=sys.stderr)
        if as_json:
            failures = exc.failures if isinstance(exc, PublishError) else None
            print_json_error(type(exc).__name__, message, 1, failures, spelling)
        return 1


class _Prefixed(logging.Formatter):
    """``warning: <message>`` (``error: ...`` for errors): the command's own line format."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


@contextmanager
def warnings_to(err: TextIO) -> Iterator[None]:
    """While inside, what the core logs at ``WARNING`` or above is a ``warning: ...`` line on
    ``err``, as the command's own warnings are; not when logging is configured already (a
    handler on the root or ``hashstore`` logger: the program decides where records go)."""
    logger = logging.getLogger("hashstore")
    if logger.handlers or logging.getLogger().handlers:
        yield
        return
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(_Prefixed())
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _check_usage(args: argparse.Namespace, settings: Settings, spelling: Spelling) -> None:
    if args.command == "publish" and not settings.sources:
        raise UsageError(
            f"no source directories: give them as arguments ({args.subparser.prog} SRC... "
            f"{spelling.render(option('target'))} TARGET)",
            args.subparser,
        )


def print_json_error(
    kind: str,
    message: str,
    code: int,
    failures: Sequence[tuple[str, str]] | None = None,
    spelling: Spelling = SPELLING,
) -> None:
    """The failure as JSON on stdout, for scripts that read ``--json`` output."""
    error: dict[str, Any] = {"type": kind, "message": message, "exit_code": code}
    if failures is not None:
        error["failures"] = [
            {"key": key, "reason": spelling.render(reason)} for key, reason in failures
        ]
    print(json.dumps({"ok": False, "error": error}, indent=2))


@contextmanager
def running(args: argparse.Namespace, err: TextIO) -> Iterator[Progress]:
    """The progress of one command: a status line on ``err`` when it is a terminal (unless
    ``--quiet``, ``--json`` or ``-v``), and SIGINT/SIGTERM turned into a stop at the next safe
    point (:mod:`hashstore.interrupts`)."""
    quiet = getattr(args, "quiet", False) or getattr(args, "json", False)
    quiet = quiet or getattr(args, "verbose", 0)
    with stop_on_signals() as stop:
        yield StatusLine(err, enabled=False if quiet else None, stop=stop)


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    verbose: int = args.verbose

    def on_plan(the_plan: Plan) -> None:
        if verbose and not args.json:
            scanned = the_plan.build.scanned
            for shadow in scanned.shadowed if scanned is not None else ():
                print(f"{shadow.name}: using {shadow.kept}, ignoring {shadow.ignored}")
            for name, why in the_plan.build.kept.items():
                print(f"{name}: keeps its name ({why})")
            print(f"existing objects found by: {the_plan.strategy}")

    def on_file(f: BuiltFile, created: bool) -> None:
        if verbose and not args.json:
            note = "" if created else " (stored meanwhile by another publisher)"
            print(f"uploaded {f.name} -> {f.key} ({format_size(f.size)}){note}")

    with running(args, sys.stderr) as progress:
        report = publish(
            settings,
            dry_run=args.dry_run,
            on_file=on_file,
            on_plan=on_plan,
            pins=args.pin,
            progress=progress,
        )
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
    for warning in report.notes:
        print(f"warning: {warning}", file=sys.stderr)
    if report.dry_run and verbose:
        for f in report.plan.missing:
            print(f"would upload {f.name} -> {f.key} ({format_size(f.size)})")
    print(report.summary())
    if not report.dry_run:
        print(f"manifest written to {report.manifest_path}")


def _url(args: argparse.Namespace, settings: Settings) -> int:
    url_base = settings.base_url if hasattr(args, "setting_base_url") else None
    manifest = Manifest.load(settings.manifest, url_base=url_base)
    name = args.name
    entry = manifest.entries.get(name) if name not in manifest else None
    if args.tags:

        def resolve(n: str) -> tuple[str, str]:
            return manifest.url(n), manifest.integrity(n)

        if entry is not None:
            print(render_entry_tags(entry, resolve))
            return 0
        try:
            print(render_asset_tag(name, *resolve(name)))
        except UnknownAssetError:
            raise
        except ValueError as exc:  # not .css, .js or .mjs
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    name = entry.file if entry is not None else name  # an entry's URL is its script's
    print(manifest.url(name))
    if args.integrity:
        print(manifest.integrity(name))
    return 0


def _releases(args: argparse.Namespace, settings: Settings) -> int:
    from .pins import list_pins  # each command imports only what it runs
    from .releases import list_releases

    target = open_target(settings)
    try:
        releases = list_releases(target, jobs=settings.jobs)
        pins = list_pins(target, jobs=settings.jobs)
    finally:
        target.close()
    pinned: dict[str, list[str]] = {}
    for name, pin in pins.items():
        pinned.setdefault(pin.release, []).append(name)
    if args.json:
        print(
            json.dumps([{**r.to_dict(), "pins": pinned.get(r.id, [])} for r in releases], indent=2)
        )
        return 0
    known = {release.id for release in releases}
    for name, pin in pins.items():
        if pin.release not in known:
            print(
                f"warning: pin {name} names release {pin.release}, which has no record: prune "
                f"refuses to run until it is published again or unpinned",
                file=sys.stderr,
            )
    if not releases:
        print(f"no releases in {target.describe()}")
        return 0
    print(f"{'RELEASE':<20} {'PUBLISHED (UTC)':<19} {'FILES':>7} {'SIZE':>10}")
    for i, release in enumerate(releases):
        published = release.published_at.astimezone(timezone.utc)
        notes = ["newest"] if i == 0 else []
        notes += [f"pinned: {name}" for name in pinned.get(release.id, [])]
        note = f"  {', '.join(notes)}" if notes else ""
        print(
            f"{release.id:<20} {published:%Y-%m-%d %H:%M:%S} {release.files:>7} "
            f"{format_size(release.size):>10}{note}"
        )
    print(f"{len(releases)} release(s), {len(pins)} pin(s) in {target.describe()}")
    return 0


def _pin(args: argparse.Namespace, settings: Settings) -> int:
    from .pins import pin_release

    target = open_target(settings)
    try:
        release = pin_release(target, args.name, args.release)
    finally:
        target.close()
    print(
        f"pinned {args.name} -> release {release.id} ({release.files} file(s)) in "
        f"{target.describe()}: prune keeps it until it is unpinned"
    )
    return 0


def _unpin(args: argparse.Namespace, settings: Settings) -> int:
    from .pins import unpin

    target = open_target(settings)
    try:
        removed = unpin(target, args.name)
    finally:
        target.close()
    if removed is None:
        print(f"no pin {args.name} in {target.describe()}: nothing to do")
    else:
        print(
            f"unpinned {args.name} (was release {removed.release or '?'}) in "
            f"{target.describe()}: prune now keeps or drops that release by its policy"
        )
    return 0


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    return run_verify(args, settings, sys.stdout)


def run_verify(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Verify as ``args`` say, write the report to ``out``; 1 if anything is wrong."""
    url_base = settings.base_url if hasattr(args, "setting_base_url") else None
    target = open_target(settings)
    try:
        from .pins import pinned_releases
        from .verify import VerifyReport, manifest_for, verify

        manifest = manifest_for(settings, target, release=args.release_id, url_base=url_base)
        checks: list[tuple[list[str], Manifest]] = [([], manifest)]
        if args.release_id is None and args.pins:
            for release, names in pinned_releases(target, jobs=settings.jobs).items():
                if release != manifest.release:
                    pinned = manifest_for(settings, target, release=release, url_base=url_base)
                    checks.append((names, pinned))
        reports: list[tuple[list[str], VerifyReport]] = []
        with running(args, sys.stderr) as progress:
            for names, checked in checks:
                found = verify(
                    settings,
                    checked,
                    deep=args.deep,
                    via_cdn=args.via_cdn,
                    target=target,
                    progress=progress,
                )
                reports.append((names, found))
    finally:
        target.close()
    ok = all(found.ok for _, found in reports)
    if args.json:
        data = reports[0][1].to_dict()
        data["pinned"] = [{"pins": names, **found.to_dict()} for names, found in reports[1:]]
        data["ok"] = ok
        out.write(json.dumps(data, indent=2) + "\n")
    else:
        for names, other in reports:
            for problem in other.problems:
                out.write(f"{problem}\n")
            shown = f"pinned as {', '.join(names)}: " if names else ""
            out.write(shown + other.summary() + "\n")
    return 0 if ok else 1


def _prune(args: argparse.Namespace, settings: Settings) -> int:
    return run_prune(args, settings, sys.stdout, sys.stderr)


def run_prune(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    """Prune as ``args`` say (a dry run unless ``--yes``), report to ``out`` (errors to ``err``);
    1 if a release published meanwhile lost objects."""
    from .retention import prune

    with running(args, sys.stderr) as progress:  # a stream, not Django's OutputWrapper
        report = prune(
            settings,
            keep_releases=args.keep_releases,
            keep_days=args.keep_days,
            dry_run=not args.yes,
            progress=progress,
        )
    if args.json:
        out.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        for line in report.lines():
            (err if line.startswith("error:") else out).write(line + "\n")
    return 0 if report.ok else 1


def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from .doctor import doctor

    report = doctor(
        settings,
        origin=args.origin,
        distribution_id=args.distribution_id,
        cloudfront_endpoint_url=args.cloudfront_endpoint_url,
        probe=not args.no_probe,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for line in report.lines():
            print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
