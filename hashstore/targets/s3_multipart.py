"""Multipart uploads for :class:`~hashstore.targets.s3.S3Target`: parts in parallel, bounded memory.

A file of ``multipart_threshold`` bytes or more goes up in parts of ``multipart_chunksize``
(larger when the file would need more than :data:`MAX_PARTS` parts). Parts are read in order in
the caller's thread, so the whole file's SHA-256 is computed on the way and compared with the
build's digest before the upload is completed; each part carries its own SHA-256 (S3 keeps a
``COMPOSITE`` checksum for multipart objects, never a whole-object SHA-256).

Create-only: ``CompleteMultipartUpload`` carries ``If-None-Match: *``. Some stores ignore it
(Ceph's radosgw 16.2 completes over an existing key), so unless the probe record of
``hashstore doctor`` says the store honours it (:attr:`S3Target.guards_multipart`), an upload
is *guarded*: a ``HeadObject`` right before completing aborts it if the key has appeared (then
the stored object is compared with the file, as after a 412), and one right after completing
checks that the stored ETag is the multipart ETag computed here (the MD5 of the parts' MD5s,
``-<parts>``): a writer that replaced the object after the complete is reported as an error
naming the key. A write landing between the first check and the complete is replaced by the
complete, which no request can prevent or detect on such a store; under a hashed key both
writers store the same bytes. So a guarded upload costs two requests more than an unguarded one,
per multipart file.

This module belongs to the S3 target: it calls the store only through the target's error
boundary (``S3Target._call``), so every botocore error is still translated in one place.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from concurrent.futures import Future, wait
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import TargetError
from .base import changed_since_build

if TYPE_CHECKING:
    from ..build import BuiltFile
    from .base import ObjectInfo
    from .s3 import S3Target

__all__ = ["MAX_PARTS", "PART_MEMORY_BUDGET", "MultipartUploader", "multipart_etag"]

log = logging.getLogger(__name__)

MIB = 1024 * 1024

PART_MEMORY_BUDGET = 64 * MIB
"""Bytes of multipart parts held in memory at once, across every upload of one target.

