"""The ``Target`` protocol: the one place bytes leave the machine.

A target stores hashed objects under keys relative to its root (an S3 prefix or a directory) and
hashstore's own records under ``.hashstore/``:

- ``.hashstore/releases/<release>.json``: the release record, written once a publish has stored
  every object (:func:`release_key`);
- ``.hashstore/pending/<release>.json``: the pending marker, written by a publish before it lists
  the target, so a prune keeps the release's objects while the publish runs (:func:`pending_key`);
- ``.hashstore/prune.lock``: present while a prune that deletes runs (:data:`PRUNE_LOCK_KEY`), so
  a publish that saw it checks its objects again after writing its record;
- ``.hashstore/pins/<name>``: a pin, the release a deploy declared live (:func:`pin_key`); prune
  never deletes an object of a pinned release.

Implementations: :mod:`.s3` and :mod:`.local`. Everything above this layer speaks only this
protocol, so every rule about publishing is written once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from ..errors import TargetError
from ..keys import check_key

if TYPE_CHECKING:
    from ..build import BuiltFile

HASHSTORE_PREFIX = ".hashstore/"
"""hashstore's own records (releases, pending markers, the prune lock, doctor probes)."""

RELEASES_PREFIX = ".hashstore/releases/"
"""Where release records live, relative to the target's root."""

PENDING_PREFIX = ".hashstore/pending/"
"""Where publishes leave their pending markers, relative to the target's root."""

PINS_PREFIX = ".hashstore/pins/"
"""Where pins live (``production``, ``staging``: the release each one names), relative to the
target's root."""

PRUNE_LOCK_KEY = ".hashstore/prune.lock"
"""Written by a prune that deletes before it lists anything, deleted when it ends."""

READ_CHUNK = 1024 * 1024
"""Bytes a streaming read (:meth:`Target.iter_bytes`) yields at a time, at most."""

PENDING_GRACE = timedelta(days=1)
"""How long a pending marker without a newer release record, and the prune lock, count.

A publish or a prune that crashed leaves its marker or lock behind; after this long it is
ignored (and a prune deletes a marker). It must exceed the longest publish and the longest
prune, whatever a prune's ``keep_days``. Ages are measured on the store's clock where both
times come from it (a publish compares the lock's LastModified with its own marker's)."""


def release_key(release: str) -> str:
    """The key of a release record."""
    return f"{RELEASES_PREFIX}{release}.json"


def pending_key(release: str) -> str:
    """The key of a release's pending marker."""
    return f"{PENDING_PREFIX}{release}.json"


def pin_key(name: str) -> str:
    """The key of a pin."""
    return f"{PINS_PREFIX}{name}"


def check_record_key(key: str) -> str:
    """``key``, if it may be written by ``put_record`` (it is under ``.hashstore/``).

    :raises ValueError: it is not (hashed keys are written once, by ``put_if_absent`` only), or
        it is no safe key (:func:`~hashstore.keys.check_key`: a ``..`` segment would climb out
        of ``.hashstore/``).
    """
    if not key.startswith(HASHSTORE_PREFIX) or key == HASHSTORE_PREFIX:
        raise ValueError(f"{key!r} is not a key under {HASHSTORE_PREFIX}")
    return check_key(key)


