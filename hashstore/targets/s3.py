"""The S3 target: hashed objects and release records in ``s3://bucket/prefix/``, through botocore.

This module and :mod:`.s3_errors` are the one boundary between hashstore and botocore. Every
botocore error raised here becomes a :class:`~hashstore.errors.TargetError` naming the operation,
the bucket and the key and saying what to do next (``raise ... from exc`` keeps the original);
:mod:`.s3_errors` chooses the words. Nothing above this module imports botocore.

How it talks to the store, and why:

- One botocore client is shared by every worker thread (clients are thread-safe; sessions are
  not). Its connection pool is sized for ``jobs`` workers plus multipart parts, and it retries in
  ``standard`` mode (5xx, throttling, dropped connections) up to ``retries`` attempts a request.
- Existence is known from one paginated ``ListObjectsV2`` of the prefix, 1,000 keys a request
  (see :meth:`S3Target.find_existing` for when per-key ``HeadObject`` requests are used instead).
- Each upload is create-only: ``If-None-Match: *`` on ``PutObject`` and on
  ``CompleteMultipartUpload``. A ``412`` means another publisher stored the key first; that is
  fine when the stored object has the same size (and checksum, when the store reports one).
- The build's SHA-256 digest is sent as ``x-amz-checksum-sha256``, so the store rejects a body
  that changed on disk or on the wire. S3 has no whole-object SHA-256 for multipart uploads
  (``FULL_OBJECT`` checksums exist only for the CRC algorithms), so multipart uploads send a
  SHA-256 per part (a ``COMPOSITE`` checksum) and hashstore compares the whole file's SHA-256
  with the build's digest itself before completing the upload.
- A body the store rejects for a checksum mismatch was corrupted on the way and not stored, so
  it is sent again from a fresh read of the file, up to :data:`BODY_ATTEMPTS` times in all.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

import botocore.config
import botocore.session
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from ..errors import ConfigError, TargetError
from ..media_types import content_type
from ..spelling import option
from .base import READ_CHUNK, ObjectInfo, changed_since_build, check_record_key, release_key
from .capabilities import CAPABILITIES_KEY, Capabilities
from .s3_errors import (
    CHECKSUM_CODES,
    CONFLICT_CODES,
    DENIED_CODES,
    EXISTS_CODES,
    NOT_FOUND_CODES,
    RERUN,
    ErrorContext,
    error_code,
    translate,
)
from .s3_etag import checksum_verdict, expected_etag
from .s3_multipart import MIB, PART_MEMORY_BUDGET, MultipartUploader, _ExistedBeforeComplete

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

    from ..build import BuiltFile
    from ..settings import Settings

__all__ = ["S3Target", "parse_s3_url"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

LIST_PAGE_SIZE = 1000
"""Keys per ``ListObjectsV2`` request: S3's maximum."""

DELETE_BATCH_SIZE = 1000
"""Keys per ``DeleteObjects`` request: S3's maximum."""

HEAD_SWITCH_RATIO = 20
"""Listing switches to per-key ``HeadObject`` once the prefix has shown this many keys per key
asked for and more pages remain (see :meth:`S3Target.find_existing`)."""

CONFLICT_ATTEMPTS = 4
"""Attempts of an upload answered ``409 ConditionalRequestConflict`` (a concurrent conditional
write of the same key), with exponential backoff; botocore does not retry these."""

CONFLICT_BACKOFF = 0.1
"""Seconds before the first retry after a 409, doubled for each further one (with jitter)."""

BODY_ATTEMPTS = 3
"""Attempts of an upload whose body the store rejects for a checksum mismatch (``BadDigest``,
``XAmzContentSHA256Mismatch``...): corruption in flight, after which nothing was stored, so
create-only uploads can safely send the body again, read afresh from the file."""

# Object parameters hashstore sets itself; `object_parameters` may not set them.
_RESERVED_PARAMETERS = frozenset(
    {"Bucket", "Key", "Body", "ContentLength", "ContentMD5", "IfMatch", "IfNoneMatch"}
)


