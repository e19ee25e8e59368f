"""Create-only multipart uploads on stores that ignore ``If-None-Match`` on completes.

Ceph's radosgw (16.2) completes a multipart upload over an existing key whatever the header
says, so unless ``hashstore doctor`` recorded that the store honours it, an upload is guarded:
a ``HeadObject`` right before ``CompleteMultipartUpload`` and one right after, which compares the
stored ETag with the multipart ETag computed from the parts. These tests run on moto and on
radosgw (``make test-rgw``); the other writer is forced in with botocore's event hooks on the
target's own client, at the exact moment of the race.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hashstore.errors import TargetError
from hashstore.publish import publish
from hashstore.settings import MIB
from hashstore.targets.s3 import S3Target
from hashstore.targets.s3_multipart import multipart_etag

from .conftest import STORE
from .test_s3_target import (
    TargetFactory,
    make_file,
    multipart_settings,
    record_capabilities,
)

if TYPE_CHECKING:
    from hashstore.settings import Settings

    from .conftest import S3Bucket
    from .s3proxy import S3Proxy


@pytest.fixture
def target_for() -> Iterator[TargetFactory]:
    """``target_for(settings)``: an S3Target closed at the end of the test."""
    targets: list[S3Target] = []

    def make(settings: Settings) -> S3Target:
        targets.append(S3Target(settings))
        return targets[-1]

    yield make
    for target in targets:
        target.close()


def other_writer(bucket: S3Bucket, key: str, body: bytes) -> Any:
    """A botocore hook that stores ``body`` under ``key`` once, as another publisher would."""
    done: list[bool] = []

    def hook(**kwargs: Any) -> None:
        if not done:
            done.append(True)
            bucket.client.put_object(Bucket=bucket.name, Key=bucket.prefix + key, Body=body)

    return hook


def test_a_guarded_upload_checks_before_and_after_completing(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    data = os.urandom(5 * MIB) + b"tail"  # 2 parts
    file = make_file(tmp_path, "big.bin", data)
    target = target_for(multipart_settings(s3_bucket, endpoint_url=s3_proxy.url))

    assert target.put_if_absent(file) is True  # no probe record: guarded

    assert s3_bucket.get(file.key) == data
    assert s3_proxy.operations["HeadObject"] == 2  # the two extra requests of a guarded upload
    assert s3_proxy.operations["CompleteMultipartUpload"] == 1
    heads = [r.operation for r in s3_proxy.requests if r.operation != "UploadPart"]
    assert heads[-3:] == ["HeadObject", "CompleteMultipartUpload", "HeadObject"]
    md5s = [hashlib.md5(data[: 5 * MIB]).digest(), hashlib.md5(data[5 * MIB :]).digest()]
    stored = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=s3_bucket.prefix + file.key)
    assert stored["ETag"].strip('"') == multipart_etag(md5s)


def test_a_record_that_the_store_honours_completes_drops_the_guard(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    file = make_file(tmp_path, "big.bin", os.urandom(6 * MIB))
    target = target_for(multipart_settings(s3_bucket, endpoint_url=s3_proxy.url))
    record_capabilities(target, {"conditional-complete": True})

    assert target.put_if_absent(file) is True

    assert s3_proxy.operations["HeadObject"] == 0
    assert s3_proxy.operations["GetObject"] == 1  # the record, once per target


def test_without_conditional_writes_uploads_stay_guarded(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    file = make_file(tmp_path, "big.bin", os.urandom(6 * MIB))
    settings = multipart_settings(s3_bucket, endpoint_url=s3_proxy.url, conditional_writes=False)
    target = target_for(settings)
    record_capabilities(target, {"conditional-complete": True})

    assert target.put_if_absent(file) is True

    assert s3_proxy.operations["HeadObject"] == 2
    [complete] = s3_proxy.requests_for("CompleteMultipartUpload")
    assert "if-none-match" not in complete.headers


def test_the_guard_costs_two_requests_per_multipart_file_and_nothing_else(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    """The same tree published twice, each into a prefix whose probe record says the store
    ignores (then honours) conditional completes: the only difference is two HeadObjects per
    multipart file (docs/s3-compatible.md says so); single-part files cost nothing more."""
    source = tmp_path / "src"
    source.mkdir()
    multipart = 3
    for number in range(multipart):
        (source / f"big-{number}.bin").write_bytes(os.urandom(5 * MIB + 1000))  # 2 parts
    (source / "app.css").write_text("body { color: red }\n")
    (source / "app.js").write_text("console.log('hashstore')\n")
    counted: dict[bool, Counter[str]] = {}
    for honours in (False, True):
        prefix = f"honours-{str(honours).lower()}/"
        settings = multipart_settings(
            s3_bucket,
            target=f"s3://{s3_bucket.name}/{s3_bucket.prefix}{prefix}",
            endpoint_url=s3_proxy.url,
            sources=(source,),
            manifest=tmp_path / f"{prefix.rstrip('/')}.json",
        )
        record_capabilities(target_for(settings), {"conditional-complete": honours})
        s3_proxy.reset()
        assert len(publish(settings).uploaded) == multipart + 2
        counted[honours] = s3_proxy.operations.copy()

    assert counted[True]["HeadObject"] == 0
    assert counted[False] - counted[True] == Counter({"HeadObject": 2 * multipart})
    assert counted[True] - counted[False] == Counter()
    doc = (Path(__file__).parent.parent / "docs" / "s3-compatible.md").read_text()
    assert "each multipart file costs two\nrequests more (the two `HeadObject`s)" in doc


@pytest.mark.parametrize("same_bytes", [True, False], ids=["same-bytes", "other-bytes"])
def test_a_key_stored_while_the_parts_go_up_is_never_replaced(
    same_bytes: bool, s3_bucket: S3Bucket, target_for: TargetFactory, tmp_path: Path
) -> None:
    """The issue's case: on radosgw, completing over an existing key replaced it silently."""
    data = os.urandom(6 * MIB)
    file = make_file(tmp_path, "big.bin", data)
    theirs = data if same_bytes else os.urandom(len(data))
    target = target_for(multipart_settings(s3_bucket))
    target.client.meta.events.register(
        "before-call.s3.UploadPart", other_writer(s3_bucket, file.key, theirs)
    )

    if same_bytes:
        assert target.put_if_absent(file) is False  # another publisher of this build: fine
    else:
        with pytest.raises(TargetError, match="already holds other bytes") as info:
            target.put_if_absent(file)
        assert info.value.key == file.key
        assert file.key in str(info.value)

    assert s3_bucket.get(file.key) == theirs  # never replaced
    assert not s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name).get("Uploads")


