"""Whether an object S3 holds has a file's bytes, from what the listing already returned.

A file that keeps its own name (:mod:`hashstore.trust`) is "present" only with the same bytes,
and publish must learn that without a request per file. The listing gives each key's ETag:

- an object stored by one ``PutObject`` (without SSE-KMS or SSE-C encryption) has the MD5 of its
  body as its ETag;
- an object stored by a multipart upload has ``<MD5 of the parts' MD5s>-<number of parts>``,
  which depends on the part size. hashstore uploads files of ``multipart_threshold`` bytes or
  more in parts of :meth:`~.s3_multipart.MultipartUploader.part_size`, so it computes the ETag
  its own upload would have given.

An equal ETag proves the same bytes. A different one proves nothing by itself (encryption with
KMS, another uploader's part size), so only then is the object asked about
(:func:`checksum_verdict`): a ``HeadObject`` with checksum mode gives the SHA-256 hashstore
sent (whole, or composite for multipart objects); without one, the object is read and hashed.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..build import BuiltFile

__all__ = ["checksum_verdict", "expected_etag"]

_BLOCK = 1024 * 1024


def expected_etag(file: BuiltFile, *, multipart_threshold: int, part_size: int) -> str:
    """The ETag S3 gives ``file`` when hashstore uploads it (without SSE-KMS), unquoted.

    :param multipart_threshold: files of this many bytes or more go up in parts.
    :param part_size: the size of each part for this file (the last may be smaller).
    """
    stream: BinaryIO
    with file.open() as stream:
        if file.size < multipart_threshold:
            return _md5(stream, file.size).hexdigest()
        digests = b""
        parts = 0
        for _ in range(-(-file.size // part_size)):
            digests += _md5(stream, part_size).digest()
            parts += 1
    return f"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{parts}"


def composite_sha256(file: BuiltFile, part_size: int) -> str:
    """The ``COMPOSITE`` SHA-256 S3 keeps for a multipart upload in parts of ``part_size``.

    ``<base64 SHA-256 of the parts' SHA-256 digests>-<number of parts>``.
    """
    digests = b""
    parts = 0
    stream: BinaryIO
    with file.open() as stream:
        for _ in range(-(-file.size // part_size)):
            digests += _sha256(stream, part_size).digest()
            parts += 1
    return f"{base64.b64encode(hashlib.sha256(digests).digest()).decode('ascii')}-{parts}"


def checksum_verdict(file: BuiltFile, head: Mapping[str, Any], part_size: int) -> bool | None:
    """Whether a ``HeadObject`` answer (checksum mode on) proves the object holds ``file``.

    :returns: ``True`` or ``False`` when the stored SHA-256 decides; ``None`` when it cannot:
        the store keeps none, or keeps a composite one of parts other than hashstore's.
    """
    value = head.get("ChecksumSHA256")
    if not value:
        return None
    value = str(value)
    etag = str(head.get("ETag", "")).strip('"')
    # S3 writes a multipart object's checksum as "<base64>-<parts>" (ChecksumType COMPOSITE);
    # some stores leave the suffix out, but the ETag still ends in "-<parts>".
    if "-" in value or "-" in etag or head.get("ChecksumType") == "COMPOSITE":
        parts = value.rsplit("-", 1)[1] if "-" in value else etag.rpartition("-")[2]
        if parts != str(-(-file.size // part_size)):
            return None  # no part count, or other parts: read the object instead
        # Equal proves the same bytes; unequal may be the same bytes cut at other offsets
        # into as many parts, which only a read can tell.
        ours = composite_sha256(file, part_size).rsplit("-", 1)[0]
        return True if value.rsplit("-", 1)[0] == ours else None
    try:
        return base64.b64decode(value, validate=True).hex() == file.digest
    except ValueError:
        return None


def _md5(stream: BinaryIO, size: int) -> hashlib._Hash:
    digest = hashlib.md5(usedforsecurity=False)
    _feed(digest, stream, size)
    return digest


def _sha256(stream: BinaryIO, size: int) -> hashlib._Hash:
    digest = hashlib.sha256()
    _feed(digest, stream, size)
    return digest


def _feed(digest: hashlib._Hash, stream: BinaryIO, size: int) -> None:
    """Hash the next ``size`` bytes of ``stream`` (fewer at its end), a block at a time."""
    while size > 0:
        block = stream.read(min(_BLOCK, size))
        if not block:
            return
        digest.update(block)
        size -= len(block)
