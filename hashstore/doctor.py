"""``hashstore doctor``: check the bucket and CloudFront settings that hashstore relies on.

Each check reads what the credentials allow and reports ``ok``, a ``problem`` with the command
or setting that fixes it, or ``skipped`` (not permitted, or nothing to check):

- **ownership**: ACLs disabled (Object Ownership "bucket owner enforced"), as new buckets are;
  objects are served through CloudFront Origin Access Control, not object ACLs.
- **public-access**: the bucket's Block Public Access settings are all on.
- **cors**: a CORS rule allows ``GET`` from the site's origin; browsers need it for assets
  loaded with ``crossorigin`` (which Subresource Integrity requires) from the CDN's origin.
- **cache-control** / **content-type**: a few objects of the newest release are stored with an
  ``immutable`` ``Cache-Control`` and the ``Content-Type`` hashstore gives their names.
- **conditional-writes** / **checksums**: the endpoint refuses a second ``PutObject`` with
  ``If-None-Match: *`` (412) and a body that does not match its ``x-amz-checksum-sha256``. The
  probe objects go under ``.hashstore/doctor/`` (never pruned) and are deleted afterwards.
- with a CloudFront distribution id: **query-strings** (not in the cache key), **error-caching**
  (404/403 answers cached at most :data:`MAX_ERROR_CACHING_TTL` seconds) and **compression**.

These checks call S3 and CloudFront APIs beyond the :class:`~hashstore.targets.Target` protocol,
so this module talks to botocore directly, through the S3 target's client; botocore errors are
translated here, as :mod:`hashstore.targets.s3` translates the others.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import ConfigError, TargetError
from .releases import list_records, read_release
from .settings import Settings
from .verify import expected_content_type

if TYPE_CHECKING:
    from mypy_boto3_cloudfront.client import CloudFrontClient

    from .manifest import Manifest
    from .targets.s3 import S3Target

__all__ = ["DoctorReport", "Finding", "doctor"]

PROBE_PREFIX = ".hashstore/doctor/"
"""Where the write probes go (prune never deletes anything under ``.hashstore/``)."""

MAX_ERROR_CACHING_TTL = 10
"""Seconds a CDN may cache a 404 (or 403) for an asset: CloudFront's own default. Longer, and a
request that arrives while a file is still being uploaded keeps failing after it is there."""

SAMPLES = 5
"""Objects of the newest release whose headers are checked."""

_DENIED = frozenset({"AccessDenied", "403", "AllAccessDisabled"})
_CHECKSUM_REJECTED = frozenset(
    {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "XAmzContentChecksumMismatch"}
)
_UNSUPPORTED = frozenset({"501", "NotImplemented", "InvalidArgument", "InvalidRequest"})
_PRECONDITION = frozenset({"412", "PreconditionFailed", "409", "ConditionalRequestConflict"})


@dataclass(frozen=True, slots=True)
class Finding:
    """The result of one check.

    .. versionadded:: 0.1
    """

    check: str
    status: str
    """``ok``, ``problem`` or ``skipped``."""
    message: str
    fix: str = ""
    """What to run or set, for a problem."""

    def to_dict(self) -> dict[str, str]:
        return {
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class DoctorReport:
    """Every finding of :func:`doctor`.

    .. versionadded:: 0.1
    """

    target: str
    findings: tuple[Finding, ...]

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == "problem")

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """One line per finding, the fix indented below each problem."""
        out = []
        for finding in self.findings:
            label = "PROBLEM" if finding.status == "problem" else finding.status
            out.append(f"{label:<8} {finding.check:<18} {finding.message}")
            if finding.fix:
                out += [
                    f"{'':<27} fix: {line}" if i == 0 else f"{'':<33}{line}"
                    for i, line in enumerate(finding.fix.splitlines())
                ]
        count = len(self.problems)
        out.append(
            f"{count} problem(s) in {self.target}" if count else f"no problems in {self.target}"
        )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
        }


def doctor(
    settings: Settings,
    *,
    origin: str | None = None,
    distribution_id: str | None = None,
    target: S3Target | None = None,
    cloudfront: CloudFrontClient | None = None,
    cloudfront_endpoint_url: str | None = None,
    probe: bool = True,
) -> DoctorReport:
    """Check an S3 target's bucket (and a CloudFront distribution) for what hashstore needs.

    :param settings: ``target`` must be ``s3://bucket/prefix/``; also uses ``acl``,
        ``conditional_writes``, ``checksum``, ``cache_control``, ``base_url``.
    :param origin: the site's origin (``https://www.example.com``) that must be allowed to
        fetch assets with CORS; without it, any rule allowing ``GET`` passes.
    :param distribution_id: a CloudFront distribution serving the assets.
    :param target: an S3 target opened already (closed by the caller).
    :param cloudfront: a CloudFront client to use (tests); default: one from the settings'
        credentials.
    :param cloudfront_endpoint_url: CloudFront endpoint (tests, local stacks).
    :param probe: write and delete the probe objects (needs ``s3:PutObject`` and
        ``s3:DeleteObject`` on ``.hashstore/doctor/*``).
    :raises ConfigError: the target is not an S3 bucket.
    :raises TargetError: the bucket cannot be reached or listed at all.
    """
    if not settings.is_s3 and target is None:
        raise ConfigError(
            f"doctor checks S3 buckets and CloudFront; target = {settings.target!r} is "
            "not an s3:// URL (a directory needs no such settings)"
        )
    own_target = target is None
    if target is None:
        from .targets.s3 import S3Target  # boto3 is imported only when S3 is used

        target = S3Target(settings)
    try:
        bucket = _Bucket(target, settings)
        newest = bucket.newest_release()  # also proves the bucket is reachable and listable
        findings = [
            bucket.ownership(),
            bucket.public_access(),
            bucket.cors(origin),
            *bucket.samples(newest),
        ]
        if probe:
            findings += bucket.probes()
        if distribution_id:
            # The URLs browsers use: those of the newest release, else the settings'.
            base_url = newest.base_url if newest is not None else settings.base_url
            client = cloudfront or _cloudfront_client(settings, cloudfront_endpoint_url)
            try:
                findings += _Distribution(client, distribution_id).check(base_url, newest)
            finally:
                if cloudfront is None:
                    client.close()
        return DoctorReport(target.describe(), tuple(findings))
    finally:
        if own_target:
            target.close()


# -- S3 -------------------------------------------------------------------------------------


class _Bucket:
    """The bucket-level checks, over the S3 target's client."""

    def __init__(self, target: S3Target, settings: Settings) -> None:
        self.target = target
        self.settings = settings
        self.client = target.client
        self.bucket = target.bucket
        self.prefix = target.prefix

    def call(
        self, operation: str, method: Callable[..., Any], *, expect: frozenset[str], **kw: Any
    ) -> tuple[Any, str | None, str]:
        """``(answer, None, "")``, or ``(None, code, message)`` for a code in ``expect`` or a
        denial; any other error becomes a :class:`TargetError`, as in the S3 target."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(**kw), None, ""
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = str(error.get("Code") or status or "")
            message = " ".join(
                str(error.get(name) or "") for name in ("Message", "Header", "ArgumentName")
            ).strip()
            if code in expect or code in _DENIED or code in _UNSUPPORTED:
                return None, code, message
            raise TargetError(
                f"{operation} s3://{self.bucket}/: the store refused the request ({code}: "
                f"{message})",
                operation=operation,
                bucket=self.bucket,
                key=kw.get("Key"),
            ) from exc
        except BotoCoreError as exc:
            raise TargetError(
                f"{operation} s3://{self.bucket}/: {exc}: check `endpoint_url`, `region` and the "
                "credentials",
                operation=operation,
                bucket=self.bucket,
            ) from exc

    def newest_release(self) -> Manifest | None:
        records = list_records(self.target)
        if not records:
            return None
        release, info = max(records.items(), key=lambda item: (item[1].last_modified, item[0]))
        manifest = read_release(self.target, release, info).manifest
        return manifest if len(manifest) else None

    def ownership(self) -> Finding:
        answer, code, _ = self.call(
            "GetBucketOwnershipControls",
            self.client.get_bucket_ownership_controls,
            expect=frozenset({"OwnershipControlsNotFoundError"}),
            Bucket=self.bucket,
        )
        if code in _DENIED:
            return _skipped("ownership", "s3:GetBucketOwnershipControls")
        if code in _UNSUPPORTED:
            return _unsupported("ownership", code)
        rules = answer["OwnershipControls"]["Rules"] if answer else []
        ownership = rules[0]["ObjectOwnership"] if rules else "ObjectWriter (no ownership controls)"
        enforced = ownership == "BucketOwnerEnforced"
        if self.settings.acl:
            if enforced:
                return Finding(
                    "ownership",
                    "problem",
                    f"`acl` is {self.settings.acl!r} but the bucket has ACLs disabled "
                    "(Object Ownership: bucket owner enforced): every upload will be refused",
                    "remove the `acl` setting and serve the bucket through CloudFront Origin "
                    "Access Control",
                )
            return Finding("ownership", "ok", f"ACLs enabled ({ownership}), as `acl` needs")
        if enforced:
            return Finding(
                "ownership", "ok", "ACLs disabled (Object Ownership: bucket owner enforced)"
            )
        return Finding(
            "ownership",
            "problem",
            f"ACLs are enabled (Object Ownership: {ownership}): an object ACL can make a file "
            "public or unreadable behind the bucket policy's back",
            f"aws s3api put-bucket-ownership-controls --bucket {self.bucket} "
            "--ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'",
        )

    def public_access(self) -> Finding:
        answer, code, _ = self.call(
            "GetPublicAccessBlock",
            self.client.get_public_access_block,
            expect=frozenset({"NoSuchPublicAccessBlockConfiguration"}),
            Bucket=self.bucket,
        )
        if code in _DENIED:
            return _skipped("public-access", "s3:GetBucketPublicAccessBlock")
        if code in _UNSUPPORTED:
            return _unsupported("public-access", code)
        flags = (
            "BlockPublicAcls",
            "IgnorePublicAcls",
            "BlockPublicPolicy",
            "RestrictPublicBuckets",
        )
        config = answer["PublicAccessBlockConfiguration"] if answer else {}
        off = [flag for flag in flags if not config.get(flag)]
        if not off:
            return Finding("public-access", "ok", "Block Public Access is on (all four settings)")
        what = (
            "the bucket has no Block Public Access configuration (an account-level one may "
            "still apply)"
            if not config
            else f"Block Public Access is off for {', '.join(off)}"
        )
        return Finding(
            "public-access",
            "problem",
            f"{what}: the bucket can be made public; serve it through CloudFront instead",
            f"aws s3api put-public-access-block --bucket {self.bucket} "
            "--public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,"
            "BlockPublicPolicy=true,RestrictPublicBuckets=true\n(if browsers fetch from the "
            "bucket directly today, put CloudFront with Origin Access Control in front first)",
        )

    def cors(self, origin: str | None) -> Finding:
        answer, code, _ = self.call(
            "GetBucketCors",
            self.client.get_bucket_cors,
            expect=frozenset({"NoSuchCORSConfiguration"}),
            Bucket=self.bucket,
        )
        if code in _DENIED:
            return _skipped("cors", "s3:GetBucketCORS")
        if code in _UNSUPPORTED:
            return _unsupported("cors", code)
        rules: Sequence[Mapping[str, Any]] = answer.get("CORSRules", []) if answer else []
        wanted = origin.rstrip("/").lower() if origin else None
        allowed = [
            rule
            for rule in rules
            if "GET" in [m.upper() for m in rule.get("AllowedMethods", [])]
            and any(_origin_matches(pattern, wanted) for pattern in rule.get("AllowedOrigins", []))
        ]
        example = wanted or "https://www.example.com"
        rule_json = json.dumps(
            {
                "CORSRules": [
                    {
                        "AllowedOrigins": [example],
                        "AllowedMethods": ["GET", "HEAD"],
                        "AllowedHeaders": ["*"],
                        "MaxAgeSeconds": 86400,
                    }
                ]
            }
        )
        if allowed:
            whom = f"from {wanted}" if wanted else "(give --origin to check your site's origin)"
            return Finding("cors", "ok", f"a CORS rule allows GET {whom}")
        whom = f"from {wanted}" if wanted else "from any origin"
        return Finding(
            "cors",
            "problem",
            f"no CORS rule allows GET {whom}: browsers refuse assets loaded with `crossorigin` "
            "(needed for integrity checks) from the CDN's origin",
            f"aws s3api put-bucket-cors --bucket {self.bucket} --cors-configuration '{rule_json}'"
            "\n(and put the Origin header in CloudFront's cache key, so an answer cached for a "
            "request without Origin is never served to a browser: see docs/s3-cloudfront.md)",
        )

    def samples(self, manifest: Manifest | None) -> list[Finding]:
        if manifest is None:
            return [
                Finding(
                    "cache-control", "skipped", "no release published yet: no objects to sample"
                )
            ]
        names = list(manifest)
        step = max(1, len(names) // SAMPLES)
        chosen = names[::step][:SAMPLES]
        wrong_cache: list[str] = []
        wrong_type: list[str] = []
        missing: list[str] = []
        for name in chosen:
            key = manifest[name].key
            info = self.target.stat(key)
            if info is None:
                missing.append(key)
                continue
            if "immutable" not in (info.cache_control or "").lower():
                wrong_cache.append(f"{key} ({info.cache_control or 'no Cache-Control'})")
            expected = expected_content_type(self.settings, name)
            if (info.content_type or "").replace(" ", "").lower() != expected.replace(
                " ", ""
            ).lower():
                wrong_type.append(f"{key} ({info.content_type!r}, expected {expected!r})")
        where = f"s3://{self.bucket}/{self.prefix}"
        findings = []
        sampled = f"{len(chosen)} sampled object(s) of release {manifest.release}"
        if wrong_cache:
            findings.append(
                Finding(
                    "cache-control",
                    "problem",
                    f"{len(wrong_cache)} of {sampled} lack an immutable Cache-Control: "
                    + ", ".join(wrong_cache),
                    f"set their metadata in place, e.g. aws s3 cp {where} {where} --recursive "
                    "--exclude '.hashstore/*' --metadata-directive REPLACE --cache-control "
                    f"'{self.settings.cache_control}' (keep each Content-Type: copy per type); "
                    "new uploads get the `cache_control` setting",
                )
            )
        else:
            findings.append(Finding("cache-control", "ok", f"{sampled}: immutable Cache-Control"))
        if wrong_type:
            findings.append(
                Finding(
                    "content-type",
                    "problem",
                    f"{len(wrong_type)} of {sampled} have another Content-Type: "
                    + ", ".join(wrong_type),
                    "copy each in place with --metadata-directive REPLACE --content-type "
                    "'<expected>'; `hashstore verify --via-cdn` lists every one",
                )
            )
        if missing:
            findings.append(
                Finding(
                    "objects",
                    "problem",
                    f"{len(missing)} of {sampled} are missing: " + ", ".join(missing),
                    f"hashstore verify --release {manifest.release} --to {where} lists every "
                    "missing object; publish that release again to upload them",
                )
            )
        return findings

    def probes(self) -> list[Finding]:
        token = uuid.uuid4().hex
        keys = [f"{PROBE_PREFIX}{token}-conditional", f"{PROBE_PREFIX}{token}-checksum"]
        findings: list[Finding] = []
        try:
            findings.append(self._probe_conditional(keys[0]))
            findings.append(self._probe_checksum(keys[1], keys[0]))
        finally:
            try:
                self.target.delete(keys)
            except TargetError as exc:
                findings.append(
                    Finding(
                        "probe-cleanup",
                        "skipped",
                        f"could not delete the probe objects under {PROBE_PREFIX} ({exc}); "
                        "they are tiny and never read",
                    )
                )
        return findings

    def _put(self, key: str, body: bytes, **kw: Any) -> tuple[Any, str | None, str]:
        return self.call(
            "PutObject",
            self.client.put_object,
            expect=_PRECONDITION | _CHECKSUM_REJECTED | _UNSUPPORTED,
            Bucket=self.bucket,
            Key=self.prefix + key,
            Body=body,
            **kw,
        )

    def _probe_conditional(self, key: str) -> Finding:
        body = b"hashstore doctor probe: safe to delete\n"
        _, code, message = self._put(key, body, IfNoneMatch="*", **_sha256_args(body))
        if code in _DENIED:
            return _skipped("conditional-writes", f"s3:PutObject on {PROBE_PREFIX}*")
        if code is not None:
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
        _, code, message = self._put(key, body, IfNoneMatch="*", **_sha256_args(body))
        if code in _PRECONDITION:
            return Finding(
                "conditional-writes",
                "ok",
                f"create-only uploads work: a second PutObject with If-None-Match: * got {code}",
            )
        if code is None:
            return Finding(
                "conditional-writes",
                "problem",
                "the store ignores If-None-Match: * (a second PutObject of the same key "
                "succeeded): a hashed object is not protected from being overwritten",
                "publish from one machine at a time; set conditional_writes = false to stop "
                "sending the header",
            )
        return Finding(
            "conditional-writes",
            "problem",
            f"a second create-only PutObject got {code} ({message}) instead of 412",
            "set conditional_writes = false if the store does not support If-None-Match",
        )

    def _probe_checksum(self, key: str, good_key: str) -> Finding:
        body = b"hashstore doctor checksum probe\n"
        wrong = base64.b64encode(hashlib.sha256(body + b"x").digest()).decode("ascii")
        _, code, message = self._put(key, body, ChecksumAlgorithm="SHA256", ChecksumSHA256=wrong)
        if code in _DENIED:
            return _skipped("checksums", f"s3:PutObject on {PROBE_PREFIX}*")
        if code in _CHECKSUM_REJECTED or (
            code in {"400", "InvalidRequest"} and "checksum" in message.lower()
        ):
            return Finding(
                "checksums",
                "ok",
                f"the store rejects a body that does not match its SHA-256 ({code})"
                + self._head_checksum_note(good_key),
            )
        if code is not None:
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
        return Finding(
            "checksums",
            "problem",
            "the store accepted a body that does not match its x-amz-checksum-sha256: a body "
            "corrupted on the way would be stored as it is",
            "run `hashstore verify --deep` after each publish (it reads and hashes every object); "
            "with a store that checks Content-MD5, set checksum = 'md5'",
        )

    def _head_checksum_note(self, key: str) -> str:
        info = self.target.stat(key)
        if info is not None and info.sha256 is not None:
            return "; HeadObject returns it, so `hashstore verify` checks digests without --deep"
        return (
            "; HeadObject does not return it, so `hashstore verify` checks sizes only unless --deep"
        )


def _sha256_args(body: bytes) -> dict[str, str]:
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    return {"ChecksumAlgorithm": "SHA256", "ChecksumSHA256": digest}


def _origin_matches(pattern: str, origin: str | None) -> bool:
    pattern = pattern.rstrip("/").lower()
    if origin is None:
        return True  # any rule allowing GET, for any origin
    return pattern == "*" or fnmatchcase(origin, pattern)


def _unsupported(check: str, code: str) -> Finding:
    return Finding(check, "skipped", f"the store does not implement this API ({code})")


def _skipped(check: str, permission: str) -> Finding:
    return Finding(check, "skipped", f"access denied: the credentials need {permission} to check")


# -- CloudFront -----------------------------------------------------------------------------


def _cloudfront_client(settings: Settings, endpoint_url: str | None) -> CloudFrontClient:
    import boto3

    session = boto3.session.Session(profile_name=settings.profile)
    return session.client("cloudfront", endpoint_url=endpoint_url, region_name="us-east-1")


class _Distribution:
    """The CloudFront checks: cache key, error caching, compression."""

    def __init__(self, client: CloudFrontClient, distribution_id: str) -> None:
        self.client = client
        self.id = distribution_id
        self._policies: dict[str, tuple[Any, str | None]] = {}

    def call(self, operation: str, method: Callable[..., Any], **kw: Any) -> tuple[Any, str | None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(**kw), None
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code") or "")
            if code in _DENIED or code in {"NoSuchDistribution", "NoSuchCachePolicy"}:
                return None, code
            message = exc.response.get("Error", {}).get("Message", "")
            raise TargetError(
                f"CloudFront {operation} {self.id}: the service refused the request "
                f"({code}: {message})",
                operation=operation,
            ) from exc
        except BotoCoreError as exc:
            raise TargetError(
                f"CloudFront {operation} {self.id}: {exc}: check the network and credentials",
                operation=operation,
            ) from exc

    def check(self, base_url: str, newest: Manifest | None) -> list[Finding]:
        answer, code = self.call(
            "GetDistributionConfig", self.client.get_distribution_config, Id=self.id
        )
        if code in _DENIED:
            return [_skipped("cloudfront", "cloudfront:GetDistributionConfig")]
        if code is not None:
            return [
                Finding(
                    "cloudfront",
                    "problem",
                    f"distribution {self.id} does not exist ({code})",
                    "give the id of the distribution serving base_url (aws cloudfront "
                    "list-distributions)",
                )
            ]
        config = answer["DistributionConfig"]
        label, behavior = _behavior_for(config, base_url, newest)
        return [
            self._query_strings(label, behavior),
            _error_caching(config),
            self._compression(label, behavior),
        ]

    def _cache_policy(self, behavior: Mapping[str, Any]) -> tuple[Any, str | None]:
        policy_id = behavior.get("CachePolicyId")
        if not policy_id:
            return None, None
        if policy_id not in self._policies:
            answer, code = self.call("GetCachePolicy", self.client.get_cache_policy, Id=policy_id)
            config = answer["CachePolicy"]["CachePolicyConfig"] if answer is not None else None
            self._policies[policy_id] = (config, code)
        return self._policies[policy_id]

    def _query_strings(self, label: str, behavior: Mapping[str, Any]) -> Finding:
        fix = (
            f"use the managed cache policy CachingOptimized (658327ea-f89d-4fab-a63d-"
            f"7e88639e58f6) for the {label}, or set its query string behavior to none"
        )
        policy, code = self._cache_policy(behavior)
        if code is not None:
            return _skipped("query-strings", "cloudfront:GetCachePolicy")
        if policy is not None:
            settings = policy["ParametersInCacheKeyAndForwardedToOrigin"]["QueryStringsConfig"]
            behavior_name = settings.get("QueryStringBehavior", "none")
            in_key = behavior_name != "none"
            how = f"cache policy {policy.get('Name', behavior.get('CachePolicyId'))!r} "
            how += f"(QueryStringBehavior {behavior_name})"
        else:
            in_key = bool(behavior.get("ForwardedValues", {}).get("QueryString"))
            how = f"legacy cache settings (QueryString {str(in_key).lower()})"
        if in_key:
            return Finding(
                "query-strings",
                "problem",
                f"the {label} puts query strings in the cache key ({how}): hashed names never "
                "need them, and every `?x=...` variant of a URL is a cache miss that goes to "
                "the origin",
                fix,
            )
        return Finding("query-strings", "ok", f"the {label} ignores query strings ({how})")

    def _compression(self, label: str, behavior: Mapping[str, Any]) -> Finding:
        if not behavior.get("Compress"):
            return Finding(
                "compression",
                "problem",
                f"the {label} does not compress: CSS, JavaScript and SVG travel uncompressed",
                f"turn on 'Compress objects automatically' (Compress=true) for the {label}",
            )
        policy, _ = self._cache_policy(behavior)
        if policy is not None:
            encodings = policy["ParametersInCacheKeyAndForwardedToOrigin"]
            if not (
                encodings.get("EnableAcceptEncodingGzip")
                or encodings.get("EnableAcceptEncodingBrotli")
            ):
                return Finding(
                    "compression",
                    "problem",
                    f"the {label} compresses, but its cache policy enables neither gzip nor "
                    "Brotli, so CloudFront serves uncompressed copies",
                    "enable Gzip and Brotli in the cache policy (CachingOptimized has both)",
                )
        return Finding("compression", "ok", f"the {label} compresses responses")


def _behavior_for(
    config: Mapping[str, Any], base_url: str, newest: Manifest | None
) -> tuple[str, Mapping[str, Any]]:
    """The cache behavior CloudFront applies to asset URLs: the first path pattern matching an
    asset's path, else the default."""
    parts = urlsplit(base_url)
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    sample = next(iter(newest.values())).key if newest else "hashstore.css"
    asset = path + sample
    for behavior in config.get("CacheBehaviors", {}).get("Items", []) or []:
        pattern = "/" + str(behavior.get("PathPattern", "")).lstrip("/")
        if fnmatchcase(asset, pattern):
            return f"cache behavior {behavior['PathPattern']}", behavior
    return "default cache behavior", config["DefaultCacheBehavior"]


def _error_caching(config: Mapping[str, Any]) -> Finding:
    items = config.get("CustomErrorResponses", {}).get("Items", []) or []
    long = [
        (int(item["ErrorCode"]), int(item.get("ErrorCachingMinTTL", MAX_ERROR_CACHING_TTL)))
        for item in items
        if int(item["ErrorCode"]) in (403, 404)
        and int(item.get("ErrorCachingMinTTL", MAX_ERROR_CACHING_TTL)) > MAX_ERROR_CACHING_TTL
    ]
    if long:
        shown = ", ".join(f"{code} for {ttl} s" for code, ttl in long)
        return Finding(
            "error-caching",
            "problem",
            f"error answers are cached ({shown}): an asset requested before its upload "
            "finished keeps failing that long after it is there",
            f"set the error caching minimum TTL of 404 (and 403, which S3 answers for missing "
            f"keys without s3:ListBucket) to {MAX_ERROR_CACHING_TTL} s or less",
        )
    return Finding(
        "error-caching",
        "ok",
        f"404 and 403 answers are cached {MAX_ERROR_CACHING_TTL} s or less",
    )