def parse_s3_url(target: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix/`` into the bucket and the prefix.

    The prefix is empty (the bucket's root) or ends with ``/``; leading slashes are dropped.

    :raises ConfigError: ``target`` is not an ``s3://`` URL with a bucket.
    """
    if not target.startswith("s3://"):
        raise ConfigError(f"target = {target!r} is invalid: an s3://bucket/prefix/ URL expected")
    bucket, _, prefix = target[len("s3://") :].partition("/")
    if not bucket:
        raise ConfigError(f"target = {target!r} is invalid: the bucket name after s3:// is missing")
    prefix = prefix.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


class _AlreadyStored(TargetError):
    """A create-only write was refused with 412: the key exists (private signal)."""


class _Conflict(TargetError):
    """A conditional write was refused with 409: a concurrent write of the key (private)."""


class _BodyRejected(TargetError):
    """An upload's body does not match the checksum sent with it (private signal).

    The bytes were corrupted on the way, or the file changed; nothing was stored, so the body
    is sent again, read afresh (:data:`BODY_ATTEMPTS`).
    """


_RESENDABLE_OPERATIONS = frozenset({"PutObject", "UploadPart"})


class S3Target:
    """Hashed objects and release records in an S3 bucket (or an S3-compatible store).

    :param settings: uses ``target`` (``s3://bucket/prefix/``), ``endpoint_url``, ``region``,
        ``profile``, ``jobs``, ``retries``, ``cache_control``, ``acl``, ``object_parameters``,
        ``conditional_writes``, ``checksum``, ``multipart_threshold`` and
        ``multipart_chunksize``.
    :param client: a ready botocore S3 client to use instead of building one (tests).
    :raises ConfigError: ``target`` is not an S3 URL, or ``object_parameters`` names a parameter
        that ``PutObject`` does not take.
    :raises TargetError: the AWS profile does not exist.

    .. versionadded:: 0.1
    """

    last_plan_strategy: str | None
    """How the last :meth:`find_existing` learnt what exists: ``"list"`` (one paginated listing)
    or ``"list+head"`` (listing cut short, then one ``HeadObject`` per remaining key); ``None``
    before the first call. :attr:`last_plan_detail` says how many requests each took."""

    last_plan_detail: str | None
    """A sentence for verbose output, e.g. ``list: 3 page(s), 2,417 keys``."""

    def __init__(self, settings: Settings, *, client: S3Client | None = None) -> None:
        if settings.target is None:
            raise ConfigError("target is not set: give s3://bucket/prefix/")
        self.bucket, self.prefix = parse_s3_url(settings.target)
        self._settings = settings
        self._part_slot_count = max(
            1, min(settings.jobs, PART_MEMORY_BUDGET // settings.multipart_chunksize)
        )
        self._client = client if client is not None else self._make_client(settings)
        self._error_context = ErrorContext(
            bucket=self.bucket,
            prefix=self.prefix,
            endpoint_url=self.endpoint_url,
            acl=settings.acl,
            retries=settings.retries,
        )
        if settings.checksum != "sha256":
            # botocore >= 1.36 sends a CRC32 instead of Content-MD5 where S3 requires a checksum
            # (DeleteObjects); stores without flexible checksums still need Content-MD5.
            self._client.meta.events.register("before-sign.s3.DeleteObjects", _add_content_md5)
        self._object_parameters = self._check_object_parameters(settings)
        self._create_parameters = _input_members(self._client, "CreateMultipartUpload")
        self.cancelled = threading.Event()
        """Set by :meth:`cancel`: multipart uploads stop between parts."""
        self._multipart = MultipartUploader(self, self._part_slot_count)
        self._pool_lock = threading.Lock()
        self._part_pool: ThreadPoolExecutor | None = None
        self._head_pool: ThreadPoolExecutor | None = None
        self.last_plan_strategy = None
        self.last_plan_detail = None
        self._capabilities_lock = threading.Lock()
        self._capabilities_listed: bool | None = None
        self._capabilities_read = False
        self._capabilities_record: Capabilities | None = None

    def _make_client(self, settings: Settings) -> S3Client:
        # MinIO, moto and most S3-compatible stores serve buckets by path only.
        s3_options: Any = {"addressing_style": "path"} if settings.endpoint_url else None
        config = botocore.config.Config(
            # Publish workers, plus the parts of multipart uploads, plus a little slack.
            max_pool_connections=max(10, settings.jobs + self._part_slot_count + 4),
            # total_max_attempts counts the first attempt too, as `retries` does.
            retries={"mode": "standard", "total_max_attempts": settings.retries},
            request_checksum_calculation=(
                "when_supported" if settings.checksum == "sha256" else "when_required"
            ),
            response_checksum_validation="when_required",
            s3=s3_options,
            user_agent_extra="hashstore",
        )
        # botocore's own session: the same credential chain as boto3's, without importing
        # boto3 and s3transfer (about 50 ms of every command's start-up).
        try:
            session = botocore.session.Session(profile=settings.profile)
            client = session.create_client(
                "s3",
                region_name=settings.region,
                endpoint_url=settings.endpoint_url,
                config=config,
            )
        except ProfileNotFound as exc:
            raise TargetError(
                f"AWS profile {settings.profile!r} is not configured: fix {option('profile')}, "
                "or add the "
                "profile to ~/.aws/config (or the file AWS_CONFIG_FILE names)",
                operation="connect",
                bucket=self.bucket,
            ) from exc
        return cast("S3Client", client)

    def _check_object_parameters(
        self, settings: Settings
    ) -> tuple[tuple[str, Mapping[str, Any]], ...]:
        allowed = {
            name
            for name in _input_members(self._client, "PutObject") - _RESERVED_PARAMETERS
            if not name.startswith(("Checksum", "If", "Write"))
        }
        for glob, parameters in settings.object_parameters.items():
            unknown = sorted(set(parameters) - allowed)
            if unknown:
                raise ConfigError(
                    f"object_parameters[{glob!r}] has unknown or reserved parameter(s) "
                    f"{', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
                )
        return tuple(settings.object_parameters.items())

    # -- description ---------------------------------------------------------------------

    def describe(self) -> str:
        """``s3://bucket/prefix/``, and the endpoint when it is not AWS's."""
        text = f"s3://{self.bucket}/{self.prefix}"
        if self._settings.endpoint_url:
            text += f" at {self._settings.endpoint_url}"
        return text

    def url_for_key(self, key: str) -> str:
        """``s3://bucket/prefix/key``."""
        return f"s3://{self.bucket}/{self.prefix}{key}"

    @property
    def client(self) -> S3Client:
        """The botocore S3 client this target uses (thread-safe), for diagnostics.

        Calls made through it bypass the error translation of this class.
        """
        return self._client

    @property
    def endpoint_url(self) -> str:
        """The endpoint the client talks to (AWS's regional endpoint unless configured)."""
        return str(self._client.meta.endpoint_url)

    # -- what the store honours ------------------------------------------------------------

    def capabilities(self) -> Capabilities | None:
        """The probe record ``hashstore doctor`` left (:mod:`.capabilities`), read once.

        ``None`` when there is none (never probed) or it is unreadable. A listing made by
        :meth:`find_objects` tells whether the record exists, for free; only a record that
        exists is read (one ``GetObject`` per target), and only when asked.
        """
        with self._capabilities_lock:
            if not self._capabilities_read:
                self._capabilities_read = True
                if self._capabilities_listed is not False:
                    body = self._read_if_present(CAPABILITIES_KEY)
                    if body is not None:
                        self._capabilities_record = Capabilities.from_json(body)
            return self._capabilities_record

    def remember_capabilities(self, record: Capabilities) -> None:
        """Use ``record`` from now on (``doctor`` has just measured and written it)."""
        with self._capabilities_lock:
            self._capabilities_read = True
            self._capabilities_listed = True
            self._capabilities_record = record

    @property
    def guards_multipart(self) -> bool:
        """Whether multipart uploads check the key themselves, around completing.

        Unless conditional writes are on and the probe record says the store refuses a
        ``CompleteMultipartUpload`` with ``If-None-Match: *`` over an existing key, nothing
        else keeps it create-only (see :class:`~.s3_multipart.MultipartUploader`).
        """
        if not self._settings.conditional_writes:
            return True
        record = self.capabilities()
        return record is None or record.get("conditional-complete") is not True

    @property
    def confirms_etags(self) -> bool:
        """Whether uploads compare the store's ETag with the MD5 of the bytes sent.

        Only where nothing else checks the bytes: the probe record says the store ignores a
        wrong SHA-256 (or ``checksum`` is ``none``) and that its ETags are MD5s. It costs no
        request (the ETag is in every ``PutObject`` and ``UploadPart`` answer), one more read
        of each single-part file, and lets a damaged part be sent again before completing.
        """
        checksum = self._settings.checksum
        if checksum == "md5":
            return False
        record = self.capabilities()
        if record is None or record.get("etag-md5") is not True:
            return False
        return checksum == "none" or record.get("checksum-enforced") is False

    def store_notes(self) -> list[str]:
        """Sentences for a publish's summary about what this store does not check.

        Reads the probe record (:meth:`capabilities`); nothing when there is none.
        """
        record = self.capabilities()
        if record is None:
            return []
        notes = []
        if self._settings.checksum == "sha256" and record.get("checksum-enforced") is False:
            notes.append(
                f"{self.describe()} does not enforce checksums (hashstore doctor, "
                f"{record.probed_at:%Y-%m-%d}): a body damaged on the way would be stored as it "
                "is; `hashstore verify` compares single-part objects' ETags with their MD5s "
                "where the store returns no SHA-256, and `hashstore verify --deep` reads and "
                "hashes every object"
            )
        return notes

    # -- plan ----------------------------------------------------------------------------

    def find_existing(self, keys: Collection[str]) -> Mapping[str, int]:
        """Which of ``keys`` exist under the prefix, with their sizes (:meth:`find_objects`)."""
        return {key: info.size for key, info in self.find_objects(keys).items()}

    def find_objects(self, keys: Collection[str]) -> Mapping[str, ObjectInfo]:
        """Which of ``keys`` exist under the prefix, with size, LastModified and ETag.

        One ``ListObjectsV2`` of the prefix, 1,000 keys a request, answers for every key. A
        prefix that holds far more objects than a build has files (years of releases) would
        take many pages, so listing stops early when, with more pages to come, the keys listed
        so far exceed :data:`HEAD_SWITCH_RATIO` times the keys asked for. S3 lists keys in
        UTF-8 byte order, so a key asked for that sorts before the last listed key and was not
        seen does not exist; only the keys sorting after it are asked with one ``HeadObject``
        each, ``jobs`` at a time. The count of keys under a prefix is unknown in advance, so
        this is a bet: it pays when the prefix holds more than about 1,000 objects per key
        still unknown, and costs at most one request per key asked when it does not.
        :attr:`last_plan_strategy` records which way was taken. (Keys under ``.hashstore/``
        sort before letters and digits, so they are nearly always on the first page.)
        """
        wanted = set(keys)
        if not wanted:
            self.last_plan_strategy = "list"
            self.last_plan_detail = "list: nothing asked, no requests"
            return {}
        asked_record = CAPABILITIES_KEY in wanted
        wanted.add(CAPABILITIES_KEY)  # free: .hashstore/ keys come on the first page
        found = self._find_objects(wanted)
        self._capabilities_listed = CAPABILITIES_KEY in found
        if not asked_record:
            found.pop(CAPABILITIES_KEY, None)
        return found

    def _find_objects(self, wanted: set[str]) -> dict[str, ObjectInfo]:
        found: dict[str, ObjectInfo] = {}
        skip = len(self.prefix)
        pages = listed = 0
        token: str | None = None
        while True:
            request: dict[str, Any] = {
                "Bucket": self.bucket,
                "Prefix": self.prefix,
                "MaxKeys": LIST_PAGE_SIZE,
            }
            if token is not None:
                request["ContinuationToken"] = token
            page = self._call("ListObjectsV2", None, self._client.list_objects_v2, **request)
            pages += 1
            contents = page.get("Contents", [])
            listed += len(contents)
            for item in contents:
                key = item["Key"][skip:]
                if key in wanted:
                    found[key] = ObjectInfo(
                        key=key,
                        size=item["Size"],
                        last_modified=item["LastModified"],
                        etag=_etag(item.get("ETag")),
                    )
            if not page.get("IsTruncated") or not page.get("NextContinuationToken"):
                break
            token = page["NextContinuationToken"]
            if listed > HEAD_SWITCH_RATIO * len(wanted):
                last = contents[-1]["Key"][skip:] if contents else ""
                unknown = sorted(k for k in wanted if k not in found and k > last)
                for key, info in zip(
                    unknown, self._pool("head").map(self.stat, unknown), strict=True
                ):
                    if info is not None:
                        found[key] = info
                self.last_plan_strategy = "list+head"
                self.last_plan_detail = (
                    f"list+head: {pages:,} page(s), {listed:,} keys listed, then "
                    f"{len(unknown):,} HeadObject request(s): the prefix holds more than "
                    f"{HEAD_SWITCH_RATIO}x the {len(wanted):,} keys asked for"
                )
                return found
        self.last_plan_strategy = "list"
        self.last_plan_detail = f"list: {pages:,} page(s), {listed:,} keys"
        return found

    def find_changed(
        self, present: Sequence[tuple[BuiltFile, ObjectInfo]]
    ) -> list[tuple[BuiltFile, str]]:
        """Which of these objects hold other bytes than their file (:mod:`.s3_etag`).

        The listing's ETag decides without a request when it is the one hashstore's own upload
        gives (files are read and hashed, ``jobs`` at a time); otherwise one ``HeadObject``
        with checksum mode, and a read only when the store keeps no SHA-256.
        """
        verdicts = self._pool("head").map(lambda pair: self._compare(*pair), present)
        return [
            (file, why) for (file, _), why in zip(present, verdicts, strict=True) if why is not None
        ]

    def _compare(self, file: BuiltFile, info: ObjectInfo) -> str | None:
        """``None`` if the object under ``file.key`` holds ``file``'s bytes, else what differs."""
        if info.size != file.size:
            return f"holds {info.size:,} bytes; this build has {file.size:,}"
        if info.sha256 is not None:  # from a HeadObject already made
            if info.sha256 == file.digest:
                return None
            return f"holds other bytes of the same size ({file.size:,}; SHA-256 {info.sha256})"
        part_size = self._multipart.part_size(file.size)
        threshold = self._settings.multipart_threshold
        if info.etag is not None and info.etag == expected_etag(
            file, multipart_threshold=threshold, part_size=part_size
        ):
            return None
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": self.prefix + file.key}
        if self._settings.checksum == "sha256":
            request["ChecksumMode"] = "ENABLED"
        head = self._call("HeadObject", file.key, self._client.head_object, **request)
        same = checksum_verdict(file, head, part_size)
        if same is None:
            same = self._read_sha256(file.key) == file.digest
        if same:
            return None
        return f"holds other bytes of the same size ({file.size:,}; ETag {info.etag})"

    def _read_sha256(self, key: str) -> str:
        """The SHA-256 of an object's body, streamed."""
        answer = self._call(
            "GetObject", key, self._client.get_object, Bucket=self.bucket, Key=self.prefix + key
        )
        body = answer["Body"]
        digest = hashlib.sha256()
        try:
            for block in body.iter_chunks(MIB):
                digest.update(block)
        except (BotoCoreError, OSError) as exc:
            raise self._translate(exc, "GetObject", key) from exc
        finally:
            body.close()
        return digest.hexdigest()

    # -- upload --------------------------------------------------------------------------

    def put_if_absent(self, file: BuiltFile) -> bool:
        """Store ``file`` under its hashed key unless the key exists (create-only).

        Files of ``multipart_threshold`` bytes or more go up in parts of
        ``multipart_chunksize``, in parallel, with bounded memory (:data:`PART_MEMORY_BUDGET`).

        :returns: ``True`` if this call stored the object; ``False`` if the store already held an
            object of the same size under the key (``412``: another publisher, or an earlier
            attempt of this one whose answer was lost).
        :raises TargetError: the store failed, refused the body :data:`BODY_ATTEMPTS` times, or
            holds other bytes under the key.
        """
        conflicts = rejections = 0
        while True:
            try:
                if file.size >= self._settings.multipart_threshold:
                    self._multipart.put(file)
                else:
                    self._put_single(file)
            except _AlreadyStored:
                return self._confirm_existing(file)
            except _ExistedBeforeComplete as exc:
                return self._confirm_existing(file, exc.existing)
            except _Conflict as exc:
                conflicts += 1
                if conflicts == CONFLICT_ATTEMPTS:
                    said = f"the store reported {CONFLICT_ATTEMPTS} conflicting concurrent writes"
                    raise TargetError(
                        f"{exc.operation} {self.url_for_key(file.key)}: {said} of this key "
                        f"(409); {RERUN}",
                        operation=exc.operation,
                        bucket=self.bucket,
                        key=file.key,
                        reason=f"{exc.operation} {self._error_context.where(None)}: {said} of "
                        f"each key (409); {RERUN}",
                    ) from exc
                time.sleep(CONFLICT_BACKOFF * 2 ** (conflicts - 1) * random.uniform(0.5, 1.5))
            except _BodyRejected as exc:
                # Nothing was stored, and each attempt reads the file again: corruption on the
                # way seldom strikes the same object twice, a file that changed does every time,
                # so a changed file (the store checked it against the build's digest, which is
                # what PutObject sends) fails now, named.
                if file.content is None and file.size < self._settings.multipart_threshold:
                    self._source_md5(file, self.url_for_key(file.key))
                rejections += 1
                if rejections == BODY_ATTEMPTS:
                    raise _rejected_every_time(exc) from exc
                _log_resend(exc, rejections + 1)
            else:
                return True

    def upload_workers(self, jobs: int) -> int:
        """``jobs``: uploads wait on the network, so each worker is one request in flight."""
        return jobs

    def _upload_parameters(self, name: str) -> dict[str, Any]:
        parameters: dict[str, Any] = {
            "ContentType": content_type(name),
            "CacheControl": self._settings.cache_control,
        }
        if self._settings.acl:
            parameters["ACL"] = self._settings.acl
        for glob, extra in self._object_parameters:
            if fnmatchcase(name, glob):
                parameters.update(extra)
        return parameters

    def _put_single(self, file: BuiltFile) -> None:
        request: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self.prefix + file.key,
            **self._upload_parameters(file.name),
        }
        if self._settings.conditional_writes:
            request["IfNoneMatch"] = "*"
        checksum = self._settings.checksum
        if checksum == "sha256":
            # Both headers, as the AWS SDKs send them: the algorithm tells the store which
            # checksum to keep with the object (HeadObject returns it).
            request["ChecksumAlgorithm"] = "SHA256"
            request["ChecksumSHA256"] = _b64(bytes.fromhex(file.digest))
        elif checksum == "md5":
            request["ContentMD5"] = _stream_md5(file)
        with file.open() as body:
            request["Body"] = body
            answer = self._call("PutObject", file.key, self._client.put_object, **request)
        if self.confirms_etags:
            etag, md5 = _etag(answer.get("ETag")), _stream_md5_hex(file)
            if etag != md5:
                raise TargetError(
                    f"PutObject {self.url_for_key(file.key)}: the store holds other bytes than "
                    f"{file.source}: its ETag is {etag}, the file's MD5 {md5}. The body was "
                    "damaged on the way and this store does not check SHA-256 checksums: delete "
                    f"the object and publish again, and set {option('checksum', 'md5')} if "
                    "`hashstore doctor` says the store checks Content-MD5",
                    operation="PutObject",
                    bucket=self.bucket,
                    key=file.key,
                )

    def _confirm_existing(self, file: BuiltFile, info: ObjectInfo | None = None) -> bool:
        """``False`` if the key holds this file's bytes, as far as the store can tell.

        The store's SHA-256 decides where it keeps one; else a single-request upload's ETag,
        which is the MD5 of its bytes (computed here, no request); else the size.
        """
        info = info if info is not None else self.stat(file.key)
        where = self.url_for_key(file.key)
        if info is None:
            raise TargetError(
                f"PutObject {where}: the store refused to create the key as existing (412) but "
                f"has no object there; {RERUN}",
                operation="PutObject",
                bucket=self.bucket,
                key=file.key,
            )
        if file.key == file.name:  # a kept name: stored meanwhile, so prove the same bytes
            differs = self._compare(file, info)
            if differs is None:
                return False
            raise TargetError(
                f"PutObject {where}: {file.name} keeps its own name, and another publisher "
                f"stored it meanwhile: the key {differs}. Nothing was overwritten; see "
                "KeptNameChangedError in the troubleshooting guide",
                operation="PutObject",
                bucket=self.bucket,
                key=file.key,
            )
        self._check_stored_bytes(file, info, where)
        return False

    def _check_stored_bytes(self, file: BuiltFile, info: ObjectInfo, where: str) -> None:
        """After a ``412`` on a hashed key: the object there must hold the build's bytes.

        Checked with what the store gives, strongest first: the SHA-256 it keeps (checksum mode
        ``sha256``, single-request uploads); else a single-request upload's ETag, the MD5 of its
        bytes (the build's bytes are hashed here, no request); else the size alone, and a
        warning says so (a multipart object stored without a SHA-256).

        :raises TargetError: the object holds other bytes, or the source file changed since
            the build (:func:`~.base.changed_since_build`).
        """
        if info.size != file.size:
            stored = f"{info.size:,} bytes"
        elif info.sha256 is not None:
            if info.sha256 == file.digest:
                return
            stored = f"SHA-256 {info.sha256}"
        elif info.etag is not None and _MD5_ETAG.fullmatch(info.etag):
            md5 = self._source_md5(file, where)
            if md5 == info.etag:
                return
            stored = (
                f"ETag {info.etag}, the MD5 of a single-request upload's bytes, and this build's "
                f"MD5 is {md5}; with SSE-KMS or SSE-C, ETags are no MD5s: use "
                f"{option('checksum', 'sha256')} there"
            )
        else:
            log.warning(
                "%s was stored already (412) with this build's size; the store keeps no SHA-256 "
                "for it and its ETag (%s) is no MD5 (a multipart upload), so only the size was "
                "compared: `hashstore verify --deep` compares the bytes",
                where,
                info.etag or "none",
            )
            return
        raise TargetError(
            f"PutObject {where}: the key already holds other bytes ({stored}; this build has "
            f"{file.size:,} bytes, SHA-256 {file.digest}). Objects under hashed keys are never "
            "overwritten: delete the object if it is corrupt, then rerun",
            operation="PutObject",
            bucket=self.bucket,
            key=file.key,
        )

    def _source_md5(self, file: BuiltFile, where: str) -> str:
        """The MD5 of ``file``'s bytes, read once with their SHA-256 to prove they are the build's.

        :raises TargetError: the source file changed since the build.
        """
        md5 = hashlib.md5(usedforsecurity=False)
        sha256 = hashlib.sha256()
        size = 0
        stream: BinaryIO
        with file.open() as stream:
            while block := stream.read(MIB):
                md5.update(block)
                sha256.update(block)
                size += len(block)
        if size != file.size or sha256.hexdigest() != file.digest:
            raise changed_since_build(
                file,
                size=size,
                digest=sha256.hexdigest(),
                where=where,
                operation="PutObject",
                bucket=self.bucket,
            )
        return md5.hexdigest()

    def put_release(self, release: str, body: bytes) -> None:
        """Write (or replace) ``.hashstore/releases/<release>.json`` (:meth:`put_record`)."""
        self.put_record(release_key(release), body)

    def put_record(self, key: str, body: bytes) -> None:
        """Write (or replace) one of hashstore's own records under ``.hashstore/``.

        Release records, pending markers and the prune lock. Unconditional, since such a record
        may be rewritten; ``Cache-Control: no-cache`` because, unlike hashed objects, it can
        change. ``object_parameters`` whose glob matches the record's key apply (e.g.
        encryption a bucket policy demands), except ``ContentType`` and ``CacheControl``; no
        ACL is sent. A body the store rejects for a checksum mismatch is sent again, as
        objects are (:data:`BODY_ATTEMPTS`).

        :raises ValueError: ``key`` is not under ``.hashstore/``.
        """
        check_record_key(key)
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": self.prefix + key, "Body": body}
        for glob, extra in self._object_parameters:
            if fnmatchcase(key, glob):
                request.update(extra)
        request.pop("ACL", None)
        request["ContentType"] = "application/json"
        request["CacheControl"] = "no-cache"
        if self._settings.checksum == "sha256":
            request["ChecksumAlgorithm"] = "SHA256"
            request["ChecksumSHA256"] = _b64(hashlib.sha256(body).digest())
        elif self._settings.checksum == "md5":
            request["ContentMD5"] = _b64(hashlib.md5(body, usedforsecurity=False).digest())
        for attempt in range(1, BODY_ATTEMPTS + 1):
            try:
                self._call("PutObject", key, self._client.put_object, **request)
            except _BodyRejected as exc:
                if attempt == BODY_ATTEMPTS:
                    raise _rejected_every_time(exc) from exc
                _log_resend(exc, attempt + 1)
            else:
                return

    # -- read ----------------------------------------------------------------------------

    def read(self, key: str) -> bytes:
        """The whole body of an object; its SHA-256 checksum is verified when the store has one.

        :raises TargetError: no such object, or the store failed.
        """
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": self.prefix + key}
        if self._settings.checksum == "sha256":
            request["ChecksumMode"] = "ENABLED"
        answer = self._call("GetObject", key, self._client.get_object, **request)
        body = answer["Body"]
        try:
            return body.read()
        except (BotoCoreError, OSError) as exc:
            raise self._translate(exc, "GetObject", key) from exc
        finally:
            body.close()

    def _read_if_present(self, key: str) -> bytes | None:
        """The body of ``key``, or ``None`` when it does not exist (or may not be read)."""
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            with contextlib.closing(answer["Body"]) as body:
                return body.read()
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND_CODES or error_code(exc) in DENIED_CODES:
                return None
            raise self._translate(exc, "GetObject", key) from exc
        except (BotoCoreError, OSError) as exc:
            raise self._translate(exc, "GetObject", key) from exc

    def iter_bytes(self, key: str, *, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        """The body of an object in chunks, read from the response as it arrives.

        With ``checksum = 'sha256'`` the store's checksum is asked for and botocore checks it
        once the last chunk is read; the body is closed however the iteration ends.

        :raises TargetError: no such object, or the store failed (also mid-stream).
        """
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": self.prefix + key}
        if self._settings.checksum == "sha256":
            request["ChecksumMode"] = "ENABLED"
        answer = self._call("GetObject", key, self._client.get_object, **request)
        body = answer["Body"]
        try:
            while chunk := body.read(chunk_size):
                yield chunk
        except (BotoCoreError, OSError) as exc:
            raise self._translate(exc, "GetObject", key) from exc
        finally:
            body.close()

    def stat(self, key: str) -> ObjectInfo | None:
        """Size, time, SHA-256, ETag and headers of one object (``HeadObject``); ``None`` if absent.

        ``sha256`` is the hex digest the store keeps for single-request uploads with a SHA-256
        checksum; ``None`` for multipart objects (their checksum is composite, a checksum of the
        parts' checksums) and for objects stored without one. ``md5`` is the ETag where it is
        the MD5 of the bytes (a single-request upload, no SSE-KMS or SSE-C), from the same answer.
        """
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": self.prefix + key}
        if self._settings.checksum == "sha256":
            request["ChecksumMode"] = "ENABLED"
        try:
            answer = self._client.head_object(**request)
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND_CODES:
                return None
            raise self._translate(exc, "HeadObject", key) from exc
        except BotoCoreError as exc:
            raise self._translate(exc, "HeadObject", key) from exc
        etag = _etag(answer.get("ETag"))
        return ObjectInfo(
            key=key,
            size=answer["ContentLength"],
            last_modified=answer["LastModified"],
            sha256=_sha256_hex(answer),
            content_type=answer.get("ContentType"),
            cache_control=answer.get("CacheControl"),
            etag=etag,
            md5=_md5_of_etag(etag, answer),
        )

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under the target's prefix (and ``prefix``), in key order, paginated."""
        skip = len(self.prefix)
        token: str | None = None
        while True:
            request: dict[str, Any] = {
                "Bucket": self.bucket,
                "Prefix": self.prefix + prefix,
                "MaxKeys": LIST_PAGE_SIZE,
            }
            if token is not None:
                request["ContinuationToken"] = token
            page = self._call("ListObjectsV2", None, self._client.list_objects_v2, **request)
            for item in page.get("Contents", []):
                yield ObjectInfo(
                    key=item["Key"][skip:],
                    size=item["Size"],
                    last_modified=item["LastModified"],
                    etag=_etag(item.get("ETag")),
                )
            if not page.get("IsTruncated") or not page.get("NextContinuationToken"):
                return
            token = page["NextContinuationToken"]

    # -- delete --------------------------------------------------------------------------

    def delete(self, keys: Iterable[str]) -> None:
        """Delete objects, 1,000 keys a ``DeleteObjects`` request; missing keys are fine.

        :raises TargetError: a request failed, or the store refused some keys (all are listed,
            after every batch was tried).
        """
        refused: list[tuple[str, str, str]] = []
        batch: list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == DELETE_BATCH_SIZE:
                refused += self._delete_batch(batch)
                batch = []
        if batch:
            refused += self._delete_batch(batch)
        if refused:
            shown = "\n".join(
                f"  {self.url_for_key(key)}: {code}: {message}"
                for key, code, message in refused[:20]
            )
            if len(refused) > 20:
                shown += f"\n  ... and {len(refused) - 20} more"
            hint = ""
            if any(code in DENIED_CODES for _, code, _ in refused):
                hint = " The credentials need s3:DeleteObject on these keys."
            raise TargetError(
                f"DeleteObjects s3://{self.bucket}/{self.prefix}: the store refused to delete "
                f"{len(refused)} object(s).{hint}\n{shown}",
                operation="DeleteObjects",
                bucket=self.bucket,
                key=refused[0][0],
            )

    def _delete_batch(self, keys: list[str]) -> list[tuple[str, str, str]]:
        answer = self._call(
            "DeleteObjects",
            None,
            self._client.delete_objects,
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": self.prefix + key} for key in keys], "Quiet": True},
        )
        skip = len(self.prefix)
        return [
            (error.get("Key", "")[skip:], error.get("Code", ""), error.get("Message", ""))
            for error in answer.get("Errors", [])
        ]

    # -- lifecycle -----------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop multipart uploads in flight at their next part; they are aborted."""
        self.cancelled.set()

    def close(self) -> None:
        """Stop the part and HEAD thread pools and close the client's connections."""
        with self._pool_lock:
            pools = [self._part_pool, self._head_pool]
            self._part_pool = self._head_pool = None
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=True)
        self._client.close()

    def __enter__(self) -> S3Target:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<S3Target {self.describe()}>"

    def _pool(self, kind: str) -> ThreadPoolExecutor:
        with self._pool_lock:
            if kind == "part":
                if self._part_pool is None:
                    self._part_pool = ThreadPoolExecutor(
                        self._part_slot_count, thread_name_prefix="hashstore-part"
                    )
                return self._part_pool
            if self._head_pool is None:
                self._head_pool = ThreadPoolExecutor(
                    self._settings.jobs, thread_name_prefix="hashstore-head"
                )
            return self._head_pool

    # -- the error boundary --------------------------------------------------------------

    def _call(self, operation: str, key: str | None, method: Callable[..., _T], **kw: Any) -> _T:
        """Call one client method, translating every botocore error into a TargetError."""
        try:
            return method(**kw)
        except ClientError as exc:
            code = error_code(exc)
            if code in EXISTS_CODES and "IfNoneMatch" in kw:
                raise _AlreadyStored(
                    f"{operation} {self._error_context.where(key)}: the key exists (412)",
                    operation=operation,
                    bucket=self.bucket,
                    key=key,
                ) from exc
            if code in CONFLICT_CODES and "IfNoneMatch" in kw:
                raise _Conflict(
                    f"{operation} {self._error_context.where(key)}: a concurrent write of the key "
                    "(409)",
                    operation=operation,
                    bucket=self.bucket,
                    key=key,
                ) from exc
            if code in CHECKSUM_CODES and operation in _RESENDABLE_OPERATIONS:
                raise self._translate(exc, operation, key, kind=_BodyRejected) from exc
            raise self._translate(exc, operation, key) from exc
        except BotoCoreError as exc:
            raise self._translate(exc, operation, key) from exc

    def _body_rejected(self, operation: str, key: str, why: str) -> TargetError:
        """The error for a body the store kept with other bytes than sent (sent again)."""
        return _BodyRejected(
            f"{operation} {self.url_for_key(key)}: {why}",
            operation=operation,
            bucket=self.bucket,
            key=key,
            reason=f"{operation} {self._error_context.where(None)}: {why}",
        )

    def _translate(
        self,
        exc: Exception,
        operation: str,
        key: str | None,
        *,
        kind: type[TargetError] = TargetError,
    ) -> TargetError:
        """The TargetError for a botocore error (:func:`.s3_errors.translate`)."""
        return translate(exc, operation, key, self._error_context, kind=kind)


def _input_members(client: S3Client, operation: str) -> frozenset[str]:
    shape = client.meta.service_model.operation_model(operation).input_shape
    return frozenset(shape.members) if shape is not None else frozenset()


def _add_content_md5(request: Any, **kwargs: Any) -> None:
    """Give a DeleteObjects request the Content-MD5 older S3-compatible stores require."""
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)) and "Content-MD5" not in request.headers:
        request.headers["Content-MD5"] = _b64(hashlib.md5(body, usedforsecurity=False).digest())