def changed_since_build(
    file: BuiltFile,
    *,
    size: int,
    digest: str | None,
    where: str,
    operation: str,
    bucket: str | None = None,
) -> TargetError:
    """The error for a source file whose bytes are no longer those the build hashed.

    Every target checks the bytes it stores against the build's digest, so a file rewritten
    between the build and its upload (a front-end build still running, an editor saving) is
    refused, never stored under a hashed key that names other bytes.

    :param size: bytes read now (at least ``file.size + 1`` when the file grew).
    :param digest: their hex SHA-256, when they were all read.
    :param where: the hashed key's location, for the message (nothing was stored there).
    """
    now = f"{size:,} bytes" + (f", SHA-256 {digest[:12]}…" if digest else "")
    return TargetError(
        f"{file.source} changed since the build read it (now {now}; the build hashed "
        f"{file.size:,} bytes, SHA-256 {file.digest[:12]}…), so nothing was stored under "
        f"{where}. Something wrote to the source directory during the publish: let it finish, "
        "then publish again (the build hashes the file as it is then)",
        operation=operation,
        bucket=bucket,
        key=file.key,
    )


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
    md5: str | None = None
    """Hex MD5 of the stored bytes as the store computed them, when what it returned says so:
    a single-request upload's ETag, neither multipart (``-<parts>``) nor encrypted with SSE-KMS
    or SSE-C (whose ETags are no MD5s). Only ``stat`` (``HeadObject``) fills it in.

    .. versionadded:: 0.2
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

    def find_objects(self, keys: Collection[str]) -> Mapping[str, ObjectInfo]:
        """Which of ``keys`` are present, with what a listing knows of them (size, LastModified).

        The same requests as :meth:`find_existing` (which answers from it): publish asks for the
        prune lock and its own pending marker within the listing of its objects, for free.
        """
        ...

    def find_changed(
        self, present: Sequence[tuple[BuiltFile, ObjectInfo]]
    ) -> list[tuple[BuiltFile, str]]:
        """Which of these stored objects hold other bytes than the file meant for their key.

        For files that keep their own name (:mod:`hashstore.trust`), whose key does not change
        with their bytes, so a size proves nothing. S3 compares the listing's ETag with the one
        its own upload would give, and asks the store (``HeadObject`` with checksum mode, or a
        read) only where the ETag cannot decide; a directory compares SHA-256 digests.

        :param present: each file with what :meth:`find_objects` found under its key.
        :returns: ``(file, what differs)`` for every object whose bytes differ.
        """
        ...

    def put_if_absent(self, file: BuiltFile) -> bool:
        """Store ``file`` under ``file.key`` unless that key exists.

        The bytes stored are the build's: each target checks them against ``file.digest`` (a
        directory hashes its copy before linking it into place; S3 sends the digest as the
        upload checksum) and refuses a source file that changed since the build.

        :returns: ``True`` if this call created the object, ``False`` if an object with the
            same bytes was already there (another publisher, or an earlier run).
        :raises TargetError: the store failed, the key holds other bytes, or the source file
            changed since the build (:func:`changed_since_build`).
        """
        ...

    def upload_workers(self, jobs: int) -> int:
        """How many uploads to run at once, at most ``jobs`` (the setting).

        A bucket is network-bound and takes ``jobs`` as it is; a directory is bound by the
        kernel's file creation, where more threads than cores only queue on the same locks.
        """
        ...

    def put_release(self, release: str, body: bytes) -> None:
        """Write (or replace) the release record ``.hashstore/releases/<release>.json``."""
        ...

    def put_record(self, key: str, body: bytes) -> None:
        """Write (or replace) one of hashstore's own records under ``.hashstore/``.

        Release records, pending markers and the prune lock: JSON, ``Cache-Control: no-cache``.

        :raises ValueError: ``key`` is not under ``.hashstore/`` (hashed keys are never
            overwritten, so nothing else may be written this way).
        """
        ...

    def read(self, key: str) -> bytes:
        """The whole body of an object (release records: small JSON)."""
        ...

    def iter_bytes(self, key: str, *, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        """The body of an object in chunks of at most ``chunk_size`` bytes, for hashing.

        Memory stays bounded whatever the object's size (``verify --deep``). The object is
        opened on the first ``next()`` and closed when the iterator ends or is closed.

        :raises TargetError: no such object, or the store failed (also mid-stream).
        """
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

    def cancel(self) -> None:
        """Stop uploads in flight soon: a multipart upload stops at its next part and is
        aborted. For a publish being interrupted; the target is to be closed afterwards."""
        ...

    def close(self) -> None:
        """Release connections and thread pools."""
        ...
