"""Walk the source roots and name every file by its logical name.

A logical name is the file's path relative to its root, always ``/``-separated
(``css/app.css``), optionally under a URL prefix (Django's ``("vendor", "/path")`` form of
``STATICFILES_DIRS``). It becomes part of URLs and hashed keys, so a name that would break
one is refused here, before anything is built: control characters, backslashes (a separator on
Windows), ``..`` and bytes that are not UTF-8.

The walk touches the filesystem once per entry, as whitenoise's ``scantree`` does: the type
comes from the directory listing (``os.scandir``) and only files are stat'ed, for their size.
Symbolic links cost a little more (their target is resolved) and are followed only while they
stay inside the root's real path, so a link can neither publish ``/etc/passwd`` nor send the
walk round in circles.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import translate
from pathlib import Path
from types import MappingProxyType
from typing import TypeAlias

from .errors import ConfigError, SourceError
from .settings import DEFAULT_IGNORE

__all__ = ["RootSpec", "ScanResult", "Shadowed", "SourceFile", "scan"]

RootSpec: TypeAlias = Path | str | tuple[str, Path | str]
"""A source root: a directory, or a ``(url_prefix, directory)`` pair."""

# Characters that must not appear in a logical name: C0/C1 control characters (NUL, newline,
# escape...) and the backslash, which Windows treats as a separator and URLs do not.
_BAD_CHAR = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# More problems than this are counted, not listed, in one error.
_MAX_LISTED = 20


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file found in a source root."""

    name: str
    """Logical name, always ``/``-separated, relative to its root (``css/app.css``)."""
    path: Path
    """The file on disk: absolute, through symbolic links that stay inside the root."""
    root: Path
    """The root it came from (absolute)."""
    size: int
    """Size in bytes, from the one stat made during the walk."""


@dataclass(frozen=True, slots=True)
class Shadowed:
    """A file left out because an earlier root holds the same logical name."""

    name: str
    kept: Path
    """The file used: the first root wins, as with Django's finders."""
    ignored: Path
    """The file in a later root with the same logical name."""


@dataclass(frozen=True)
class ScanResult:
    """Everything :func:`scan` found."""

    files: Mapping[str, SourceFile]
    """Logical name -> file, sorted by logical name (read-only)."""
    shadowed: tuple[Shadowed, ...]
    """Files hidden by an earlier root, sorted by logical name, then by root order."""


def scan(roots: Sequence[RootSpec], *, ignore: Sequence[str] = DEFAULT_IGNORE) -> ScanResult:
    """Find every file in the source roots, by logical name.

    Roots are searched in order and the first one holding a logical name wins, as Django's
    ``FileSystemFinder`` does; the others are listed in :attr:`ScanResult.shadowed` so that a
    surprising override can be shown. The result is sorted, so the same tree always gives the
    same build.

    Symbolic links (to files or directories) are followed while their real target stays inside
    the root's real path. A link leading out of the root, a broken link and a link back to a
    directory it is in (a loop) are errors: the first could publish files nobody meant to
    publish, the others would fail or never end.

    All problems found in one walk are reported together, in one :class:`SourceError` naming
    the first file (by root, then path) and listing the rest.

    :param roots: source directories, as paths or strings; relative ones are taken from the
        current directory. A ``(prefix, directory)`` pair puts that directory's files under
        ``prefix/`` (``("vendor", "assets/vendor")`` gives ``vendor/jquery.js``); the prefix
        must be a relative logical name such as ``vendor`` or ``vendor/lib`` (no leading or
        trailing ``/``, no ``.`` or ``..``). An empty prefix means none.
    :param ignore: glob patterns (:mod:`fnmatch`, case-sensitive) of files and directories to
        leave out. A pattern without ``/`` is matched against each name on the way down, so
        ``.*`` leaves out ``.git/`` and everything in it. A pattern with ``/`` is matched
        against the whole logical name of each file and directory (``*`` also matches ``/``):
        ``admin/*.map`` leaves out maps anywhere under ``admin/``, ``vendor/tests`` that one
        directory, and a leading ``/`` (``/robots.txt``) only anchors the pattern at the top,
        as every pattern with ``/`` is. The default is Django's: ``CVS``, ``.*`` and ``*~``;
        giving ``ignore`` replaces it.
    :raises ConfigError: no roots, a root that is not a path, an invalid prefix.
    :raises SourceError: a root that is missing or not a directory, an unreadable directory,
        a name that cannot be a URL, a link that is broken, loops or leaves its root.

    .. versionadded:: 0.1
    """
    if isinstance(ignore, str):
        raise ConfigError(f"ignore = {ignore!r} is invalid: a list of glob patterns")
    specs = [_parse_root(spec) for spec in roots]
    if not specs:
        raise ConfigError("sources is empty: give at least one directory that holds the files")

    walker = _Walker(ignore)
    for index, (prefix, given) in enumerate(specs):
        walker.walk(index, prefix, given)
    walker.raise_problems()

    found = walker.found
    shadowed = sorted(walker.shadowed, key=lambda item: item[0])
    return ScanResult(
        files=MappingProxyType(dict(sorted(found.items()))),
        shadowed=tuple(entry for _, entry in shadowed),
    )


