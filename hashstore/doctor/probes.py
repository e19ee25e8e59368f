"""The write probes of ``hashstore doctor``: what the store does with create-only and checksums.

A store that speaks the S3 API may accept a header and ignore it, which no read shows. So
``doctor`` writes scratch objects under ``.hashstore/probe/`` (deleted afterwards; prune never
touches ``.hashstore/``) and watches what the store does:

- **conditional-put**: a second ``PutObject`` of a key with ``If-None-Match: *`` must get 412;
- **etag-md5**: the first one's ETag must be the MD5 of its body;
- **checksum-enforced**: a ``PutObject`` whose ``x-amz-checksum-sha256`` is wrong must be refused
  (and where it is not, **md5-enforced**: one whose ``Content-MD5`` is wrong);
- **head-checksums**: ``HeadObject`` must return the SHA-256 sent with an upload;
- **conditional-complete**: ``CompleteMultipartUpload`` with ``If-None-Match: *`` over an
  existing key must get 412 (radosgw 16.2 completes it).

Each becomes a capability (honoured, not, or unknown) and, for the three publish depends on, a
finding: **conditional-writes**, **checksums** and **multipart**.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from ..errors import TargetError
from ..spelling import render
from .findings import (
    CHECKSUM_REJECTED,
    DENIED,
    PRECONDITION,
    UNSUPPORTED,
    CapabilityResult,
    Finding,
    skipped,
)

if TYPE_CHECKING:
    from .bucket import Bucket

__all__ = ["PROBE_PREFIX", "Probes"]

PROBE_PREFIX = ".hashstore/probe/"
"""Where the scratch objects go, relative to the target's root."""

_BODY = b"hashstore doctor probe: safe to delete\n"


