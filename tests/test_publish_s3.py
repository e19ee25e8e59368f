"""Publishing to S3 through the fault-injecting proxy: what a user sees when uploads fail, and
that faults never leave a release record or manifest naming objects that are not intact.

The proxy checks upload checksums as S3 does (``verify_checksums``); moto alone would store a
corrupted body.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.retries.standard import ExponentialBackoff

from hashstore.errors import PublishError, TargetError
from hashstore.manifest import Manifest
from hashstore.publish import pending_marker, publish
from hashstore.settings import MIB
from hashstore.targets import s3 as s3_module
from hashstore.targets.base import (
    PENDING_PREFIX,
    PRUNE_LOCK_KEY,
    RELEASES_PREFIX,
    pending_key,
)

from .helpers import make_tree
from .s3proxy import Faults

if TYPE_CHECKING:
    from hashstore.settings import Settings

    from .conftest import S3Bucket
    from .s3proxy import S3Proxy


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's real retry logic with 1 ms pauses (SlowDown backs off for up to seconds)."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.001)
    monkeypatch.setattr(s3_module, "CONFLICT_BACKOFF", 0.001)


def tree(count: int, *, big: bool = False) -> dict[str, str | bytes]:
    """``count`` small files of a few kinds (and one 6 MiB file, uploaded in parts, if ``big``)."""
    kinds = ("css/c{}.css", "js/m{}.js", "img/i{}.png", "fonts/f{}.woff2")
    files: dict[str, str | bytes] = {}
    for i in range(count - 1 if big else count):
        name = kinds[i % len(kinds)].format(i)
        files[name] = f"/* file {i} */\n".encode() + bytes([i % 256]) * (200 + 37 * i)
    if big:
        files["video/big.mp4"] = bytes(range(256)) * (6 * MIB // 256) + b"tail"
    return files


def settings_for(
    bucket: S3Bucket, proxy: S3Proxy, tmp_path: Path, files: dict[str, str | bytes], **changes: Any
) -> Settings:
    make_tree(tmp_path / "src", files)
    return bucket.settings(
        sources=(tmp_path / "src",),
        manifest=tmp_path / "hashstore.json",
        endpoint_url=proxy.url,
        multipart_threshold=5 * MIB,
        multipart_chunksize=5 * MIB,
        **changes,
    )


def release_records(bucket: S3Bucket) -> list[str]:
    stored = bucket.keys()
    return [key for key in stored if key.startswith(RELEASES_PREFIX)]


def assert_published_intact(bucket: S3Bucket, settings: Settings, files: dict[str, Any]) -> None:
    """The manifest names every file; each stored object's bytes have its SHA-256; the release
    record is there."""
    manifest = Manifest.load(settings.manifest)
    assert set(manifest) == set(files)
    for name, entry in manifest.items():
        data = bucket.get(entry.key)
        assert hashlib.sha256(data).hexdigest() == entry.sha256, name
        assert len(data) == entry.size
    assert release_records(bucket) == [f"{RELEASES_PREFIX}{manifest.release}.json"]


def assert_failed_cleanly(bucket: S3Bucket, settings: Settings, files: dict[str, Any]) -> None:
    """No release record, no manifest, and whatever was stored is whole (never half-written);
    under ``.hashstore/`` at most the pending marker."""
    assert not settings.manifest.exists()
    assert release_records(bucket) == []
    digests = {
        hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()
        for data in files.values()
    }
    stored = bucket.keys()
    own = [key for key in stored if key.startswith(".hashstore/")]
    assert all(key.startswith(PENDING_PREFIX) for key in own), own
    for key in own:
        assert Manifest.parse(bucket.get(key)).release in key
    for key in set(stored) - set(own):
        digest = hashlib.sha256(bucket.get(key)).hexdigest()
        assert digest in digests, f"{key} holds bytes of no file of the build"


# -- many failures, one reason --------------------------------------------------------------


def test_uploads_denied_alike_report_the_reason_once(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    files = tree(13)
    settings = settings_for(s3_bucket, s3_proxy, tmp_path, files, retries=1)
    s3_proxy.inject(403, "AccessDenied", "Access Denied", operation="PutObject", times=None)

    with pytest.raises(PublishError) as info:
        publish(settings)

    message = str(info.value)
    keys = sorted(key for key, _ in info.value.failures)
    assert len(keys) == 13
    assert message.startswith("13 object(s) could not be published; no release record")
    reason = (
        f"PutObject {s3_bucket.target}: access denied: the credentials in use need s3:PutObject "
        f"on arn:aws:s3:::{s3_bucket.name}/{s3_bucket.prefix}*; grant it in the IAM or bucket "
        "policy"
    )
    assert message.count("access denied") == 1
    # The pending marker failed alike: it joins the same line instead of a warning of its own.
    marker = info.value.marker
    assert marker is not None
    assert marker[1] == reason
    assert (
        f"  {reason}\n    (13 object(s): {', '.join(keys[:5])} and 8 more; and the pending "
        f"marker {marker[0]})"
    ) in message
    assert {failure for _, failure in info.value.failures} == {reason}
    assert_failed_cleanly(s3_bucket, settings, files)
    assert s3_bucket.keys() == []


def test_failures_of_different_reasons_are_listed_apart(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    files = tree(6)
    settings = settings_for(s3_bucket, s3_proxy, tmp_path, files, jobs=1, retries=1)
    # Three: the first PutObject is the pending marker's (publish goes on without it).
    s3_proxy.inject(400, "AccessControlListNotSupported", operation="PutObject", times=3)
    s3_proxy.inject(403, "AccessDenied", operation="PutObject", times=3)

    with pytest.raises(PublishError) as info:
        publish(settings)

    message = str(info.value)
    assert message.startswith("5 object(s) could not be published")
    assert message.count("ACLs disabled") == 1
    assert message.count("access denied") == 1
    assert "\n    (2 object(s): " in message
    assert "\n    (3 object(s): " in message
    assert len(s3_bucket.keys()) == 1  # the sixth, stored: a rerun uploads only the others
    assert_failed_cleanly(s3_bucket, settings, files)


# -- bodies corrupted in flight -------------------------------------------------------------


def test_bodies_corrupted_in_flight_are_sent_again_and_the_publish_succeeds(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    files = tree(24, big=True)
    # One worker: requests reach the proxy in a fixed order, so the seed fixes which are hit.
    settings = settings_for(s3_bucket, s3_proxy, tmp_path, files, jobs=1)
    s3_proxy.faults = Faults(
        corrupt_rate=0.3,
        operations=frozenset({"PutObject", "UploadPart"}),
        verify_checksums=True,
        seed=1,  # hits a single PUT and a part, and one body on two attempts
    )

    report = publish(settings)

    assert len(report.uploaded) == len(files)
    corrupted = [r for r in s3_proxy.requests if r.fault == "corrupt"]
    assert {r.operation for r in corrupted} == {"PutObject", "UploadPart"}
    assert max(Counter(r.path for r in corrupted).values()) == 2  # one body sent three times
    s3_proxy.faults = Faults()
    assert_published_intact(s3_bucket, settings, files)


def test_a_body_corrupted_on_every_attempt_fails_with_the_checksum_message(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    files = tree(8)
    settings = settings_for(s3_bucket, s3_proxy, tmp_path, files)
    s3_proxy.faults = Faults(corrupt_rate=1.0, verify_checksums=True)

    with pytest.raises(PublishError) as info:
        publish(settings)

    message = str(info.value)
    assert message.startswith("8 object(s) could not be published")
    assert message.count("its checksum does not match") == 1
    assert (
        f"PutObject {s3_bucket.target}: the store rejected the body of the request: its checksum "
        "does not match (the store said: BadDigest: " in message
    )
    assert "the network corrupted it; rerun (sent 3 times, rejected each time)\n" in message
    assert "(8 object(s): " in message
    assert s3_proxy.operations["PutObject"] == (1 + 8) * s3_module.BODY_ATTEMPTS  # marker too
    assert_failed_cleanly(s3_bucket, settings, files)
    assert s3_bucket.keys() == []


# -- any mix of faults: intact, or nothing recorded -----------------------------------------

FAULTS = Faults(
    error_rate=0.1, reset_rate=0.05, reset_after_rate=0.05, corrupt_rate=0.1, verify_checksums=True
)
"""About one request in ten answered 500/503, one in ten reset (before or after the store
executed it), one PUT body in ten corrupted."""


@pytest.mark.parametrize(
    ("seed", "status"),
    [(1, 503), (2, 500), (3, 503), (4, 500), (5, 503), (6, 500)],
)
def test_a_publish_under_faults_is_intact_or_records_nothing(
    seed: int,
    status: int,
    s3_bucket: S3Bucket,
    s3_proxy: S3Proxy,
    tmp_path: Path,
    fast_backoff: None,
) -> None:
    files = tree(60, big=True)
    settings = settings_for(s3_bucket, s3_proxy, tmp_path, files, jobs=8)
    s3_proxy.faults = replace(FAULTS, error_status=status, seed=seed)

    try:
        publish(settings)
    except TargetError:  # PublishError, or the release record's upload failed
        s3_proxy.faults = Faults()
        assert_failed_cleanly(s3_bucket, settings, files)
    else:
        s3_proxy.faults = Faults()
        assert_published_intact(s3_bucket, settings, files)
    assert any(r.fault is not None for r in s3_proxy.requests)


def test_a_publish_under_faults_succeeds_for_a_fixed_seed(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path, fast_backoff: None
) -> None:
    """With failed requests retried by botocore and rejected bodies sent again, ten percent of
    faults of each kind do not stop a publish (one worker: the seed fixes which requests fail)."""
    files = tree(60, big=True)
    settings = settings_for(s3_bucket, s3_proxy, tmp_path, files, jobs=1)
    s3_proxy.faults = replace(FAULTS, error_status=503, seed=1)

    report = publish(settings)

    assert len(report.uploaded) + len(report.raced) == len(files)
    faults = [r.fault for r in s3_proxy.requests if r.fault is not None]
    assert {"error", "reset", "reset-after", "corrupt"} <= set(faults)
    s3_proxy.faults = Faults()
    assert_published_intact(s3_bucket, settings, files)


# -- requests per publish --------------------------------------------------------------------


def test_request_counts_cold_warm_and_beside_a_prune(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    """Past 1,000 keys (two listing pages): cold is N + ceil(N/1000) + 3 at most, warm
    ceil(K/1000) + 2 (the pending marker, the listing, the record); the second listing only
    while a prune holds its lock."""
    kinds = ("css/c{}.css", "js/m{}.js", "img/i{}.png", "d{}.txt")
    files: dict[str, str | bytes] = {
        kinds[i % len(kinds)].format(i): f"/* {i} */\n" for i in range(1100)
    }
    n = len(files)
    settings = settings_for(s3_bucket, s3_proxy, tmp_path, files, jobs=32)

    cold = publish(settings)
    assert len(cold.uploaded) == n
    assert s3_proxy.total <= n + math.ceil(n / 1000) + 3, s3_proxy.operations
    assert s3_proxy.operations["PutObject"] == n + 2  # the objects, the marker, the record
    assert s3_proxy.operations["ListObjectsV2"] == 1
    release = cold.manifest.release
    marker = s3_bucket.client.head_object(
        Bucket=s3_bucket.name, Key=s3_bucket.prefix + pending_key(release)
    )
    assert (marker["CacheControl"], marker["ContentType"]) == ("no-cache", "application/json")
    assert s3_bucket.get(pending_key(release)) == pending_marker(cold.manifest)

    k = len(s3_bucket.keys())  # the objects, the record and the marker
    assert math.ceil(k / 1000) == 2
    s3_proxy.reset()
    warm = publish(settings)
    assert warm.uploaded == warm.restored == ()
    assert s3_proxy.total <= math.ceil(k / 1000) + 2, s3_proxy.operations
    assert s3_proxy.operations == Counter({"PutObject": 2, "ListObjectsV2": 2})
    puts = [r.path for r in s3_proxy.requests_for("PutObject")]
    assert puts[0].endswith(pending_key(release))  # before the listing
    assert puts[1].endswith(f"{RELEASES_PREFIX}{release}.json")
    assert s3_proxy.counts["DELETE"] == 0

    s3_bucket.client.put_object(
        Bucket=s3_bucket.name, Key=s3_bucket.prefix + PRUNE_LOCK_KEY, Body=b"{}"
    )
    s3_proxy.reset()
    beside = publish(settings)
    assert beside.plan.prune_running
    assert beside.uploaded == beside.restored == ()
    assert s3_proxy.operations == Counter({"PutObject": 2, "ListObjectsV2": 2 + 2})
