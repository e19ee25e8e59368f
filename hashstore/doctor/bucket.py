"""The bucket checks of ``hashstore doctor``: ownership, public access, CORS, lifecycle, samples.

Each reads what the credentials allow and reports ``ok``, a ``problem`` with its fix, or
``skipped`` (denied, or an API the store does not implement). Stores that speak the S3 API
answer these bucket APIs in their own ways (radosgw answers ``?ownershipControls`` with 200 and
no rule); every answer is read defensively, and what the store did is also recorded as a
capability (``ownership-controls``, ``cors``, ``lifecycle``).

These checks call S3 APIs beyond the :class:`~hashstore.targets.Target` protocol, so this
module talks to botocore directly, through the S3 target's client; botocore errors are
translated here (:meth:`Bucket.call`), as :mod:`hashstore.targets.s3` translates the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from ..errors import TargetError
from ..releases import list_records, read_release
from ..verify import expected_content_type
from .findings import DENIED, UNSUPPORTED, CapabilityResult, Finding, skipped, unsupported

if TYPE_CHECKING:
    from ..manifest import Manifest
    from ..settings import Settings
    from ..targets.s3 import S3Target

__all__ = ["SAMPLES", "Bucket"]

SAMPLES = 5
"""Objects of the newest release whose headers are checked."""


class Bucket:
    """The bucket-level checks, over the S3 target's client."""

    def __init__(self, target: S3Target, settings: Settings) -> None:
        self.target = target
        self.settings = settings
        self.client = target.client
        self.bucket = target.bucket
        self.prefix = target.prefix
        self.capabilities: dict[str, CapabilityResult] = {}
        """What the checks learnt of the store's bucket APIs, by capability."""

    def _capability(self, name: str, code: str | None, answered: str) -> None:
        """Record whether a bucket API answered as S3 does (``code``: its error, if any)."""
        if code in DENIED:
            self.capabilities[name] = CapabilityResult(name, None, f"access denied ({code})")
        elif code in UNSUPPORTED:
            self.capabilities[name] = CapabilityResult(name, False, f"not implemented ({code})")
        else:
            self.capabilities[name] = CapabilityResult(name, True, answered)

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
            if code in expect or code in DENIED or code in UNSUPPORTED:
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
        if code in DENIED:
            self._capability("ownership-controls", code, "")
            return skipped("ownership", "s3:GetBucketOwnershipControls")
        if code in UNSUPPORTED:
            self._capability("ownership-controls", code, "")
            return unsupported("ownership", code)
        rules: list[Any] = []
        if answer is not None:
            controls = answer.get("OwnershipControls")
            rules = [r for r in (controls or {}).get("Rules") or [] if isinstance(r, Mapping)]
            if not rules or not rules[0].get("ObjectOwnership"):
                # radosgw 16.2: 200 and an empty <OwnershipControls/>.
                self.capabilities["ownership-controls"] = CapabilityResult(
                    "ownership-controls", False, "answered 200 without any rule"
                )
                return Finding(
                    "ownership",
                    "skipped",
                    "the store answers GetBucketOwnershipControls without any rule: it does not "
                    "implement Object Ownership, so ACLs are whatever the store does with them",
                )
        self._capability(
            "ownership-controls",
            code,
            f"rule {rules[0]['ObjectOwnership']}" if rules else f"no controls set ({code})",
        )
        ownership = (
            str(rules[0]["ObjectOwnership"]) if rules else "ObjectWriter (no ownership controls)"
        )
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
        if code in DENIED:
            return skipped("public-access", "s3:GetBucketPublicAccessBlock")
        if code in UNSUPPORTED:
            return unsupported("public-access", code)
        flags = (
            "BlockPublicAcls",
            "IgnorePublicAcls",
            "BlockPublicPolicy",
            "RestrictPublicBuckets",
        )
        config = (answer.get("PublicAccessBlockConfiguration") or {}) if answer else {}
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
        rules_said = f"{len((answer or {}).get('CORSRules') or [])} rule(s)" if answer else code
        self._capability("cors", code, f"answered ({rules_said})")
        if code in DENIED:
            return skipped("cors", "s3:GetBucketCORS")
        if code in UNSUPPORTED:
            return unsupported("cors", code)
        rules: Sequence[Mapping[str, Any]] = [
            rule for rule in (answer or {}).get("CORSRules") or [] if isinstance(rule, Mapping)
        ]
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

    def lifecycle(self) -> None:
        """Record whether the store answers GetBucketLifecycleConfiguration (no finding: a rule
        that aborts incomplete multipart uploads is advised, not required)."""
        answer, code, _ = self.call(
            "GetBucketLifecycleConfiguration",
            self.client.get_bucket_lifecycle_configuration,
            expect=frozenset({"NoSuchLifecycleConfiguration"}),
            Bucket=self.bucket,
        )
        rules = [r for r in (answer or {}).get("Rules") or [] if isinstance(r, Mapping)]
        aborts = any("AbortIncompleteMultipartUpload" in rule for rule in rules)
        said = (
            f"{len(rules)} rule(s)"
            + (", one aborts incomplete multipart uploads" if aborts else "")
            if answer is not None
            else str(code)
        )
        self._capability("lifecycle", code, f"answered ({said})")

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


def _origin_matches(pattern: str, origin: str | None) -> bool:
    pattern = pattern.rstrip("/").lower()
    if origin is None:
        return True  # any rule allowing GET, for any origin
    return pattern == "*" or fnmatchcase(origin, pattern)
