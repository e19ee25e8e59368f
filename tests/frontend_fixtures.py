"""Build the pinned Vite and webpack fixture projects, once, into ``build/frontend/``.

``tests/fixtures/frontend/<name>/`` holds a small front end (``package.json``, its
``package-lock.json``, the bundler's configuration and ``src/``). :func:`built` copies it into
``build/frontend/<name>/work/``, installs its dependencies with ``npm ci`` (again only when the
lock file changed) and builds it into ``build/frontend/<name>/<digest>/``, where the digest is
of every input file: the same inputs are built once, and any change builds anew. Builds run
under a file lock, and the output appears whole or not at all (built into a temporary folder,
then renamed), so test workers can ask at once.

Usage (``make test`` runs it before pytest)::

    .venv/bin/python -m tests.frontend_fixtures          # build what is missing, print the paths
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = ROOT / "tests" / "fixtures" / "frontend"
CACHE = ROOT / "build" / "frontend"
NAMES = ("vite", "webpack")
_NOT_INPUTS = {"node_modules", "dist"}


class FixtureBuildError(RuntimeError):
    """npm is missing, or installing or building a fixture project failed."""


def npm_command() -> str | None:
    """The path of ``npm``, or ``None`` when it is not installed."""
    return shutil.which("npm")


def _inputs(project: Path) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(project):
        subdirectories[:] = sorted(d for d in subdirectories if d not in _NOT_INPUTS)
        for name in sorted(files):
            yield Path(directory, name)


def _digest(paths: Iterator[Path], project: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.relative_to(project).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def output_path(name: str, cache: Path = CACHE, projects: Path = PROJECTS) -> Path:
    """Where the current inputs of project ``name`` are (or will be) built."""
    project = projects / name
    return cache / name / _digest(_inputs(project), project)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        raise FixtureBuildError(
            f"`{' '.join(command)}` in {cwd} failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )


def built(name: str, cache: Path = CACHE, projects: Path = PROJECTS) -> Path:
    """The output folder of fixture project ``name``, built now unless it is cached.

    :raises FixtureBuildError: npm is missing, or ``npm ci`` or the build failed.
    """
    project = projects / name
    dest = output_path(name, cache, projects)
    if dest.is_dir():
        return dest
    npm = npm_command()
    if npm is None:
        raise FixtureBuildError(f"npm is not installed: it is needed to build {project}")
    with _locked(cache / f"{name}.lock"):
        if dest.is_dir():  # another worker built it while this one waited
            return dest
        work = cache / name / "work"
        lock_digest = hashlib.sha256((project / "package-lock.json").read_bytes()).hexdigest()
        stamp = work / "node_modules" / ".hashstore-lock-digest"
        if not stamp.is_file() or stamp.read_text() != lock_digest:
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            for name_ in ("package.json", "package-lock.json"):
                shutil.copy2(project / name_, work / name_)
            # No install scripts: the bundlers need none (native parts come as packages).
            _run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], work)
            stamp.write_text(lock_digest)
        for path in _inputs(project):
            target = work / path.relative_to(project)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        with tempfile.TemporaryDirectory(prefix=".out-", dir=cache / name) as temporary:
            out = Path(temporary, "out")
            _run([npm, "run", "--silent", "build"], work, {"HASHSTORE_OUT_DIR": str(out)})
            os.rename(out, dest)
        for old in (cache / name).iterdir():  # earlier builds of other inputs
            if old.is_dir() and old not in (dest, work) and not old.name.startswith("."):
                shutil.rmtree(old, ignore_errors=True)
    return dest


def main() -> int:
    try:
        for name in NAMES:
            print(f"{name}: {built(name)}")
    except FixtureBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