class Probes:
    """Write, watch and delete the scratch objects, through a :class:`~.bucket.Bucket`."""

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket
        self.settings = bucket.settings
        self.client = bucket.client
        self.capabilities: dict[str, CapabilityResult] = {}
        self._uploads: list[tuple[str, str]] = []

    def run(self) -> list[Finding]:
        """Every probe, then the clean-up; :attr:`capabilities` holds what was learnt."""
        token = uuid.uuid4().hex
        keys = [f"{PROBE_PREFIX}{token}-{name}" for name in ("put", "checksum", "multipart")]
        findings: list[Finding] = []
        try:
            findings.append(self._conditional_put(keys[0]))
            findings.append(self._checksums(keys[1], keys[0]))
            if "md5-enforced" not in self.capabilities:
                self._note("md5-enforced", None, "not probed: the SHA-256 probe decided")
            findings.append(self._conditional_complete(keys[2]))
        finally:
            findings += self._clean_up(keys)
        return findings

    # -- requests ------------------------------------------------------------------------

    def _put(self, key: str, body: bytes, **kw: Any) -> tuple[Any, str | None, str]:
        return self.bucket.call(
            "PutObject",
            self.client.put_object,
            expect=PRECONDITION | CHECKSUM_REJECTED | UNSUPPORTED,
            Bucket=self.bucket.bucket,
            Key=self.bucket.prefix + key,
            Body=body,
            **kw,
        )

    def _checksum_args(self, body: bytes) -> dict[str, str]:
        """The checksum publish would send with ``body`` (SHA-256 unless ``checksum`` says no)."""
        if self.settings.checksum != "sha256":
            return {}
        return _sha256_args(body)

    def _note(self, name: str, honoured: bool | None, detail: str) -> None:
        self.capabilities[name] = CapabilityResult(name, honoured, detail)

    # -- conditional PutObject, ETag ----------------------------------------------------------

    def _conditional_put(self, key: str) -> Finding:
        first, code, message = self._put(key, _BODY, IfNoneMatch="*", **self._checksum_args(_BODY))
        if code in DENIED:
            for name in ("conditional-put", "etag-md5"):
                self._note(name, None, f"access denied ({code})")
            return skipped("conditional-writes", f"s3:PutObject on {PROBE_PREFIX}*")
        if code is not None:
            self._note("conditional-put", False, f"refused the header ({code})")
            self._note("etag-md5", None, "not probed: the upload was refused")
            if not self.settings.conditional_writes:
                return Finding(
                    "conditional-writes",
                    "ok",
                    f"the store refuses If-None-Match ({code}), and conditional_writes is off",
                )
            return Finding(
                "conditional-writes",
                "problem",
                f"the store refuses PutObject with If-None-Match: * ({code}: {message}): every "
                "upload will fail",
                "set conditional_writes = false (command line: --no-conditional-writes)",
            )
        etag = str((first or {}).get("ETag") or "").strip('"')
        md5 = hashlib.md5(_BODY, usedforsecurity=False).hexdigest()
        self._note("etag-md5", etag == md5, f"ETag {etag or '(none)'}, MD5 {md5}")
        _, code, message = self._put(key, _BODY, IfNoneMatch="*", **self._checksum_args(_BODY))
        if code in PRECONDITION:
            self._note("conditional-put", True, f"a second PutObject got {code}")
            return Finding(
                "conditional-writes",
                "ok",
                f"create-only uploads work: a second PutObject with If-None-Match: * got {code}",
            )
        if code is None:
            self._note("conditional-put", False, "a second PutObject of the key succeeded")
            return Finding(
                "conditional-writes",
                "problem",
                "the store ignores If-None-Match: * (a second PutObject of the same key "
                "succeeded): a hashed object is not protected from being overwritten",
                "publish from one machine at a time; set conditional_writes = false to stop "
                "sending the header",
            )
        self._note("conditional-put", False, f"a second PutObject got {code}, not 412")
        return Finding(
            "conditional-writes",
            "problem",
            f"a second create-only PutObject got {code} ({message}) instead of 412",
            "set conditional_writes = false if the store does not support If-None-Match",
        )

    # -- checksums --------------------------------------------------------------------------

    def _checksums(self, key: str, good_key: str) -> Finding:
        head = self._head_checksums(good_key)
        body = b"hashstore doctor checksum probe\n"
        wrong = base64.b64encode(hashlib.sha256(body + b"x").digest()).decode("ascii")
        _, code, message = self._put(key, body, ChecksumAlgorithm="SHA256", ChecksumSHA256=wrong)
        if code in DENIED:
            self._note("checksum-enforced", None, f"access denied ({code})")
            return skipped("checksums", f"s3:PutObject on {PROBE_PREFIX}*")
        if code in CHECKSUM_REJECTED or (
            code in {"400", "InvalidRequest"} and "checksum" in message.lower()
        ):
            self._note("checksum-enforced", True, f"a wrong SHA-256 was refused ({code})")
            if head is True:
                note = (
                    "; HeadObject returns it, so `hashstore verify` checks digests without --deep"
                )
            else:
                note = (
                    "; HeadObject does not return it, so `hashstore verify` checks sizes only "
                    "unless --deep"
                )
            return Finding(
                "checksums",
                "ok",
                f"the store rejects a body that does not match its SHA-256 ({code})" + note,
            )
        if code is not None:
            self._note("checksum-enforced", False, f"refused SHA-256 checksums ({code})")
            if self.settings.checksum != "sha256":
                return Finding(
                    "checksums",
                    "ok",
                    f"the store refuses SHA-256 checksums ({code}); checksum is "
                    f"{self.settings.checksum!r}",
                )
            return Finding(
                "checksums",
                "problem",
                f"the store refuses SHA-256 checksums ({code}: {message}): every upload will fail",
                "set checksum = 'md5' (or 'none') for this store",
            )
        self._note("checksum-enforced", False, "a wrong SHA-256 was accepted (200)")
        if self._md5_enforced(key):
            fix = (
                "set checksum = 'md5' (command line: --checksum md5): this store refuses a wrong "
                "Content-MD5; `hashstore verify --deep` reads and hashes every object"
            )
        else:
            fix = (
                "run `hashstore verify --deep` after each publish (it reads and hashes every "
                "object); with a store that checks Content-MD5, set checksum = 'md5'"
            )
        return Finding(
            "checksums",
            "problem",
            "the store accepted a body that does not match its x-amz-checksum-sha256: a body "
            "corrupted on the way would be stored as it is",
            fix,
        )

    def _md5_enforced(self, key: str) -> bool:
        """Whether the store refuses a body whose Content-MD5 is wrong (probed only when it
        ignores SHA-256: ``checksum = 'md5'`` is the fix then)."""
        body = b"hashstore doctor Content-MD5 probe\n"
        wrong = base64.b64encode(hashlib.md5(body + b"x", usedforsecurity=False).digest())
        _, code, _ = self._put(key, body, ContentMD5=wrong.decode("ascii"))
        if code in DENIED or (code is not None and code not in CHECKSUM_REJECTED):
            self._note("md5-enforced", None, f"not probed: PutObject got {code}")
            return False
        if code is None:
            self._note("md5-enforced", False, "a wrong Content-MD5 was accepted (200)")
            return False
        self._note("md5-enforced", True, f"a wrong Content-MD5 was refused ({code})")
        return True

    def _head_checksums(self, key: str) -> bool | None:
        if self.settings.checksum != "sha256":
            self._note(
                "head-checksums", None, f"not probed: checksum is {self.settings.checksum!r}"
            )
            return None
        if self.capabilities.get("etag-md5", CapabilityResult("", None, "")).honoured is None:
            self._note("head-checksums", None, "not probed: the probe object was not stored")
            return None
        try:
            info = self.bucket.target.stat(key)
        except TargetError as exc:
            self._note("head-checksums", None, f"HeadObject failed: {render(exc.reason)}")
            return None
        expected = hashlib.sha256(_BODY).hexdigest()
        if info is None:
            self._note("head-checksums", None, "the probe object was not found")
            return None
        returned = info.sha256 == expected
        self._note("head-checksums", returned, "returned" if returned else "no SHA-256 returned")
        return returned

    # -- conditional CompleteMultipartUpload -------------------------------------------------

    def _conditional_complete(self, key: str) -> Finding:
        name = "conditional-complete"
        _, code, message = self._put(key, _BODY, **self._checksum_args(_BODY))
        if code is not None:
            self._note(name, None, f"not probed: PutObject got {code}")
            if code in DENIED:
                return skipped("multipart", f"s3:PutObject on {PROBE_PREFIX}*")
            return Finding("multipart", "skipped", f"could not store the probe object ({code})")
        part = b"hashstore doctor multipart probe: safe to delete\n"
        create: dict[str, Any] = {"Bucket": self.bucket.bucket, "Key": self.bucket.prefix + key}
        upload: dict[str, Any] = {**create, "PartNumber": 1, "Body": part}
        if self.settings.checksum == "sha256":
            create["ChecksumAlgorithm"] = "SHA256"
            upload.update(_sha256_args(part))
        created, code, _ = self.bucket.call(
            "CreateMultipartUpload",
            self.client.create_multipart_upload,
            expect=UNSUPPORTED,
            **create,
        )
        if created is None or not created.get("UploadId"):
            self._note(name, None, f"not probed: CreateMultipartUpload got {code}")
            return Finding("multipart", "skipped", f"CreateMultipartUpload got {code}")
        upload_id = str(created["UploadId"])
        self._uploads.append((key, upload_id))
        answer, code, _ = self.bucket.call(
            "UploadPart",
            self.client.upload_part,
            expect=UNSUPPORTED | CHECKSUM_REJECTED,
            UploadId=upload_id,
            **upload,
        )
        if answer is None:
            self._note(name, None, f"not probed: UploadPart got {code}")
            return Finding("multipart", "skipped", f"UploadPart got {code}")
        done = {"PartNumber": 1, "ETag": answer.get("ETag")}
        if "ChecksumSHA256" in upload:
            done["ChecksumSHA256"] = upload["ChecksumSHA256"]
        completed, code, message = self.bucket.call(
            "CompleteMultipartUpload",
            self.client.complete_multipart_upload,
            expect=PRECONDITION | UNSUPPORTED,
            MultipartUpload={"Parts": [done]},
            UploadId=upload_id,
            IfNoneMatch="*",
            **_bucket_and_key(create),
        )
        if completed is not None:
            self._uploads.remove((key, upload_id))
        return self._complete_finding(code, message)

    def _complete_finding(self, code: str | None, message: str) -> Finding:
        name = "conditional-complete"
        if code in PRECONDITION:
            self._note(name, True, f"completing over an existing key got {code}")
            return Finding(
                "multipart",
                "ok",
                f"create-only multipart uploads work: completing over an existing key got {code}",
            )
        if code in DENIED:
            self._note(name, None, f"access denied ({code})")
            return skipped("multipart", f"s3:PutObject on {PROBE_PREFIX}*")
        guard = (
            "publish checks the key right before and after completing each multipart upload "
            "instead (two requests more per multipart file) and reports another writer's "
            "object found there after completing as an error naming the key"
        )
        if code is None:
            self._note(name, False, "completed over an existing key (200)")
            return Finding(
                "multipart",
                "ok",
                "the store ignores If-None-Match: * on CompleteMultipartUpload (it completed "
                f"over an existing key): {guard}",
            )
        self._note(name, False, f"refused the header ({code})")
        if not self.settings.conditional_writes:
            return Finding(
                "multipart",
                "ok",
                f"the store refuses If-None-Match on CompleteMultipartUpload ({code}), and "
                f"conditional_writes is off: {guard}",
            )
        return Finding(
            "multipart",
            "problem",
            f"the store refuses CompleteMultipartUpload with If-None-Match: * ({code}: "
            f"{message}): every multipart upload will fail",
            "set conditional_writes = false (command line: --no-conditional-writes); publish "
            "then checks the key around each multipart upload itself",
        )

    # -- clean-up ---------------------------------------------------------------------------

    def _clean_up(self, keys: list[str]) -> list[Finding]:
        from botocore.exceptions import BotoCoreError, ClientError

        for key, upload_id in self._uploads:
            # If this fails, a lifecycle rule for incomplete uploads collects it; nothing reads it.
            with contextlib.suppress(ClientError, BotoCoreError):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket.bucket, Key=self.bucket.prefix + key, UploadId=upload_id
                )
        try:
            self.bucket.target.delete(keys)
        except TargetError as exc:
            return [
                Finding(
                    "probe-cleanup",
                    "skipped",
                    f"could not delete the probe objects under {PROBE_PREFIX} ({exc}); "
                    "they are tiny and never read",
                )
            ]
        return []


def _bucket_and_key(create: dict[str, Any]) -> dict[str, Any]:
    """The ``Bucket`` and ``Key`` of a ``CreateMultipartUpload`` request."""
    return {"Bucket": create["Bucket"], "Key": create["Key"]}


def _sha256_args(body: bytes) -> dict[str, str]:
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    return {"ChecksumAlgorithm": "SHA256", "ChecksumSHA256": digest}