def _stream_md5(file: BuiltFile) -> str:
    """Content-MD5 of a file, read in blocks (the body is read again to send it)."""
    return _b64(bytes.fromhex(_stream_md5_hex(file)))


def _stream_md5_hex(file: BuiltFile) -> str:
    """The hex MD5 of a file, read in blocks."""
    digest = hashlib.md5(usedforsecurity=False)
    stream: BinaryIO
    with file.open() as stream:
        while block := stream.read(MIB):
            digest.update(block)
    return digest.hexdigest()


_MD5_ETAG = re.compile(r"[0-9a-f]{32}")


def _log_resend(exc: TargetError, attempt: int) -> None:
    log.info("sending the body again (attempt %d of %d) after: %s", attempt, BODY_ATTEMPTS, exc)


def _rejected_every_time(exc: TargetError) -> TargetError:
    """The error for a body rejected on each of its :data:`BODY_ATTEMPTS` attempts."""
    tried = f" (sent {BODY_ATTEMPTS} times, rejected each time)"
    return TargetError(
        f"{exc}{tried}",
        operation=exc.operation,
        bucket=exc.bucket,
        key=exc.key,
        reason=exc.reason + tried,
    )


def _etag(value: str | None) -> str | None:
    """An ETag without the quotes S3 puts around it (``"9b2c..."`` -> ``9b2c...``)."""
    stripped = (value or "").strip('"')
    return stripped or None


def _md5_of_etag(etag: str | None, answer: Mapping[str, Any]) -> str | None:
    """The MD5 of an object's bytes from a HeadObject answer: its ETag, when that is a plain
    MD5 (a single-request upload: no ``-<parts>``) and not encrypted with SSE-KMS (``aws:kms``,
    ``aws:kms:dsse``) or SSE-C, which give ETags that are no MD5s; else ``None``."""
    if etag is None or not _MD5_ETAG.fullmatch(etag):
        return None
    if str(answer.get("ServerSideEncryption", "")).startswith("aws:kms"):
        return None
    if answer.get("SSECustomerAlgorithm"):
        return None
    return etag


def _sha256_hex(answer: Mapping[str, Any]) -> str | None:
    """The hex SHA-256 of a whole object from a HeadObject answer, when the store has one.

    Multipart objects carry a composite checksum (``<base64>-<parts>``, ``ChecksumType:
    COMPOSITE``, an ETag ending in ``-<parts>``), which is not the object's SHA-256.
    """
    value = answer.get("ChecksumSHA256")
    if not value or "-" in value:
        return None
    if answer.get("ChecksumType") == "COMPOSITE" or "-" in str(answer.get("ETag", "")):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None
