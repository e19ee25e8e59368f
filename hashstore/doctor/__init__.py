"""``hashstore doctor``: check the bucket, the store and CloudFront settings hashstore relies on.

Each check reads what the credentials allow and reports ``ok``, a ``problem`` with the command
or setting that fixes it, or ``skipped`` (not permitted, or nothing to check):

- the bucket (:mod:`.bucket`): **ownership** (ACLs disabled), **public-access** (Block Public
  Access on), **cors** (a rule allows ``GET`` from the site's origin, which ``crossorigin``
  assets need for Subresource Integrity), **cache-control** / **content-type** of a few objects
  of the newest release;
- the store (:mod:`.probes`), with scratch objects under ``.hashstore/probe/`` deleted
  afterwards: **conditional-writes**, **checksums** and **multipart** (``If-None-Match`` on
  ``CompleteMultipartUpload``);
- with a CloudFront distribution id (:mod:`.cloudfront`): **query-strings**, **error-caching**
  and **compression**.

Besides the findings, the report lists per capability whether the store honours it
(:data:`~hashstore.targets.capabilities.CAPABILITIES`), and ``doctor`` records that, with the
date, in ``.hashstore/capabilities.json``, which publish reads to keep multipart uploads
create-only on stores that ignore conditional completes. ``doctor`` never stops at a strange
answer: an API a store does not implement, or answers oddly, is reported as such.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..errors import ConfigError, TargetError
from ..spelling import render
from ..targets.capabilities import CAPABILITIES_KEY, Capabilities
from .bucket import SAMPLES, Bucket
from .cloudfront import MAX_ERROR_CACHING_TTL, Distribution, cloudfront_client
from .findings import CapabilityResult, DoctorReport, Finding, ordered
from .probes import PROBE_PREFIX, Probes

if TYPE_CHECKING:
    from mypy_boto3_cloudfront.client import CloudFrontClient

    from ..settings import Settings
    from ..targets.s3 import S3Target

__all__ = [
    "MAX_ERROR_CACHING_TTL",
    "PROBE_PREFIX",
    "SAMPLES",
    "CapabilityResult",
    "DoctorReport",
    "Finding",
    "doctor",
]


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
    """Check an S3 target's bucket, store (and a CloudFront distribution) for what hashstore needs.

    :param settings: ``target`` must be ``s3://bucket/prefix/``; also uses ``acl``,
        ``conditional_writes``, ``checksum``, ``cache_control``, ``base_url``.
    :param origin: the site's origin (``https://www.example.com``) that must be allowed to
        fetch assets with CORS; without it, any rule allowing ``GET`` passes.
    :param distribution_id: a CloudFront distribution serving the assets.
    :param target: an S3 target opened already (closed by the caller).
    :param cloudfront: a CloudFront client to use (tests); default: one from the settings'
        credentials.
    :param cloudfront_endpoint_url: CloudFront endpoint (tests, local stacks).
    :param probe: write and delete the probe objects and record what the store honours (needs
        ``s3:PutObject`` and ``s3:DeleteObject`` on ``.hashstore/probe/*`` and ``s3:PutObject``
        on ``.hashstore/capabilities.json``).
    :raises ConfigError: the target is not an S3 bucket.
    :raises TargetError: the bucket cannot be reached or listed at all.

    .. versionchanged:: 0.2
        Probes conditional multipart completes, checksums returned by ``HeadObject``, ETags,
        and lifecycle; reports per capability and records the result.
    """
    if not settings.is_s3 and target is None:
        raise ConfigError(
            f"doctor checks S3 buckets and CloudFront; target = {settings.target!r} is "
            "not an s3:// URL (a directory needs no such settings)"
        )
    own_target = target is None
    if target is None:
        from ..targets.s3 import S3Target  # boto3 is imported only when S3 is used

        target = S3Target(settings)
    try:
        bucket = Bucket(target, settings)
        newest = bucket.newest_release()  # also proves the bucket is reachable and listable
        findings = [
            bucket.ownership(),
            bucket.public_access(),
            bucket.cors(origin),
            *bucket.samples(newest),
        ]
        bucket.lifecycle()
        results = dict(bucket.capabilities)
        if probe:
            probes = Probes(bucket)
            findings += probes.run()
            results.update(probes.capabilities)
            findings += _record(target, results)
        if distribution_id:
            # The URLs browsers use: those of the newest release, else the settings'.
            base_url = newest.base_url if newest is not None else settings.base_url
            client = cloudfront or cloudfront_client(settings, cloudfront_endpoint_url)
            try:
                findings += Distribution(client, distribution_id).check(base_url, newest)
            finally:
                if cloudfront is None:
                    client.close()
        return DoctorReport(target.describe(), tuple(findings), ordered(results))
    finally:
        if own_target:
            target.close()


def _record(target: S3Target, results: dict[str, CapabilityResult]) -> list[Finding]:
    """Write ``.hashstore/capabilities.json`` for publish; a finding only if that fails."""
    record = Capabilities(
        probed_at=datetime.now(timezone.utc),
        endpoint=target.endpoint_url,
        honoured={name: result.honoured for name, result in results.items()},
    )
    try:
        target.put_record(CAPABILITIES_KEY, record.to_json())
    except TargetError as exc:
        return [
            Finding(
                "record",
                "skipped",
                f"could not record what the store honours in {CAPABILITIES_KEY} "
                f"({render(exc.reason)}): publish will check the key around each multipart "
                "upload",
            )
        ]
    target.remember_capabilities(record)
    return []