def test_a_writer_racing_the_complete_is_reported_naming_the_key(
    s3_bucket: S3Bucket, target_for: TargetFactory, tmp_path: Path
) -> None:
    """A write that lands between the complete and the check after it: no request can stop it
    on a store that ignores If-None-Match on completes, so it must be reported."""
    file = make_file(tmp_path, "big.bin", os.urandom(6 * MIB))
    theirs = os.urandom(6 * MIB)
    target = target_for(multipart_settings(s3_bucket))
    target.client.meta.events.register(
        "after-call.s3.CompleteMultipartUpload", other_writer(s3_bucket, file.key, theirs)
    )

    with pytest.raises(TargetError, match="another writer stored this key") as info:
        target.put_if_absent(file)

    assert info.value.key == file.key
    assert target.url_for_key(file.key) in str(info.value)
    assert hashlib.md5(theirs).hexdigest() in str(info.value)  # their ETag, shown


@pytest.mark.skipif(STORE == "real", reason="the outcome is the store's: moto's, radosgw's known")
def test_a_writer_between_the_check_and_the_complete_is_the_window_left(
    s3_bucket: S3Bucket, target_for: TargetFactory, tmp_path: Path
) -> None:
    """The one window the guard leaves, pinned as docs/s3-compatible.md describes it: a write
    landing after the HeadObject and before CompleteMultipartUpload. A store that honours
    If-None-Match on completes (moto) refuses the complete; radosgw 16.2 completes over it,
    and nothing can tell afterwards (the key holds this upload's bytes, as checked)."""
    data = os.urandom(6 * MIB)
    file = make_file(tmp_path, "big.bin", data)
    theirs = os.urandom(6 * MIB)
    target = target_for(multipart_settings(s3_bucket))
    target.client.meta.events.register(
        "before-call.s3.CompleteMultipartUpload", other_writer(s3_bucket, file.key, theirs)
    )

    if STORE == "radosgw":
        assert target.put_if_absent(file) is True
        assert s3_bucket.get(file.key) == data
    else:
        with pytest.raises(TargetError, match="already holds other bytes"):
            target.put_if_absent(file)
        assert s3_bucket.get(file.key) == theirs