Each part is read into memory so its SHA-256 can be sent before its body, so parts in flight are
bounded by ``max(1, min(jobs, PART_MEMORY_BUDGET // multipart_chunksize))``: with the default
16 MiB parts that is 4 parts, 64 MiB, whatever the file size and however many large files are
published at once."""

MAX_PARTS = 10_000
"""S3's limit on parts per upload; larger files get larger parts."""


class MultipartUploader:
    """Create-only multipart uploads into one :class:`~hashstore.targets.s3.S3Target`.

    :param target: the target whose client, settings, error boundary and part pool are used.
    :param part_slots: how many parts may be in memory at once, across all uploads.
    """

    def __init__(self, target: S3Target, part_slots: int) -> None:
        self._target = target
        self._settings = target._settings
        self._slots = threading.BoundedSemaphore(part_slots)

    def part_size(self, size: int) -> int:
        """The part size for a file of ``size`` bytes: the chunk size, or more past 10,000 parts."""
        chunk = self._settings.multipart_chunksize
        return max(chunk, -(-size // MAX_PARTS))

    def put(self, file: BuiltFile) -> None:
        """Upload ``file`` in parts and complete it create-only; abort on any failure.

        :raises TargetError: a request failed, or the file changed since the build.
        """
        target = self._target
        key = target.prefix + file.key
        create: dict[str, Any] = {
            name: value
            for name, value in target._upload_parameters(file.name).items()
            if name in target._create_parameters
        }
        if self._settings.checksum == "sha256":
            # SHA-256 exists only as a COMPOSITE checksum for multipart uploads (the default
            # type for it); the whole file is checked against the digest in _upload_parts.
            create["ChecksumAlgorithm"] = "SHA256"
        created = target._call(
            "CreateMultipartUpload",
            file.key,
            target.client.create_multipart_upload,
            Bucket=target.bucket,
            Key=key,
            **create,
        )
        upload_id = created["UploadId"]
        guarded = target.guards_multipart
        try:
            parts, part_md5s = self._upload_parts(file, upload_id)
            if guarded:
                existing = target.stat(file.key)
                if existing is not None:
                    raise _ExistedBeforeComplete(existing)
            complete: dict[str, Any] = {
                "Bucket": target.bucket,
                "Key": key,
                "UploadId": upload_id,
                "MultipartUpload": {"Parts": parts},
            }
            if self._settings.conditional_writes:
                complete["IfNoneMatch"] = "*"
            target._call(
                "CompleteMultipartUpload",
                file.key,
                target.client.complete_multipart_upload,
                **complete,
            )
        except BaseException:
            self._abort(file.key, upload_id)
            raise
        if guarded:
            self._check_completed(file, multipart_etag(part_md5s))

    def _check_completed(self, file: BuiltFile, expected: str) -> None:
        """Raise if the key does not hold the object this upload just completed."""
        target = self._target
        stored = target.stat(file.key)
        if stored is not None and stored.etag == expected:
            return
        found = f"ETag {stored.etag}" if stored is not None else "no object"
        raise TargetError(
            f"CompleteMultipartUpload {target.url_for_key(file.key)}: another writer stored this "
            f"key while this upload completed ({found} there now, this upload's ETag is "
            f"{expected}). The store ignores If-None-Match on CompleteMultipartUpload, so "
            "hashstore cannot prevent such a race on it: find who else publishes here, check "
            "the object with `hashstore verify --deep`, and publish again",
            operation="CompleteMultipartUpload",
            bucket=target.bucket,
            key=file.key,
        )

    def _upload_parts(
        self, file: BuiltFile, upload_id: str
    ) -> tuple[list[dict[str, Any]], list[bytes]]:
        """Upload every part of ``file``; parts are read in order, uploaded in parallel.

        Reading happens here, in the caller's thread, one part at a time at increasing offsets,
        so the whole file's SHA-256 is computed on the way and compared with the build's digest.
        A part slot (:data:`PART_MEMORY_BUDGET`) is taken before a part is read and given back
        when its upload ends, which bounds the memory of all uploads together.

        :returns: the parts for ``CompleteMultipartUpload``, and each part's MD5.
        """
        target = self._target
        part_size = self.part_size(file.size)
        confirm = target.confirms_etags
        whole = hashlib.sha256()
        md5s: list[bytes] = []
        total = 0
        futures: list[Future[dict[str, Any]]] = []
        failed = threading.Event()

        def done(future: Future[dict[str, Any]]) -> None:
            self._slots.release()
            if future.cancelled() or future.exception() is not None:
                failed.set()

        try:
            with file.open() as stream:
                number = 0
                while not failed.is_set():
                    if target.cancelled.is_set():
                        raise TargetError(
                            f"UploadPart {target.url_for_key(file.key)}: cancelled",
                            operation="UploadPart",
                            bucket=target.bucket,
                            key=file.key,
                        )
                    self._slots.acquire()
                    try:
                        data = stream.read(part_size)
                    except BaseException:
                        self._slots.release()
                        raise
                    if not data:
                        self._slots.release()
                        break
                    whole.update(data)
                    md5s.append(hashlib.md5(data, usedforsecurity=False).digest())
                    total += len(data)
                    number += 1
                    try:
                        future = target._pool("part").submit(
                            self._upload_part, file.key, upload_id, number, data, confirm
                        )
                    except BaseException:
                        self._slots.release()
                        raise
                    future.add_done_callback(done)
                    futures.append(future)
                    del data
        finally:
            # Never leave parts running behind an abort or an error.
            wait(futures)
        for future in futures:
            future.result()  # the first part that failed raises its TargetError
        if total != file.size or whole.hexdigest() != file.digest:
            raise changed_since_build(
                file,
                size=total,
                digest=whole.hexdigest(),
                where=target.url_for_key(file.key),
                operation="UploadPart",
                bucket=target.bucket,
            )
        return [future.result() for future in futures], md5s

    def _upload_part(
        self, key: str, upload_id: str, number: int, data: bytes, confirm: bool
    ) -> dict[str, Any]:
        target = self._target
        request: dict[str, Any] = {
            "Bucket": target.bucket,
            "Key": target.prefix + key,
            "UploadId": upload_id,
            "PartNumber": number,
            "Body": data,
        }
        part: dict[str, Any] = {"PartNumber": number}
        checksum = self._settings.checksum
        if checksum == "sha256":
            digest = _b64(hashlib.sha256(data).digest())
            request["ChecksumAlgorithm"] = "SHA256"
            request["ChecksumSHA256"] = digest
            part["ChecksumSHA256"] = digest
        elif checksum == "md5":
            request["ContentMD5"] = _b64(hashlib.md5(data, usedforsecurity=False).digest())
        answer = target._call("UploadPart", key, target.client.upload_part, **request)
        part["ETag"] = answer["ETag"]
        if confirm:
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            if str(answer["ETag"]).strip('"') != md5:
                # Not completed yet: the whole upload is aborted and sent again.
                raise target._body_rejected(
                    "UploadPart",
                    key,
                    f"part {number}'s ETag is {answer['ETag']}, its MD5 {md5}: the body was "
                    "damaged on the way (this store does not check SHA-256 checksums)",
                )
        return part

    def _abort(self, key: str, upload_id: str) -> None:
        target = self._target
        try:
            target.client.abort_multipart_upload(
                Bucket=target.bucket, Key=target.prefix + key, UploadId=upload_id
            )
        except (ClientError, BotoCoreError) as exc:
            # The upload failed already; a lifecycle rule for incomplete multipart uploads
            # collects what is left. Report the first error, not this one.
            log.warning(
                "could not abort the multipart upload of %s: %s", target.url_for_key(key), exc
            )


def multipart_etag(part_md5s: list[bytes]) -> str:
    """The ETag S3 gives a multipart object: the MD5 of its parts' MD5s, ``-<parts>``."""
    joined = hashlib.md5(b"".join(part_md5s), usedforsecurity=False).hexdigest()
    return f"{joined}-{len(part_md5s)}"


class _ExistedBeforeComplete(TargetError):
    """A guarded upload found its key present right before completing (private signal)."""

    def __init__(self, existing: ObjectInfo) -> None:
        super().__init__("the key appeared before the upload completed", key=existing.key)
        self.existing = existing


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
