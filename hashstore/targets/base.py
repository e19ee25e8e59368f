"""The ``Target`` protocol: the one place bytes leave the machine.

A target stores hashed objects under keys relative to its root (an S3 prefix or a directory) and
release records under ``.hashstore/releases/<release>.json``. Implementations: :mod:`.s3` and
:mod:`.local`. Everything above this layer speaks only this protocol, so every rule about
publishing is written once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..build import BuiltFile

RELEASES_PREFIX = ".hashstore/releases/"
"""Where release records live, relative to the target's root."""


def release_key(release: str) -> str:
    """The key of a release record."""
    return f"{RELEASES_PREFIX}{release}.json"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a target knows of one stored object."""

    key: str
    """Key relative to the target's root."""
    size: int
    last_modified: datetime
    sha256: str | None = None
    """Hex SHA-256 the store recorded (S3 flexible checksum), when it has one."""
    content_type: str | None = None
    cache_control: str | None = None
    etag: str | None = None
    """The store's entity tag, without quotes; ``None`` for a directory.

    It changes whenever an object is written again, even within the second and at the same size,
    which ``last_modified`` (kept to the second by S3) and ``size`` cannot show. For S3 it is the
    MD5 of a single-request upload's body, and ``<md5 of the parts' MD5s>-<parts>`` for a
    multipart one, so it is no checksum of the object: compare it only with another ETag.
    """


class Target(Protocol):
    """Where hashed files and release records are stored."""

    def describe(self) -> str:
        """A short human description, e.g. ``s3://bucket/prefix/`` or a directory path."""
        ...

    def url_for_key(self, key: str) -> str:
        """Where a key lives, for messages (``s3://bucket/prefix/key`` or a file path)."""
        ...

    def find_existing(self, keys: Collection[str]) -> Mapping[str, int]:
        """Which of ``keys`` are present, with their sizes.

        S3 answers from one paginated listing of the prefix (or per-key HEADs when the prefix
        holds far more keys than asked for); a directory answers from ``stat``.
        """
        ...

    def put_if_absent(self, file: BuiltFile) -> bool:
        """Store ``file`` under ``file.key`` unless that key exists.

        :returns: ``True`` if this call created the object, ``False`` if an object of the same
            size was already there (another publisher, or an earlier run).
        :raises TargetError: the store failed, or the key holds an object of another size.
        """
        ...

    def put_release(self, release: str, body: bytes) -> None:
        """Write (or replace) the release record ``.hashstore/releases/<release>.json``."""
        ...

    def read(self, key: str) -> bytes:
        """The whole body of an object (release records, verification)."""
        ...

    def stat(self, key: str) -> ObjectInfo | None:
        """Size, time, checksum and headers of one object; ``None`` if it does not exist."""
        ...

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under the root (and ``prefix``), in key order."""
        ...

    def delete(self, keys: Iterable[str]) -> None:
        """Delete objects (S3: batched, 1,000 keys a request). Missing keys are not an error."""
        ...

    def close(self) -> None:
        """Release connections and thread pools."""
        ...
