"""Fetch pinned third-party CSS packages from npm, and measure CSS reference scanning on them.

The packages are the ones issue 2 names (Bootstrap, Font Awesome, KaTeX, Leaflet, swagger-ui;
Django admin comes with Django). Each is fetched once with ``npm pack NAME@VERSION`` and
unpacked into ``build/thirdparty/<dir>/`` (the tarball's ``package/`` folder), so tests and
benchmarks work offline afterwards. Extraction is safe: only regular files and directories,
nothing outside the destination, and the directory appears whole or not at all (unpacked into a
temporary directory, then renamed), so two test workers fetching at once cannot see half a
package.

Usage::

    .venv/bin/python bench/thirdparty.py               # fetch what is missing, print the paths
    .venv/bin/python bench/thirdparty.py --throughput  # also time hashstore.references vs tinycss2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import posixpath
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "thirdparty"


@dataclass(frozen=True)
class Package:
    """One pinned npm package."""

    name: str
    version: str

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def directory(self) -> str:
        """The cache folder: ``@fortawesome/fontawesome-free`` -> ``fontawesome-free-7.3.1``."""
        return f"{self.name.rsplit('/', 1)[-1]}-{self.version}"


# Exact versions, so that a test failure means hashstore changed, not the package.
PACKAGES = (
    Package("bootstrap", "5.3.9"),
    Package("@fortawesome/fontawesome-free", "7.3.1"),
    Package("katex", "0.19.1"),
    Package("leaflet", "1.9.4"),
    Package("swagger-ui-dist", "5.35.0"),
)

# Real ES modules for the JavaScript scanner's differential tests, its benchmark and the
# native-ESM browser test (lit-html's directives import "../lit-html.js" and the like).
ESM_PACKAGES = (
    Package("lit-html", "3.3.3"),
    Package("lit", "3.3.3"),
    Package("@lit/reactive-element", "2.1.2"),
    Package("preact", "11.2.0"),
    Package("vue", "3.5.45"),
)


class FetchError(RuntimeError):
    """npm is missing or a package could not be fetched or unpacked."""


def npm_command() -> str | None:
    """The path of ``npm``, or ``None`` when it is not installed."""
    return shutil.which("npm")


def package_path(package: Package, cache: Path = CACHE) -> Path:
    """Where ``package`` is (or will be) unpacked."""
    return cache / package.directory


def _safe_extract(tarball: Path, dest: Path) -> None:
    """Unpack the ``package/`` folder of an npm tarball into ``dest``.

    Only regular files and directories are extracted; links, devices, absolute names and names
    climbing out with ``..`` are refused (an npm tarball never needs them).
    """
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive:
            name = posixpath.normpath(member.name)
            if member.name.startswith("/") or name == ".." or name.startswith("../"):
                raise FetchError(f"{tarball.name}: unsafe member name {member.name!r}")
            top, _, rest = name.partition("/")
            if top != "package":
                raise FetchError(f"{tarball.name}: member outside package/: {member.name!r}")
            if not rest:
                continue
            path = dest.joinpath(*rest.split("/"))
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                path.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                with source, path.open("wb") as out:
                    shutil.copyfileobj(source, out)
                path.chmod(0o644)
            else:
                raise FetchError(f"{tarball.name}: refusing non-regular member {member.name!r}")


def fetch(package: Package, cache: Path = CACHE) -> Path:
    """The unpacked package, fetched with ``npm pack`` unless it is in ``cache`` already.

    :raises FetchError: npm is missing, ``npm pack`` failed, or the tarball is unsafe.
    """
    dest = package_path(package, cache)
    if dest.is_dir():
        return dest
    npm = npm_command()
    if npm is None:
        raise FetchError("npm is not installed: it is needed to fetch " + package.spec)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=cache) as work:
        result = subprocess.run(
            [npm, "pack", package.spec, "--pack-destination", work, "--json", "--silent"],
            capture_output=True,
            text=True,
            check=False,
            cwd=work,
        )
        if result.returncode != 0:
            raise FetchError(
                f"npm pack {package.spec} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}"
            )
        filename = json.loads(result.stdout)[0]["filename"]
        # npm names scoped tarballs "fortawesome-fontawesome-free-7.3.1.tgz"
        tarball = Path(work, filename.lstrip("@").replace("/", "-"))
        unpacked = Path(work, "unpacked")
        _safe_extract(tarball, unpacked)
        try:
            os.rename(unpacked, dest)
        except OSError:
            if not dest.is_dir():  # another process won the race: its copy is as good
                raise
    return dest


def fetch_all(cache: Path = CACHE) -> dict[str, Path]:
    """Every package of :data:`PACKAGES`, fetched if needed, by npm name."""
    return {package.name: fetch(package, cache) for package in PACKAGES}


def esm_package(name: str) -> Package:
    """The pinned package of :data:`ESM_PACKAGES` called ``name``."""
    return next(package for package in ESM_PACKAGES if package.name == name)


def django_admin_static() -> Path:
    """The static folder of the installed Django's admin."""
    import django

    return Path(django.__file__).parent / "contrib" / "admin" / "static"