def _parse_root(spec: object) -> tuple[str, str]:
    """Split a root into its logical prefix (``""`` or ``"vendor/"``) and its path as given."""
    prefix = ""
    directory = spec
    # Lists too, because Django's STATICFILES_DIRS accepts both.
    if isinstance(spec, (tuple, list)):
        if len(spec) != 2 or not isinstance(spec[0], str):
            raise ConfigError(
                f"sources entry {spec!r} is invalid: a directory or a (prefix, directory) pair"
            )
        prefix, directory = spec
        _check_prefix(prefix)
        if prefix:
            prefix += "/"
    try:
        path = os.fspath(directory)  # type: ignore[call-overload]
    except TypeError:
        raise ConfigError(
            f"sources entry {spec!r} is invalid: a directory path or a (prefix, directory) pair"
        ) from None
    if isinstance(path, bytes):
        raise ConfigError(f"sources entry {spec!r} is invalid: give the path as text")
    return prefix, path


def _check_prefix(prefix: str) -> None:
    if not prefix:
        return
    problem = None
    if prefix.startswith("/") or prefix.endswith("/"):
        problem = "no leading or trailing '/'"
    elif any(part in ("", ".", "..") for part in prefix.split("/")):
        problem = "no empty, '.' or '..' parts"
    elif _BAD_CHAR.search(prefix):
        problem = "no control characters or backslashes"
    if problem is not None:
        raise ConfigError(
            f"sources prefix {prefix!r} is invalid: a relative logical path such as 'vendor' "
            f"or 'vendor/lib' ({problem})"
        )


def _compile(patterns: Sequence[str]) -> re.Pattern[str] | None:
    # One alternation of translated globs matches far faster than a loop of fnmatch calls.
    if not patterns:
        return None
    return re.compile("|".join(translate(pattern) for pattern in patterns))


def _name_problem(name: str) -> str | None:
    """Why ``name`` (one path component) cannot be part of a logical name, if it cannot."""
    bad = _BAD_CHAR.search(name)
    if bad is not None:
        char = bad.group()
        if char == "\\":
            return (
                "the name contains a backslash, a path separator on Windows that breaks URLs; "
                "rename it"
            )
        return (
            f"the name contains the control character U+{ord(char):04X}, which cannot be "
            "part of a URL; rename it"
        )
    if name in (".", ".."):
        return f"a name may not be {name!r}; rename it"
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            # os.scandir hands undecodable bytes over as lone surrogates.
            return "the name is not valid UTF-8, so it cannot be a URL; rename it"
    return None


def _show(path: str) -> str:
    """``path`` printable: control characters and undecodable bytes escaped."""
    path = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", path)
    return path.encode("utf-8", "backslashreplace").decode("utf-8")


def _is_inside(real: str, root_real: str) -> bool:
    real = os.path.normcase(real)
    root_real = os.path.normcase(root_real)
    if real == root_real:
        return True
    if not root_real.endswith(os.sep):
        root_real += os.sep
    return real.startswith(root_real)


@dataclass(slots=True)
class _Dir:
    """A directory waiting to be listed, with its chain of ancestors for loop detection."""

    path: str  # on disk, through links
    display: str  # on disk, as the user wrote the root
    prefix: str  # logical name of the directory plus "/", or the root's prefix
    real: str  # real path, resolved only where a link was crossed
    parent: _Dir | None
    # Made on first use: a child of a parsed Path is cheaper than parsing each file's path.
    as_path: Path | None = None


