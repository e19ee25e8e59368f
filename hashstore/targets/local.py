"""A local directory as a target: for whitenoise-style serving, tests and the demo.

The same rules as S3: a hashed key is created once and never overwritten (a hard link from a
temporary file is create-only); hashstore's own records (release records, pending markers, the
prune lock) live under ``.hashstore/`` and are replaced atomically (a rename).

A file is copied by the kernel (``copy_file_range``, else ``sendfile``, else reads and writes)
into a temporary name beside its hashed name, and the copy, still in the page cache, is hashed
and compared with the build's digest before it is linked into place: a source file that
changed since the build is refused and nothing appears under the hashed name.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import sys
import tempfile
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import TargetError
from .base import READ_CHUNK, ObjectInfo, changed_since_build, check_record_key, release_key

if TYPE_CHECKING:
    from ..build import BuiltFile

_TEMP_MARK = ".hashstore-tmp-"

LOCAL_THREADS_PER_CORE = 4
"""Copies to a directory run on at most this many threads per core (``jobs`` still caps them)."""

_COPY_CHUNK = 1 << 30
"""Bytes asked of one ``copy_file_range``/``sendfile`` call (the kernel may copy fewer)."""

# O_TMPFILE refused: a file system without it (EOPNOTSUPP), a kernel before 3.11 (EISDIR).
_NO_UNNAMED = frozenset({errno.EOPNOTSUPP, errno.ENOTSUP, errno.EISDIR, errno.EINVAL})

# copy_file_range or sendfile refusing this pair of files (another file system on an old
# kernel, a file system without support, a seccomp filter): copy another way.
_NO_KERNEL_COPY = frozenset(
    {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM}
)


class LocalTarget:
    """Hashed files in a directory (created when first written to)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._made: set[Path] = set()  # directories known to exist: one mkdir each, not per file
        # /proc/self/fd, to link unnamed files (None: not available, or not opened yet).
        self._proc_fd: int | None = None
        self._proc_tried = False
        self._proc_opened: int | None = None
        self._proc_lock = threading.Lock()

    def describe(self) -> str:
        return str(self.root)

    def url_for_key(self, key: str) -> str:
        return str(self.root / key)

    def find_existing(self, keys: Collection[str]) -> Mapping[str, int]:
        return {key: info.size for key, info in self.find_objects(keys).items()}

    def find_objects(self, keys: Collection[str]) -> Mapping[str, ObjectInfo]:
        found = {}
        for key in keys:
            info = self.stat(key)
            if info is not None:
                found[key] = info
        return found

    def find_changed(
        self, present: Sequence[tuple[BuiltFile, ObjectInfo]]
    ) -> list[tuple[BuiltFile, str]]:
        changed = []
        for file, info in present:
            if info.size != file.size:
                changed.append((file, f"holds {info.size:,} bytes; this build has {file.size:,}"))
            elif self._digest(file.key) != file.digest:
                changed.append((file, f"holds other bytes of the same size ({file.size:,})"))
        return changed

    def upload_workers(self, jobs: int) -> int:
        # A copy is mostly the kernel's work, creating the file and filling its pages, and it
        # blocks on the file system (journal, allocation) about as often as it computes: a few
        # threads per core keep the cores busy; measured on two cores, 2 threads were slowest,
        # 4 to 32 alike, each one more waiting on the same directory and journal locks.
        return max(1, min(jobs, LOCAL_THREADS_PER_CORE * (os.cpu_count() or 1)))

    def put_if_absent(self, file: BuiltFile) -> bool:
        dest = self.root / file.key
        try:
            if dest.parent not in self._made:
                dest.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(dest.parent)
            fd, tmp = self._open_temp(dest)
            try:
                self._fill_verified(fd, dest, file)
                try:
                    self._link(fd, tmp, dest)  # create-only: never replaces an existing dest
                except FileExistsError:
                    self._check_same(dest, file)
                    return False
            finally:
                os.close(fd)
                if tmp is not None:
                    os.unlink(tmp)
        except OSError as exc:
            raise self._error("write", file.key, exc) from exc
        return True

    def put_release(self, release: str, body: bytes) -> None:
        self.put_record(release_key(release), body)

    def put_record(self, key: str, body: bytes) -> None:
        dest = self.root / check_record_key(key)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}{_TEMP_MARK}", dir=dest.parent)
            with os.fdopen(fd, "wb") as out:
                out.write(body)
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        except OSError as exc:
            raise self._error("write", key, exc) from exc

    def read(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except OSError as exc:
            raise self._error("read", key, exc) from exc

    def iter_bytes(self, key: str, *, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        try:
            with open(self.root / key, "rb", buffering=0) as stream:
                while chunk := stream.read(chunk_size):
                    yield chunk
        except OSError as exc:
            raise self._error("read", key, exc) from exc

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            st = os.stat(self.root / key)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error("stat", key, exc) from exc
        return ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, timezone.utc))

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        if not self.root.is_dir():
            return
        found: list[ObjectInfo] = []
        for directory, _dirs, names in os.walk(self.root):
            for name in names:
                if _TEMP_MARK in name:
                    continue
                path = Path(directory, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    st = path.stat()
                    modified = datetime.fromtimestamp(st.st_mtime, timezone.utc)
                    found.append(ObjectInfo(key, st.st_size, modified))
        yield from sorted(found, key=lambda info: info.key)

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            try:
                (self.root / key).unlink(missing_ok=True)
            except OSError as exc:
                raise self._error("delete", key, exc) from exc

    def cancel(self) -> None:
        pass  # a local copy ends quickly; a partial one is a temporary file, removed

    def close(self) -> None:
        with self._proc_lock:
            opened, self._proc_opened, self._proc_fd = self._proc_opened, None, None
            self._proc_tried = False
        if opened is not None:
            os.close(opened)

    def _open_temp(self, dest: Path) -> tuple[int, str | None]:
        """A file to fill beside ``dest``: unnamed (``O_TMPFILE``) where the system can, so
        nothing is ever visible but the verified file under its hashed name, and no temporary
        file survives a crash; else a named temporary file, and its path."""
        if self._can_link_unnamed():
            try:
                return os.open(dest.parent, os.O_TMPFILE | os.O_RDWR, 0o644), None
            except OSError as exc:
                if exc.errno not in _NO_UNNAMED:
                    raise
                self._proc_fd = None  # this file system has none: named files from now on
                # (the descriptor stays open until close(): another thread may be using it)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}{_TEMP_MARK}", dir=dest.parent)
        return fd, tmp

    def _can_link_unnamed(self) -> bool:
        """Whether unnamed files can be linked: ``O_TMPFILE`` and ``/proc/self/fd`` (Linux)."""
        if not self._proc_tried:
            with self._proc_lock:
                if not self._proc_tried and hasattr(os, "O_TMPFILE"):
                    with contextlib.suppress(OSError):
                        self._proc_fd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
                        self._proc_opened = self._proc_fd
                self._proc_tried = True
        return self._proc_fd is not None

    def _link(self, fd: int, tmp: str | None, dest: Path) -> None:
        if tmp is not None:
            os.link(tmp, dest)
        else:
            # linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N: the way to name an O_TMPFILE.
            assert self._proc_fd is not None
            os.link(str(fd), dest, src_dir_fd=self._proc_fd, follow_symlinks=True)

    def _fill_verified(self, fd: int, dest: Path, file: BuiltFile) -> None:
        """Write ``file``'s bytes to ``fd`` and check they hash to the build's digest.

        :raises TargetError: the source's bytes are not the build's.
        """
        if file.content is not None:
            _write_all(fd, file.content)
        else:
            with open(file.source, "rb", buffering=0) as src:
                # One byte more than built: a file that grew is caught, whatever its size.
                _copy(src.fileno(), fd, file.size + 1)
        os.fchmod(fd, 0o644)
        size, digest = _fd_digest(fd)
        if size != file.size or digest != file.digest:
            raise changed_since_build(
                file, size=size, digest=digest, where=str(dest), operation="write"
            )

    def _check_same(self, dest: Path, file: BuiltFile) -> None:
        from ..build import file_digest

        if dest.stat().st_size != file.size or file_digest(dest) != file.digest:
            raise TargetError(
                f"{dest} exists with other bytes than {file.name} (SHA-256 {file.digest[:12]}…); "
                "hashed files are never overwritten. Remove the damaged file and publish again.",
                operation="write",
                key=file.key,
            )

    def _digest(self, key: str) -> str:
        digest = hashlib.sha256()
        try:
            with (self.root / key).open("rb") as stream:
                while block := stream.read(1024 * 1024):
                    digest.update(block)
        except OSError as exc:
            raise self._error("read", key, exc) from exc
        return digest.hexdigest()

    def _error(self, operation: str, key: str, exc: OSError) -> TargetError:
        cause = exc.strerror or exc
        return TargetError(
            f"cannot {operation} {self.root / key}: {cause}",
            operation=operation,
            key=key,
            reason=f"cannot {operation} in {self.root}: {cause}",
        )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy(src: int, dst: int, limit: int) -> None:
    """Copy up to ``limit`` bytes from ``src`` to ``dst``, in the kernel when it can."""
    copied = 0
    for kernel_copy in (_copy_file_range, _sendfile):
        try:
            while copied < limit:
                step = kernel_copy(src, dst, min(limit - copied, _COPY_CHUNK))
                if step == 0:
                    break
                copied += step
        except OSError as exc:
            # Only before the first byte: after it, a failure is a real one.
            if copied or exc.errno not in _NO_KERNEL_COPY:
                raise
            continue
        if copied:
            return
        # Nothing copied: an empty file, or a file system whose files the call cannot copy
        # (it answers 0 at once for /proc-like files): the next way finds out which.
    while copied < limit and (block := os.read(src, min(limit - copied, READ_CHUNK))):
        _write_all(dst, block)
        copied += len(block)


def _copy_file_range(src: int, dst: int, count: int) -> int:
    if not hasattr(os, "copy_file_range"):  # Linux only
        raise OSError(errno.ENOSYS, "copy_file_range is not available")
    return os.copy_file_range(src, dst, count)


def _sendfile(src: int, dst: int, count: int) -> int:
    if sys.platform != "linux":  # elsewhere sendfile writes to sockets only
        raise OSError(errno.ENOSYS, "sendfile to a file is not available")
    return os.sendfile(dst, src, None, count)


def _fd_digest(fd: int) -> tuple[int, str]:
    """Size and hex SHA-256 of a file from its start (hashlib releases the GIL for big blocks)."""
    os.lseek(fd, 0, os.SEEK_SET)
    h = hashlib.sha256()
    size = 0
    while block := os.read(fd, READ_CHUNK):
        h.update(block)
        size += len(block)
    return size, h.hexdigest()