def css_files(roots: list[Path]) -> list[Path]:
    """Every ``.css`` file under ``roots``, sorted."""
    return sorted(p for root in roots for p in root.rglob("*.css") if p.is_file())


def _best_time(func: Callable[[str], object], texts: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            func(text)
        best = min(best, time.perf_counter() - started)
    return best


def throughput(roots: list[Path], *, repeat: int = 5) -> dict[str, Any]:
    """MB/s of hashstore's CSS scan against tinycss2 on the real stylesheets under ``roots``.

    Three readers of the same texts: ``hashstore.references.find_css_references`` (what the
    build runs), ``tinycss2.parse_component_value_list`` (tokenizing only, the least tinycss2
    must do to find ``url()`` tokens) and ``tinycss2.parse_stylesheet`` (tokens plus rules).
    The best of ``repeat`` runs is kept for each.
    """
    import tinycss2  # type: ignore[import-untyped]

    from hashstore.references import find_css_references

    files = css_files(roots)
    texts = [p.read_bytes().decode("utf-8", "surrogateescape") for p in files]
    size = sum(len(p.read_bytes()) for p in files)
    readers = {
        "hashstore.references.find_css_references": (find_css_references, repeat),
        "tinycss2.parse_component_value_list": (tinycss2.parse_component_value_list, 1),
        "tinycss2.parse_stylesheet": (tinycss2.parse_stylesheet, 1),
    }
    results = {}
    for label, (func, runs) in readers.items():
        seconds = _best_time(func, texts, runs)
        results[label] = {"seconds": round(seconds, 4), "mb_per_s": round(size / 1e6 / seconds, 1)}
    return {
        "files": len(files),
        "bytes": size,
        "python": platform.python_version(),
        "tinycss2": tinycss2.__version__,
        "readers": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=CACHE, help="where packages are unpacked")
    parser.add_argument(
        "--throughput", action="store_true", help="time CSS reference scanning on the packages"
    )
    parser.add_argument("--json", type=Path, help="write the throughput figures here")
    args = parser.parse_args(argv)
    try:
        paths = fetch_all(args.cache)
        esm = {package.name: fetch(package, args.cache) for package in ESM_PACKAGES}
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, path in {**paths, **esm}.items():
        print(f"{name}: {path}")
    if args.throughput:
        roots = [*paths.values(), django_admin_static()]
        report = throughput(roots)
        print(f"{report['files']} stylesheets, {report['bytes'] / 1e6:.1f} MB:")
        for label, figures in report["readers"].items():
            print(f"  {label:45} {figures['mb_per_s']:8.1f} MB/s ({figures['seconds']:.3f} s)")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
