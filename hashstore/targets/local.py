"""A local directory as a target: for whitenoise-style serving, tests and the demo.

The same rules as S3: a hashed key is created once and never overwritten (a hard link from a
temporary file is create-only); hashstore's own records (release records, pending markers, the
prune lock) live under ``.hashstore/`` and are replaced atomically (a rename).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import TargetError
from .base import ObjectInfo, check_record_key, release_key

if TYPE_CHECKING:
    from ..build import BuiltFile

_TEMP_MARK = ".hashstore-tmp-"


class LocalTarget:
    """Hashed files in a directory (created when first written to)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._made: set[Path] = set()  # directories known to exist: one mkdir each, not per file

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

    def put_if_absent(self, file: BuiltFile) -> bool:
        dest = self.root / file.key
        try:
            if dest.parent not in self._made:
                dest.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(dest.parent)
            tmp = self._write_temp(dest.parent, file)
            try:
                os.link(tmp, dest)  # create-only: fails if dest exists, never replaces it
            except FileExistsError:
                self._check_same(dest, file)
                return False
            finally:
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

    def close(self) -> None:
        pass

    def _write_temp(self, directory: Path, file: BuiltFile) -> str:
        fd, tmp = tempfile.mkstemp(prefix=f".{Path(file.key).name}{_TEMP_MARK}", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out, file.open() as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
            os.chmod(tmp, 0o644)
        except BaseException:
            os.unlink(tmp)
            raise
        return tmp

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
