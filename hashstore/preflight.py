"""What a publish checks before its first write, so that it cannot fail half way.

The manifest is written last, after every upload and the release record; a manifest path that
cannot be written would be found out only then, with the work done and nothing to show for it.
So before anything is uploaded: the manifest path is a file that can be created or replaced,
a directory target is (or can become) a directory, and the build is not empty unless that is
allowed. Settings themselves are validated when they are made
(:class:`~hashstore.settings.Settings`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError, ManifestError, SourceError
from .manifest import Manifest
from .settings import Settings
from .spelling import option

if TYPE_CHECKING:
    from .build import Build


def preflight(settings: Settings, *, dry_run: bool = False) -> None:
    """Check the manifest path and a directory target; nothing is written.

    :param dry_run: check without the probe file that proves a directory writable (a dry run
        writes nothing at all).
    :raises ManifestError: the manifest cannot be written where ``manifest`` says.
    :raises ConfigError: a directory target is an existing file, or cannot be created.
    """
    check_manifest_path(settings.manifest, probe=not dry_run)
    if settings.target is not None and not settings.is_s3:
        check_directory_target(settings.target, probe=not dry_run)


def check_manifest_path(path: Path, *, probe: bool = True) -> None:
    """``path`` can be written as a file: not a directory, in a directory that exists (or can
    be created) and accepts new files.

    :param probe: create and delete a temporary file in the nearest existing directory, which
        answers for read-only file systems and access rules that permission bits do not show.
    :raises ManifestError: naming the path and what to do.
    """
    fix = f"give {option('manifest')} a file path in a writable directory"
    if str(path) in ("", "."):
        raise ManifestError(f"{option('manifest')} is empty: {fix}")
    if path.is_dir():
        raise ManifestError(
            f"manifest {path} is a directory: {fix}, such as {path / 'hashstore.json'}"
        )
    _check_creatable(path, what="manifest", fix=fix, error=ManifestError, probe=probe)


def check_directory_target(target: str, *, probe: bool = True) -> None:
    """A directory target is a directory, or can be created as one, and accepts new files.

    :raises ConfigError: naming the path and what to do.
    """
    path = Path(target)
    fix = f"give {option('target')} a directory (created if missing) or s3://bucket/prefix/"
    if path.exists() and not path.is_dir():
        raise ConfigError(f"target {target} is an existing file, not a directory: {fix}")
    if path.is_dir():
        if probe:
            _probe(path, what="target", shown=path, fix=fix, error=ConfigError)
        return
    _check_creatable(path, what="target", fix=fix, error=ConfigError, probe=probe)


def _check_creatable(
    path: Path,
    *,
    what: str,
    fix: str,
    error: type[ConfigError] | type[ManifestError],
    probe: bool,
) -> None:
    """The nearest existing ancestor of ``path`` is a directory in which files can be made."""
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        if ancestor.is_symlink():
            raise error(f"{what} {path} cannot be created: {ancestor} is a broken link; {fix}")
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise error(
            f"{what} {path} cannot be created: {ancestor} is a file, not a directory; {fix}"
        )
    if probe:
        _probe(ancestor, what=what, shown=path, fix=fix, error=error)
    elif not os.access(ancestor, os.W_OK | os.X_OK):
        raise error(f"{what} {path} cannot be written: {ancestor} is not writable; {fix}")


def _probe(
    directory: Path,
    *,
    what: str,
    shown: Path,
    fix: str,
    error: type[ConfigError] | type[ManifestError],
) -> None:
    try:
        fd, name = tempfile.mkstemp(prefix=".hashstore-tmp-preflight-", dir=directory)
    except OSError as exc:
        raise error(
            f"{what} {shown} cannot be written: {directory}: {exc.strerror}; {fix}"
        ) from exc
    os.close(fd)
    os.unlink(name)


def check_not_empty(settings: Settings, built: Build) -> None:
    """Refuse a build without files unless ``allow_empty`` is set.

    An empty build is almost always a front-end build that failed and left its output folder
    empty; publishing it would make an empty release the newest (so a prune keeping one
    release deletes what the live servers use) and replace the manifest with an empty one.

    :raises SourceError: the build has no files and ``allow_empty`` is off.
    """
    if built.files or settings.allow_empty:
        return
    roots = ", ".join(
        str(item[1]) if isinstance(item, tuple) else str(item) for item in settings.sources
    )
    raise SourceError(
        f"the build has no files: the source directories ({roots or 'none'}) hold nothing to "
        "publish after the ignore rules. Nothing was uploaded or written. An empty folder is "
        "usually a front-end build that failed: check it and publish again, or set "
        f"{option('allow_empty', True)} to publish an empty release on purpose."
    )


def previous_manifest(path: Path) -> Manifest | None:
    """The manifest a publish is about to replace, if there is a readable one."""
    try:
        return Manifest.load(path)
    except ManifestError:
        return None