class _Walker:
    """The state of one :func:`scan`: what was found and what went wrong."""

    def __init__(self, ignore: Sequence[str]) -> None:
        self.component_ignore = _compile([p for p in ignore if p and "/" not in p])
        self.name_ignore = _compile([p.lstrip("/") for p in ignore if "/" in p])
        self.found: dict[str, SourceFile] = {}
        self.shadowed: list[tuple[str, Shadowed]] = []
        self.problems: list[tuple[int, str, str]] = []
        # The root being walked.
        self.index = 0
        self.root = Path()
        self.root_real = ""
        self.pending: list[_Dir] = []

    def problem(self, display: str, message: str) -> None:
        self.problems.append((self.index, _show(display), message))

    def raise_problems(self) -> None:
        if not self.problems:
            return
        problems = sorted(self.problems)
        _, path, message = problems[0]
        rest = problems[1:]
        if rest:
            listed = "\n".join(f"  {p}: {m}" for _, p, m in rest[:_MAX_LISTED])
            more = len(rest) - _MAX_LISTED
            message += f"\n{len(rest)} more problem(s) in the source roots:\n{listed}"
            if more > 0:
                message += f"\n  ... and {more} more"
        raise SourceError(message, path=path)

    def walk(self, index: int, prefix: str, given: str) -> None:
        """List one root, depth first, without recursion (trees can be deeper than the stack)."""
        top = os.path.abspath(given)
        self.index = index
        self.root = Path(top)
        self.root_real = os.path.realpath(top)
        self.pending = [_Dir(top, given, prefix, self.root_real, None, self.root)]
        first = True
        while self.pending:
            current = self.pending.pop()
            try:
                with os.scandir(current.path) as entries:
                    for entry in entries:
                        self._visit(entry, current)
            except FileNotFoundError:
                if first:
                    self.problem(
                        given,
                        "source root does not exist; create it, correct the path or remove it "
                        "from the sources",
                    )
                else:
                    self.problem(current.display, "directory vanished during the scan; retry")
            except NotADirectoryError:
                if first:
                    self.problem(
                        given,
                        "source root is not a directory; give the directory that holds the files",
                    )
                else:
                    self.problem(current.display, "directory changed during the scan; retry")
            except PermissionError:
                what = "source root" if first else "directory"
                self.problem(
                    current.display,
                    f"cannot read this {what} (permission denied); make it readable by this "
                    "user or leave it out with an ignore pattern",
                )
            except OSError as exc:
                self.problem(current.display, f"cannot read this directory: {exc.strerror}")
            first = False

    def _visit(self, entry: os.DirEntry[str], parent: _Dir) -> None:
        name = entry.name
        if self.component_ignore is not None and self.component_ignore.match(name):
            return
        logical = parent.prefix + name
        if self.name_ignore is not None and self.name_ignore.match(logical):
            return
        problem = _name_problem(name)
        if problem is not None:
            self.problem(os.path.join(parent.display, name), problem)
            return

        if entry.is_symlink():
            self._visit_link(entry, parent, logical)
            return
        try:
            # The type comes from the listing; the stat is the only system call for a file.
            if entry.is_dir():
                real = os.path.join(parent.real, name)
                display = os.path.join(parent.display, name)
                self.pending.append(_Dir(entry.path, display, logical + "/", real, parent))
                return
            info = entry.stat()
        except OSError as exc:
            self.problem(os.path.join(parent.display, name), f"cannot read it: {exc.strerror}")
            return
        if not stat.S_ISREG(info.st_mode):
            self.problem(
                os.path.join(parent.display, name),
                "not a regular file or directory (a socket, pipe or device); remove it or "
                "leave it out with an ignore pattern",
            )
            return
        self._add(logical, parent, name, info.st_size)

    def _visit_link(self, entry: os.DirEntry[str], parent: _Dir, logical: str) -> None:
        display = os.path.join(parent.display, entry.name)
        try:
            target = os.readlink(entry.path)
        except OSError:
            target = "?"
        try:
            info = entry.stat()  # follows the link
        except FileNotFoundError:
            self.problem(
                display,
                f"broken symbolic link to {target!r}: nothing is there; fix or remove the link",
            )
            return
        except OSError as exc:
            self.problem(
                display,
                f"symbolic link to {target!r} cannot be followed ({exc.strerror}); "
                "fix or remove the link",
            )
            return
        real = os.path.realpath(entry.path)
        is_dir = stat.S_ISDIR(info.st_mode)
        if not _is_inside(real, self.root_real):
            fix = (
                f"copy the directory into the root or add {real} as another source root "
                f"(with the prefix {logical!r} to keep these names)"
                if is_dir
                else "copy the file into the root or add its directory as another source root"
            )
            self.problem(
                display,
                f"symbolic link to {target!r} leads outside the source root ({real} is not "
                f"inside {self.root_real}); {fix}",
            )
            return
        if is_dir:
            # A loop is a link to a directory the walk is already inside. Checking only the
            # current chain (not every directory seen) lets two links share one directory.
            ancestor: _Dir | None = parent
            while ancestor is not None:
                if os.path.normcase(ancestor.real) == os.path.normcase(real):
                    self.problem(
                        display,
                        f"symbolic link to {target!r} makes a loop: it leads back to "
                        f"{ancestor.display}, which contains it; remove the link",
                    )
                    return
                ancestor = ancestor.parent
            self.pending.append(_Dir(entry.path, display, logical + "/", real, parent))
        elif stat.S_ISREG(info.st_mode):
            self._add(logical, parent, entry.name, info.st_size)
        else:
            self.problem(
                display,
                f"symbolic link to {target!r} leads to something that is not a regular file "
                "or directory; remove it or leave it out with an ignore pattern",
            )

    def _add(self, logical: str, parent: _Dir, name: str, size: int) -> None:
        if parent.as_path is None:
            parent.as_path = Path(parent.path)
        path = parent.as_path / name
        kept = self.found.get(logical)
        if kept is None:
            self.found[logical] = SourceFile(name=logical, path=path, root=self.root, size=size)
        elif kept.path != path:  # not the same root given twice
            self.shadowed.append((logical, Shadowed(logical, kept.path, path)))
