"""``hashstore doctor`` against buckets (and distributions) set up with each problem.

Bucket settings are changed over HTTP, so these tests run on moto and radosgw but never on a
real store (they would change a real bucket's ownership, CORS and public access settings); those
that need moto's own answers are ``moto_only``, each saying why. CloudFront runs on the
same moto server where moto implements it (``GetDistributionConfig`` with legacy cache
settings); cache policies, which moto lacks, go through botocore's ``Stubber`` and say so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from hashstore.cli import main
from hashstore.doctor import DoctorReport, Finding, doctor
from hashstore.errors import ConfigError
from hashstore.settings import Settings

from .conftest import STORE, S3Bucket
from .s3proxy import S3Proxy
from .test_releases import publish_release, release_files

pytestmark = pytest.mark.skipif(
    STORE == "real", reason="changes the bucket's ownership, CORS and public access settings"
)

ORIGIN = "https://www.example.com"


def by_check(report: DoctorReport) -> dict[str, Finding]:
    return {finding.check: finding for finding in report.findings}


def statuses(report: DoctorReport) -> dict[str, str]:
    return {finding.check: finding.status for finding in report.findings}


def probes_left(bucket: S3Bucket) -> list[str]:
    keys = bucket.keys()
    return [key for key in keys if key.startswith(".hashstore/probe/")]


def make_healthy(bucket: S3Bucket, *, origins: tuple[str, ...] = (ORIGIN,)) -> None:
    client, name = bucket.client, bucket.name
    client.put_bucket_ownership_controls(
        Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    client.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    client.put_bucket_cors(
        Bucket=name,
        CORSConfiguration={
            "CORSRules": [
                {"AllowedOrigins": list(origins), "AllowedMethods": ["GET", "HEAD"]},
            ]
        },
    )


@pytest.fixture
def checking_proxy(s3_proxy: S3Proxy) -> S3Proxy:
    """The store as S3 is: it rejects a body that does not match its checksum."""
    s3_proxy.set_faults(verify_checksums=True)
    return s3_proxy


# moto's answers; tests/test_doctor_probes.py has radosgw's.
@pytest.mark.moto_only
def test_a_new_moto_bucket_shows_every_bucket_problem(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    settings = s3_bucket.settings()
    publish_release(settings, release_files(1), work=tmp_path)
    report = doctor(settings)
    assert statuses(report) == {
        "ownership": "problem",
        "public-access": "problem",
        "cors": "problem",
        "cache-control": "ok",
        "conditional-writes": "ok",
        "checksums": "problem",  # moto keeps a body that does not match its checksum
        "multipart": "ok",
    }
    found = by_check(report)
    assert "ACLs are enabled (Object Ownership: ObjectWriter" in found["ownership"].message
    assert found["ownership"].fix.startswith(
        f"aws s3api put-bucket-ownership-controls --bucket {s3_bucket.name} "
    )
    assert "no Block Public Access configuration" in found["public-access"].message
    assert "no CORS rule allows GET from any origin" in found["cors"].message
    assert "put-bucket-cors" in found["cors"].fix
    assert "accepted a body that does not match" in found["checksums"].message
    assert "hashstore verify --deep" in found["checksums"].fix
    assert "second PutObject with If-None-Match: * got PreconditionFailed" in (
        found["conditional-writes"].message
    )
    assert not probes_left(s3_bucket)
    assert not report.ok


# radosgw refuses PutBucketOwnershipControls (InvalidArgument), which make_healthy calls.
@pytest.mark.moto_only
def test_a_well_set_bucket_is_healthy(
    s3_bucket: S3Bucket, checking_proxy: S3Proxy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_healthy(s3_bucket)
    publish_release(s3_bucket.settings(), release_files(1), work=tmp_path)
    args = ["doctor", "--to", s3_bucket.target, "--endpoint-url", checking_proxy.url]
    assert main([*args, "--origin", ORIGIN]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"no problems in {s3_bucket.target} at {checking_proxy.url}"
    assert main([*args, "--origin", ORIGIN, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {f["check"]: f["status"] for f in report["findings"]} == {
        "ownership": "ok",
        "public-access": "ok",
        "cors": "ok",
        "cache-control": "ok",
        "conditional-writes": "ok",
        "checksums": "ok",
        "multipart": "ok",
    }
    checksums = next(f for f in report["findings"] if f["check"] == "checksums")
    assert "rejects a body that does not match its SHA-256 (BadDigest)" in checksums["message"]
    assert "HeadObject returns it" in checksums["message"]
    assert not probes_left(s3_bucket)


# radosgw refuses PutBucketOwnershipControls (InvalidArgument), which make_healthy calls.
@pytest.mark.moto_only
def test_cors_must_allow_the_sites_origin(s3_bucket: S3Bucket) -> None:
    make_healthy(s3_bucket, origins=("https://other.example.org",))
    settings = s3_bucket.settings()
    found = by_check(doctor(settings, origin=ORIGIN, probe=False))["cors"]
    assert found.status == "problem"
    assert found.message.startswith(f"no CORS rule allows GET from {ORIGIN}")
    assert '"AllowedOrigins": ["https://www.example.com"]' in found.fix
    make_healthy(s3_bucket, origins=("https://*.example.com",))
    assert by_check(doctor(settings, origin=ORIGIN, probe=False))["cors"].status == "ok"


# radosgw refuses PutBucketOwnershipControls (InvalidArgument), which make_healthy calls.
@pytest.mark.moto_only
def test_an_acl_setting_on_a_bucket_without_acls(s3_bucket: S3Bucket) -> None:
    make_healthy(s3_bucket)
    found = by_check(doctor(s3_bucket.settings(acl="public-read"), probe=False))["ownership"]
    assert found.status == "problem"
    assert "every upload will be refused" in found.message
    assert found.fix.startswith("remove the `acl` setting")


def test_public_access_partly_open(s3_bucket: S3Bucket) -> None:
    s3_bucket.client.put_public_access_block(
        Bucket=s3_bucket.name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    found = by_check(doctor(s3_bucket.settings(), probe=False))["public-access"]
    assert found.status == "problem"
    assert "off for BlockPublicPolicy, RestrictPublicBuckets" in found.message


def test_sampled_objects_without_immutable_cache_control(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    settings = s3_bucket.settings()
    manifest = publish_release(settings, release_files(1), work=tmp_path)
    for entry in manifest.values():  # what an older tool (or a hand-made copy) left behind
        source = {"Bucket": s3_bucket.name, "Key": s3_bucket.prefix + entry.key}
        s3_bucket.client.copy_object(
            CopySource=source,
            MetadataDirective="REPLACE",
            CacheControl="max-age=300",
            ContentType="binary/octet-stream",
            **source,
        )
    report = doctor(settings, probe=False)
    found = by_check(report)
    assert found["cache-control"].status == "problem"
    key = manifest["css/app.css"].key
    assert f"{key} (max-age=300)" in found["cache-control"].message
    assert "--metadata-directive REPLACE --cache-control 'public, max-age=31536000, immutable'" in (
        found["cache-control"].fix
    )
    assert found["content-type"].status == "problem"
    assert f"{key} ('binary/octet-stream', expected 'text/css; charset=utf-8')" in (
        found["content-type"].message
    )


def test_no_release_yet(s3_bucket: S3Bucket) -> None:
    found = by_check(doctor(s3_bucket.settings(), probe=False))["cache-control"]
    assert found.status == "skipped"
    assert found.message == "no release published yet: no objects to sample"


def test_a_store_without_conditional_writes(s3_bucket: S3Bucket, s3_proxy: S3Proxy) -> None:
    s3_proxy.inject(
        501,
        "NotImplemented",
        "A header you provided implies functionality that is not implemented",
        operation="PutObject",
        fields={"Header": "If-None-Match"},
    )
    settings = s3_bucket.settings(endpoint_url=s3_proxy.url)
    found = by_check(doctor(settings))["conditional-writes"]
    assert found.status == "problem"
    assert "refuses PutObject with If-None-Match: * (NotImplemented" in found.message
    assert found.fix == "set conditional_writes = false (command line: --no-conditional-writes)"
    s3_proxy.inject(501, "NotImplemented", operation="PutObject")
    quiet = doctor(settings.with_changes(conditional_writes=False))
    assert by_check(quiet)["conditional-writes"].status == "ok"


def test_what_the_credentials_may_not_read_is_skipped(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy
) -> None:
    s3_proxy.inject(403, "AccessDenied", operation="GetBucketCors")
    s3_proxy.inject(403, "AccessDenied", operation="PutObject", times=None)
    report = doctor(s3_bucket.settings(endpoint_url=s3_proxy.url))
    found = by_check(report)
    assert found["cors"].status == "skipped"
    assert found["cors"].message == "access denied: the credentials need s3:GetBucketCORS to check"
    assert found["conditional-writes"].status == "skipped"
    assert found["checksums"].status == "skipped"


def test_a_directory_target_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="doctor checks S3 buckets"):
        doctor(Settings(target=str(tmp_path)))
    assert main(["doctor", "--to", str(tmp_path)]) == 1
    assert "not an s3:// URL" in capsys.readouterr().err


# -- CloudFront ---------------------------------------------------------------------------


@pytest.fixture
def cloudfront(moto_server: str) -> Iterator[Any]:
    client = boto3.session.Session().client(
        "cloudfront", endpoint_url=moto_server, region_name="us-east-1"
    )
    try:
        yield client
    finally:
        client.close()


def _behavior(*, query_string: bool, compress: bool, pattern: str | None = None) -> dict[str, Any]:
    behavior: dict[str, Any] = {
        "TargetOriginId": "bucket",
        "ViewerProtocolPolicy": "redirect-to-https",
        "ForwardedValues": {"QueryString": query_string, "Cookies": {"Forward": "none"}},
        "MinTTL": 0,
        "Compress": compress,
    }
    if pattern is not None:
        behavior["PathPattern"] = pattern
    return behavior


def make_distribution(
    cloudfront: Any,
    *,
    query_string: bool,
    compress: bool,
    ttl_404: int | None,
    assets: dict[str, Any] | None = None,
) -> str:
    config: dict[str, Any] = {
        "CallerReference": f"hashstore-test-{query_string}-{compress}-{ttl_404}-{bool(assets)}",
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "bucket",
                    "DomainName": "assets.s3.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": _behavior(query_string=query_string, compress=compress),
        "Comment": "",
        "Enabled": True,
    }
    if ttl_404 is not None:
        config["CustomErrorResponses"] = {
            "Quantity": 1,
            "Items": [{"ErrorCode": 404, "ErrorCachingMinTTL": ttl_404}],
        }
    if assets is not None:
        config["CacheBehaviors"] = {"Quantity": 1, "Items": [assets]}
    answer = cloudfront.create_distribution(DistributionConfig=config)
    return str(answer["Distribution"]["Id"])


# CloudFront is moto's (radosgw has none).
@pytest.mark.moto_only
def test_a_distribution_with_every_problem(
    s3_bucket: S3Bucket, cloudfront: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    distribution = make_distribution(cloudfront, query_string=True, compress=False, ttl_404=300)
    settings = s3_bucket.settings(base_url="https://cdn.example.com/static/")
    report = doctor(settings, distribution_id=distribution, cloudfront=cloudfront, probe=False)
    found = by_check(report)
    assert found["query-strings"].status == "problem"
    assert "default cache behavior puts query strings in the cache key" in (
        found["query-strings"].message
    )
    assert "CachingOptimized" in found["query-strings"].fix
    assert found["error-caching"].status == "problem"
    assert "404 for 300 s" in found["error-caching"].message
    assert found["compression"].status == "problem"
    assert "Compress=true" in found["compression"].fix

    args = ["doctor", "--to", s3_bucket.target, "--endpoint-url", s3_bucket.endpoint_url]
    args += ["--distribution-id", distribution, "--cloudfront-endpoint-url", s3_bucket.endpoint_url]
    assert main([*args, "--no-probe"]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM  query-strings" in out
    assert "fix: use the managed cache policy CachingOptimized" in out


# CloudFront is moto's (radosgw has none).
@pytest.mark.moto_only
def test_a_well_set_distribution(s3_bucket: S3Bucket, cloudfront: Any) -> None:
    distribution = make_distribution(cloudfront, query_string=False, compress=True, ttl_404=5)
    report = doctor(
        s3_bucket.settings(), distribution_id=distribution, cloudfront=cloudfront, probe=False
    )
    assert {c: statuses(report)[c] for c in ("query-strings", "error-caching", "compression")} == {
        "query-strings": "ok",
        "error-caching": "ok",
        "compression": "ok",
    }


# CloudFront is moto's (radosgw has none).
@pytest.mark.moto_only
def test_the_behavior_serving_the_assets_is_the_one_checked(
    s3_bucket: S3Bucket, cloudfront: Any
) -> None:
    assets = _behavior(query_string=False, compress=True, pattern="/static/*")
    distribution = make_distribution(
        cloudfront, query_string=True, compress=False, ttl_404=None, assets=assets
    )
    served = s3_bucket.settings(base_url="https://cdn.example.com/static/")
    report = doctor(served, distribution_id=distribution, cloudfront=cloudfront, probe=False)
    found = by_check(report)
    assert found["query-strings"].message.startswith("the cache behavior /static/* ignores")
    assert found["compression"].status == "ok"
    elsewhere = s3_bucket.settings(base_url="https://cdn.example.com/assets/")
    report = doctor(elsewhere, distribution_id=distribution, cloudfront=cloudfront, probe=False)
    assert by_check(report)["query-strings"].status == "problem"


# CloudFront is moto's (radosgw has none).
@pytest.mark.moto_only
def test_an_unknown_distribution(s3_bucket: S3Bucket, cloudfront: Any) -> None:
    report = doctor(
        s3_bucket.settings(), distribution_id="E000000NOPE", cloudfront=cloudfront, probe=False
    )
    found = by_check(report)["cloudfront"]
    assert found.status == "problem"
    assert found.message == "distribution E000000NOPE does not exist (NoSuchDistribution)"


def test_a_cache_policy_is_read_stubbed(s3_bucket: S3Bucket) -> None:
    """Stubbed with botocore's Stubber: moto implements no cache policies."""
    client = boto3.session.Session().client("cloudfront", region_name="us-east-1")
    behavior = {
        "TargetOriginId": "bucket",
        "ViewerProtocolPolicy": "redirect-to-https",
        "CachePolicyId": "policy-1",
        "Compress": True,
    }
    config = {
        "CallerReference": "stub",
        "Origins": {"Quantity": 1, "Items": [{"Id": "bucket", "DomainName": "b.s3.amazonaws.com"}]},
        "DefaultCacheBehavior": behavior,
        "Comment": "",
        "Enabled": True,
    }
    policy = {
        "Name": "all-query-strings",
        "MinTTL": 1,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": False,
            "EnableAcceptEncodingBrotli": False,
            "HeadersConfig": {"HeaderBehavior": "none"},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "all"},
        },
    }
    with Stubber(client) as stub:
        stub.add_response(
            "get_distribution_config",
            {"DistributionConfig": config, "ETag": "E1"},
            {"Id": "EDIST"},
        )
        stub.add_response(
            "get_cache_policy",
            {
                "CachePolicy": {
                    "Id": "policy-1",
                    "LastModifiedTime": "2026-01-01T00:00:00Z",
                    "CachePolicyConfig": policy,
                }
            },
            {"Id": "policy-1"},
        )
        report = doctor(
            s3_bucket.settings(), distribution_id="EDIST", cloudfront=client, probe=False
        )
        stub.assert_no_pending_responses()
    found = by_check(report)
    assert found["query-strings"].status == "problem"
    assert (
        "cache policy 'all-query-strings' (QueryStringBehavior all)"
        in found["query-strings"].message
    )
    assert found["compression"].status == "problem"
    assert "enables neither gzip nor Brotli" in found["compression"].message
    assert found["error-caching"].status == "ok"  # no custom error responses: CloudFront's 10 s


def test_a_store_without_the_bucket_apis_gets_them_skipped_and_the_probes_still_run(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy
) -> None:
    # The proxy names bucket sub-resource GETs "GetBucket" + the query parameter.
    for operation in ("GetBucketOwnershipcontrols", "GetBucketPublicaccessblock", "GetBucketCors"):
        s3_proxy.inject(501, "NotImplemented", operation=operation)
    report = doctor(s3_bucket.settings(endpoint_url=s3_proxy.url), origin="https://example.com")
    found = {f.check: f for f in report.findings}
    for check in ("ownership", "public-access", "cors"):
        assert found[check].status == "skipped"
        assert "NotImplemented" in found[check].message
    assert found["conditional-writes"].status == "ok"