# -- stores that keep a damaged body (no checksum enforcement) --------------------------------


def unchecking_store(target: S3Target) -> None:
    """The probe record of a store that ignores a wrong SHA-256 and whose ETags are MD5s."""
    record_capabilities(target, {"checksum-enforced": False, "etag-md5": True})


# radosgw checks the SigV4 payload hash botocore signs over plain http, so it refuses the
# proxy's damaged bodies itself before any ETag is compared.
@pytest.mark.moto_only
def test_a_damaged_part_is_caught_by_its_etag_and_never_completed(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    file = make_file(tmp_path, "big.bin", os.urandom(6 * MIB))
    target = target_for(multipart_settings(s3_bucket, endpoint_url=s3_proxy.url))
    unchecking_store(target)
    s3_proxy.set_faults(corrupt_rate=1.0, operations=frozenset({"UploadPart"}))

    with pytest.raises(TargetError, match=r"part \d's ETag is .*, its MD5 .*damaged") as info:
        target.put_if_absent(file)

    assert info.value.key == file.key
    assert "sent 3 times" in str(info.value)  # each attempt read again and sent again
    assert s3_proxy.operations["CompleteMultipartUpload"] == 0
    stored = s3_bucket.keys()
    assert file.key not in stored
    assert not s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name).get("Uploads")


# radosgw checks the SigV4 payload hash botocore signs over plain http, so it refuses the
# proxy's damaged bodies itself before any ETag is compared.
@pytest.mark.moto_only
def test_a_damaged_single_part_upload_is_reported_naming_the_key(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    file = make_file(tmp_path, "css/app.css", b"body { color: red }\n" * 100)
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url))
    unchecking_store(target)
    s3_proxy.set_faults(corrupt_rate=1.0, operations=frozenset({"PutObject"}))

    with pytest.raises(TargetError, match="holds other bytes than") as info:
        target.put_if_absent(file)

    assert info.value.key == file.key
    assert hashlib.md5(file.source.read_bytes()).hexdigest() in str(info.value)


# radosgw checks the SigV4 payload hash botocore signs over plain http, so it refuses the
# proxy's damaged bodies itself before any ETag is compared.
@pytest.mark.moto_only
def test_where_the_store_checks_sha256_no_etag_is_compared(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    """On AWS (checksums enforced) the record drops the check: a damaged body is refused there,
    so here, on a store that keeps it, the damage goes unnoticed, as it should cost nothing."""
    file = make_file(tmp_path, "css/app.css", b"body { color: red }\n" * 100)
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url))
    record_capabilities(target, {"checksum-enforced": True, "etag-md5": True})
    s3_proxy.set_faults(corrupt_rate=1.0, operations=frozenset({"PutObject"}))

    assert target.put_if_absent(file) is True
    assert s3_bucket.get(file.key) != file.source.read_bytes()
