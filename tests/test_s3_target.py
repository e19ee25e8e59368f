"""S3Target over real HTTP: moto's server, through the fault-injecting proxy where requests are
counted or faults injected.

moto does not produce every error S3 does; those are injected at the proxy as S3 XML errors
(``S3Proxy.inject``), so botocore parses them exactly as it would S3's. moto does not verify
upload checksums either; the proxy can (``verify_checksums``), as S3 does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.retries.standard import ExponentialBackoff

from hashstore.build import BuiltFile
from hashstore.errors import ConfigError, TargetError
from hashstore.settings import MIB
from hashstore.spelling import render
from hashstore.targets import s3 as s3_module
from hashstore.targets.capabilities import CAPABILITIES_KEY, Capabilities
from hashstore.targets.s3 import S3Target, parse_s3_url

from .conftest import STORE
from .s3proxy import Faults

if TYPE_CHECKING:
    from hashstore.settings import Settings

    from .conftest import S3Bucket
    from .s3proxy import S3Proxy


def b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def make_file(tmp_path: Path, name: str, data: bytes, *, in_memory: bool = False) -> BuiltFile:
    """A BuiltFile for ``data`` with a hashed key, its bytes on disk (or in memory)."""
    digest = hashlib.sha256(data).hexdigest()
    stem, dot, ext = name.rpartition(".")
    key = f"{stem}.{digest[:12]}.{ext}" if dot else f"{name}.{digest[:12]}"
    source = tmp_path / "src" / name
    source.parent.mkdir(parents=True, exist_ok=True)
    if not in_memory:
        source.write_bytes(data)
    return BuiltFile(
        name=name,
        key=key,
        digest=digest,
        size=len(data),
        source=source,
        content=data if in_memory else None,
    )


TargetFactory = Callable[["Settings"], S3Target]


def record_capabilities(target: S3Target, honoured: dict[str, bool | None]) -> None:
    """Store a probe record as ``hashstore doctor`` would, saying what the store honours."""
    record = Capabilities(datetime.now(timezone.utc), target.endpoint_url, honoured)
    target.put_record(CAPABILITIES_KEY, record.to_json())


@pytest.fixture
def target_for() -> Iterator[TargetFactory]:
    """``target_for(settings)``: an S3Target closed at the end of the test."""
    targets: list[S3Target] = []

    def make(settings: Settings) -> S3Target:
        target = S3Target(settings)
        targets.append(target)
        return target

    yield make
    for target in targets:
        target.close()


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's real retry logic with 1 ms pauses (SlowDown backs off for up to seconds)."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.001)
    monkeypatch.setattr(s3_module, "CONFLICT_BACKOFF", 0.001)


def seed_objects(bucket: S3Bucket, keys: list[str]) -> None:
    """Put empty-ish objects under the bucket's prefix, fast (moto's backend directly)."""
    if STORE == "moto":
        from moto.s3.models import s3_backends

        backend = s3_backends["123456789012"]["aws"]
        for key in keys:
            backend.put_object(bucket.name, bucket.prefix + key, b"x" * 3)
        return
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda k: bucket.client.put_object(
                    Bucket=bucket.name, Key=bucket.prefix + k, Body=b"x" * 3
                ),
                keys,
            )
        )


def puts(proxy: S3Proxy) -> list[dict[str, str]]:
    return [r.headers for r in proxy.requests_for("PutObject")]


# -- target URL ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "bucket", "prefix"),
    [
        ("s3://assets", "assets", ""),
        ("s3://assets/", "assets", ""),
        ("s3://assets/static", "assets", "static/"),
        ("s3://assets/static/", "assets", "static/"),
        ("s3://assets/site/static/", "assets", "site/static/"),
    ],
)
def test_parse_s3_url(target: str, bucket: str, prefix: str) -> None:
    assert parse_s3_url(target) == (bucket, prefix)


def test_describe_and_url_for_key(s3_bucket: S3Bucket, target_for: TargetFactory) -> None:
    target = target_for(s3_bucket.settings())
    assert target.describe() == f"{s3_bucket.target} at {s3_bucket.endpoint_url}"
    assert target.url_for_key("css/a.css") == f"{s3_bucket.target}css/a.css"


def test_unknown_object_parameter_is_a_config_error(s3_bucket: S3Bucket) -> None:
    settings = s3_bucket.settings(object_parameters={"*.pdf": {"ContentDispositon": "attachment"}})
    with pytest.raises(ConfigError, match=r"object_parameters\['\*\.pdf'\].*ContentDispositon"):
        S3Target(settings)


def test_reserved_object_parameter_is_a_config_error(s3_bucket: S3Bucket) -> None:
    settings = s3_bucket.settings(object_parameters={"*": {"IfNoneMatch": "*"}})
    with pytest.raises(ConfigError, match="IfNoneMatch"):
        S3Target(settings)


# -- upload ---------------------------------------------------------------------------------


@pytest.mark.store_checksums("HeadObject must return the SHA-256 the upload sent")
def test_put_stores_bytes_headers_and_checksum(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    data = b"body { color: red }\n"
    file = make_file(tmp_path, "css/app.css", data)
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url))

    assert target.put_if_absent(file) is True

    assert s3_bucket.get(file.key) == data
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=s3_bucket.prefix + file.key)
    assert head["ContentType"] == "text/css; charset=utf-8"
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    info = target.stat(file.key)
    assert info is not None
    assert (info.size, info.sha256) == (len(data), file.digest)
    assert info.content_type == "text/css; charset=utf-8"
    [sent] = puts(s3_proxy)
    assert sent["if-none-match"] == "*"
    assert sent["x-amz-checksum-sha256"] == b64sha256(data)
    assert "x-amz-acl" not in sent  # no ACL unless configured


def test_put_of_in_memory_content(
    s3_bucket: S3Bucket, target_for: TargetFactory, tmp_path: Path
) -> None:
    file = make_file(tmp_path, "js/app.js", b"console.log(1)\n", in_memory=True)
    assert target_for(s3_bucket.settings()).put_if_absent(file) is True
    assert s3_bucket.get(file.key) == b"console.log(1)\n"


def test_second_put_of_same_key_returns_false_and_leaves_object(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    file = make_file(tmp_path, "img/logo.png", b"\x89PNG-one")
    first = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url))
    second = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url))
    assert first.put_if_absent(file) is True
    before = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=s3_bucket.prefix + file.key)

    assert second.put_if_absent(file) is False

    after = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=s3_bucket.prefix + file.key)
    assert after["LastModified"] == before["LastModified"]
    assert after["ETag"] == before["ETag"]
    assert s3_bucket.get(file.key) == b"\x89PNG-one"
    # Two create-only PUTs; the second was refused (412) and confirmed with one HEAD.
    assert s3_proxy.operations["PutObject"] == 2
    assert s3_proxy.operations["HeadObject"] == 1


def test_put_over_other_bytes_of_same_size_is_refused_and_not_overwritten(
    s3_bucket: S3Bucket, target_for: TargetFactory, tmp_path: Path
) -> None:
    original = make_file(tmp_path, "a/x.txt", b"AAAA")
    target = target_for(s3_bucket.settings())
    target.put_if_absent(original)
    impostor = BuiltFile(
        name="a/x.txt",
        key=original.key,
        digest=hashlib.sha256(b"BBBB").hexdigest(),
        size=4,
        source=original.source,
        content=b"BBBB",
    )
    with pytest.raises(TargetError, match="already holds other bytes") as info:
        target.put_if_absent(impostor)
    assert info.value.key == original.key
    assert s3_bucket.get(original.key) == b"AAAA"


def test_put_over_object_of_other_size_is_refused(
    s3_bucket: S3Bucket, target_for: TargetFactory, tmp_path: Path
) -> None:
    file = make_file(tmp_path, "a/y.txt", b"short")
    s3_bucket.client.put_object(
        Bucket=s3_bucket.name, Key=s3_bucket.prefix + file.key, Body=b"much longer"
    )
    with pytest.raises(TargetError, match=r"already holds other bytes \(11 bytes"):
        target_for(s3_bucket.settings()).put_if_absent(file)
    assert s3_bucket.get(file.key) == b"much longer"


def test_conditional_writes_off_sends_no_if_none_match(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    file = make_file(tmp_path, "a.css", b"a{}")
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url, conditional_writes=False))
    assert target.put_if_absent(file) is True
    [sent] = puts(s3_proxy)
    assert "if-none-match" not in sent


@pytest.mark.parametrize("checksum", ["sha256", "md5", "none"])
def test_checksum_modes(
    checksum: str, s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    data = b"checksummed bytes"
    file = make_file(tmp_path, "c.txt", data)
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url, checksum=checksum))
    target.put_if_absent(file)
    target.put_release("r1", b"{}")
    target.delete([file.key])

    for sent in puts(s3_proxy):
        flexible = sorted(h for h in sent if h.startswith("x-amz-checksum-"))
        if checksum == "sha256":
            assert flexible == ["x-amz-checksum-sha256"]
            assert "content-md5" not in sent
        elif checksum == "md5":
            assert flexible == []
            assert "content-md5" in sent
        else:
            assert flexible == []
            assert "content-md5" not in sent
    assert puts(s3_proxy)[0].get("x-amz-checksum-sha256", b64sha256(data)) == b64sha256(data)
    if checksum == "md5":
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        assert puts(s3_proxy)[0]["content-md5"] == md5
    [delete] = s3_proxy.requests_for("DeleteObjects")
    # Stores without flexible checksums need Content-MD5 on DeleteObjects.
    assert ("content-md5" in delete.headers) == (checksum != "sha256")


def test_object_parameters_per_glob_later_globs_win(
    s3_bucket: S3Bucket, target_for: TargetFactory, tmp_path: Path
) -> None:
    settings = s3_bucket.settings(
        object_parameters={
            "*.pdf": {"ContentDisposition": "attachment"},
            "docs/*": {"ContentDisposition": "inline", "ContentLanguage": "en"},
            "*.css": {"CacheControl": "no-cache"},
        }
    )
    target = target_for(settings)
    files = {
        name: make_file(tmp_path, name, name.encode())
        for name in ("docs/a.pdf", "b.pdf", "c.css", "d.png")
    }
    for file in files.values():
        target.put_if_absent(file)

    def head(name: str) -> dict[str, Any]:
        key = s3_bucket.prefix + files[name].key
        return dict(s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=key))

    assert head("docs/a.pdf")["ContentDisposition"] == "inline"
    assert head("docs/a.pdf")["ContentLanguage"] == "en"
    assert head("b.pdf")["ContentDisposition"] == "attachment"
    assert head("c.css")["CacheControl"] == "no-cache"
    assert head("d.png")["CacheControl"] == "public, max-age=31536000, immutable"
    assert "ContentDisposition" not in head("d.png")


def test_acl_is_sent_only_when_configured(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url, acl="public-read"))
    target.put_if_absent(make_file(tmp_path, "a.js", b"1"))
    target.put_release("r1", b"{}")
    [hashed, release] = puts(s3_proxy)
    assert hashed["x-amz-acl"] == "public-read"
    assert "x-amz-acl" not in release  # release records are never public


def test_409_conflict_is_retried(
    s3_bucket: S3Bucket,
    s3_proxy: S3Proxy,
    target_for: TargetFactory,
    tmp_path: Path,
    fast_backoff: None,
) -> None:
    s3_proxy.inject(409, "ConditionalRequestConflict", operation="PutObject", times=2)
    file = make_file(tmp_path, "a.js", b"conflicted")
    assert target_for(s3_bucket.settings(endpoint_url=s3_proxy.url)).put_if_absent(file) is True
    assert s3_proxy.operations["PutObject"] == 3
    assert s3_bucket.get(file.key) == b"conflicted"


def test_409_conflict_that_persists_is_an_error(
    s3_bucket: S3Bucket,
    s3_proxy: S3Proxy,
    target_for: TargetFactory,
    tmp_path: Path,
    fast_backoff: None,
) -> None:
    s3_proxy.inject(409, "ConditionalRequestConflict", operation="PutObject", times=None)
    file = make_file(tmp_path, "a.js", b"conflicted")
    with pytest.raises(TargetError, match="conflicting concurrent writes") as info:
        target_for(s3_bucket.settings(endpoint_url=s3_proxy.url)).put_if_absent(file)
    assert s3_proxy.operations["PutObject"] == s3_module.CONFLICT_ATTEMPTS
    assert file.key in str(info.value)
    assert info.value.reason == (
        f"PutObject {s3_bucket.target}: the store reported 4 conflicting concurrent writes of "
        "each key (409); rerun to upload only what is still missing"
    )


# -- release records ------------------------------------------------------------------------


@pytest.mark.store_checksums("HeadObject must return the record's SHA-256")
def test_put_release_is_rewritable_json_no_cache(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory
) -> None:
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url))
    target.put_release("2024-06-01", b'{"v": 1}')
    target.put_release("2024-06-01", b'{"v": 2}')

    key = ".hashstore/releases/2024-06-01.json"
    assert target.read(key) == b'{"v": 2}'
    info = target.stat(key)
    assert info is not None
    assert (info.content_type, info.cache_control) == ("application/json", "no-cache")
    assert info.sha256 == hashlib.sha256(b'{"v": 2}').hexdigest()
    for sent in puts(s3_proxy):
        assert "if-none-match" not in sent
        assert "x-amz-checksum-sha256" in sent


def test_put_release_sends_a_rejected_body_again(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory
) -> None:
    s3_proxy.inject(400, "BadDigest", operation="PutObject", times=2)
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url))
    target.put_release("2024-06-01", b'{"v": 1}')
    assert s3_proxy.operations["PutObject"] == 3
    assert target.read(".hashstore/releases/2024-06-01.json") == b'{"v": 1}'


# -- plan: find_existing ------------------------------------------------------------------


def test_find_existing_lists_once_per_1000_keys(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory
) -> None:
    stored = [f"k/{i:05d}.txt" for i in range(2001)]
    seed_objects(s3_bucket, stored)
    asked = [*stored[::7], "k/absent.txt", "zzz/absent.txt"]  # 288 asked: no switch to HEAD
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url))

    found = target.find_existing(asked)

    assert found == dict.fromkeys(stored[::7], 3)
    assert s3_proxy.operations["ListObjectsV2"] == math.ceil(2001 / 1000)
    assert s3_proxy.total == 3
    assert target.last_plan_strategy == "list"
    assert "3 page(s)" in (target.last_plan_detail or "")
    [first, *_] = s3_proxy.requests_for("ListObjectsV2")
    assert "max-keys=1000" in first.query
    assert f"prefix={s3_bucket.prefix.rstrip('/')}" in first.query


def test_find_existing_switches_to_head_when_prefix_is_huge(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory
) -> None:
    stored = [f"k/{i:05d}.txt" for i in range(1500)]
    seed_objects(s3_bucket, stored)
    # 5 keys asked: after the first page (1,000 > 20 x 5) listing stops. Keys sorting before the
    # last listed key are known from the page; the 3 after it get one HEAD each.
    asked = ["k/00010.txt", "k/00500.txt-missing", "k/01200.txt", "k/01499.txt", "k/9.txt"]
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url))

    found = target.find_existing(asked)

    assert found == {"k/00010.txt": 3, "k/01200.txt": 3, "k/01499.txt": 3}
    assert s3_proxy.operations["ListObjectsV2"] == 1
    assert s3_proxy.operations["HeadObject"] == 3
    assert target.last_plan_strategy == "list+head"


def test_find_existing_of_nothing_makes_no_request(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory
) -> None:
    assert target_for(s3_bucket.settings(endpoint_url=s3_proxy.url)).find_existing([]) == {}
    assert s3_proxy.total == 0


def test_find_existing_in_an_empty_bucket_root(
    s3_bucket: S3Bucket, target_for: TargetFactory
) -> None:
    target = target_for(s3_bucket.settings(target=f"s3://{s3_bucket.name}"))
    assert target.prefix == ""
    assert target.find_existing(["a.css"]) == {}


# -- read, stat, list, delete ---------------------------------------------------------------


def test_etag_tells_a_rewrite_of_the_same_size_apart(
    s3_bucket: S3Bucket, target_for: TargetFactory
) -> None:
    """LastModified is kept to the second and the size is unchanged: only the ETag differs."""
    target = target_for(s3_bucket.settings())
    key = ".hashstore/releases/r1.json"
    target.put_release("r1", b'{"published_at": "2024-06-01T00:00:00"}')
    before = target.stat(key)
    target.put_release("r1", b'{"published_at": "2024-06-03T00:00:00"}')
    after = target.stat(key)
    [listed] = target.list_objects(".hashstore/")

    assert before is not None
    assert after is not None
    assert before.size == after.size
    assert before.etag != after.etag
    assert listed.etag == after.etag


def test_read_stat_list_and_delete(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    stored = [f"old/{i:04d}.js" for i in range(1001)]
    seed_objects(s3_bucket, stored)
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url))
    target.put_if_absent(make_file(tmp_path, "new.css", b"n{}"))

    listed = list(target.list_objects("old/"))
    assert [o.key for o in listed] == stored
    assert {o.size for o in listed} == {3}
    # ETags as the store gives them, quotes stripped, the same from a listing and a HEAD.
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=s3_bucket.prefix + stored[0])
    assert listed[0].etag == head["ETag"].strip('"')
    assert listed[0].etag is not None
    assert '"' not in listed[0].etag
    info = target.stat(stored[0])
    assert info is not None
    assert info.etag == listed[0].etag
    assert target.read("old/0001.js") == b"xxx"
    assert target.stat("old/missing.js") is None

    s3_proxy.reset()
    target.delete([*stored, "old/missing.js"])
    assert s3_proxy.operations["DeleteObjects"] == 2
    assert [o.key for o in target.list_objects()] == s3_bucket.keys()
    assert len(s3_bucket.keys()) == 1


def test_read_of_missing_key_names_it(s3_bucket: S3Bucket, target_for: TargetFactory) -> None:
    target = target_for(s3_bucket.settings())
    with pytest.raises(TargetError, match=r"GetObject s3://.*/static/nope\.json: no such object"):
        target.read("nope.json")


# -- multipart ----------------------------------------------------------------------------


def multipart_settings(bucket: S3Bucket, **changes: Any) -> Settings:
    return bucket.settings(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, **changes)


def test_multipart_upload_in_parallel_parts(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    data = os.urandom(5 * MIB) + b"tail" * 1000  # 2 parts
    file = make_file(tmp_path, "video/big.mp4", data)
    target = target_for(multipart_settings(s3_bucket, endpoint_url=s3_proxy.url))

    assert target.put_if_absent(file) is True

    assert hashlib.sha256(s3_bucket.get(file.key)).hexdigest() == file.digest
    assert s3_proxy.operations["CreateMultipartUpload"] == 1
    assert s3_proxy.operations["UploadPart"] == 2
    assert s3_proxy.operations["PutObject"] == 0
    [create] = s3_proxy.requests_for("CreateMultipartUpload")
    assert create.headers["x-amz-checksum-algorithm"] == "SHA256"
    assert create.headers["content-type"] == "video/mp4"
    assert create.headers["cache-control"] == "public, max-age=31536000, immutable"
    for part in s3_proxy.requests_for("UploadPart"):
        assert "x-amz-checksum-sha256" in part.headers
    [complete] = s3_proxy.requests_for("CompleteMultipartUpload")
    assert complete.headers["if-none-match"] == "*"
    info = target.stat(file.key)
    assert info is not None
    assert info.size == len(data)
    assert info.sha256 is None  # a composite checksum is not the object's SHA-256
    assert info.content_type == "video/mp4"


# radosgw ignores If-None-Match on CompleteMultipartUpload: tests/test_s3_multipart.py shows
# what publish does there instead.
@pytest.mark.moto_only
def test_multipart_upload_of_existing_key_returns_false_and_aborts(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    file = make_file(tmp_path, "big.bin", os.urandom(6 * MIB))
    first = target_for(multipart_settings(s3_bucket))
    first.put_if_absent(file)
    record_capabilities(first, {"conditional-complete": True})

    again = target_for(multipart_settings(s3_bucket, endpoint_url=s3_proxy.url))
    assert again.put_if_absent(file) is False

    assert s3_proxy.operations["CompleteMultipartUpload"] == 1  # refused: 412
    assert s3_proxy.operations["HeadObject"] == 1  # the record says: no guard; then the 412
    assert s3_proxy.operations["AbortMultipartUpload"] == 1
    assert not s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name).get("Uploads")


def test_multipart_failure_aborts_the_upload(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    s3_proxy.inject(403, "AccessDenied", "Access Denied", operation="UploadPart")
    file = make_file(tmp_path, "big.bin", os.urandom(6 * MIB))
    target = target_for(multipart_settings(s3_bucket, endpoint_url=s3_proxy.url))

    with pytest.raises(
        TargetError, match=r"UploadPart .*big\..*\.bin: access denied.*s3:PutObject"
    ):
        target.put_if_absent(file)

    assert s3_proxy.operations["AbortMultipartUpload"] == 1
    assert s3_proxy.operations["CompleteMultipartUpload"] == 0
    assert not s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name).get("Uploads")
    assert s3_bucket.keys() == []


def test_multipart_of_a_file_changed_since_build_is_refused(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    file = make_file(tmp_path, "big.bin", b"a" * (6 * MIB))
    file.source.write_bytes(b"b" * (6 * MIB))  # same size, other bytes
    target = target_for(multipart_settings(s3_bucket, endpoint_url=s3_proxy.url))

    with pytest.raises(TargetError, match="changed since the build read it"):
        target.put_if_absent(file)

    assert s3_proxy.operations["AbortMultipartUpload"] == 1
    assert s3_proxy.operations["CompleteMultipartUpload"] == 0
    assert s3_bucket.keys() == []


@pytest.mark.parametrize(
    ("size_mib", "chunk_mib", "jobs", "limit_mib"),
    [
        # At most 2 parts of 5 MiB in flight (jobs=2): well under the file's 30 MiB.
        pytest.param(30, 5, 2, 16, id="30MiB"),
        # The issue's case with default part sizes: 4 parts of 16 MiB in flight.
        pytest.param(200, 16, 32, 100, id="200MiB", marks=pytest.mark.slow),
    ],
)
def test_multipart_memory_is_bounded(
    size_mib: int,
    chunk_mib: int,
    jobs: int,
    limit_mib: int,
    s3_bucket: S3Bucket,
    tmp_path: Path,
) -> None:
    """Peak Python memory of a multipart upload, measured in a child process (moto, which
    holds the object in memory, runs in this one)."""
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with source.open("wb") as out:
        block = os.urandom(MIB)
        for i in range(size_mib):
            chunk = block[:-4] + i.to_bytes(4, "big")
            digest.update(chunk)
            out.write(chunk)
    script = textwrap.dedent(
        f"""
        import json, sys, tracemalloc
        from pathlib import Path
        from hashstore.build import BuiltFile
        from hashstore.settings import Settings
        from hashstore.targets.s3 import S3Target
        settings = Settings(
            target={s3_bucket.target!r}, endpoint_url={s3_bucket.endpoint_url!r},
            region="us-east-1", jobs={jobs}, multipart_threshold={chunk_mib * MIB},
            multipart_chunksize={chunk_mib * MIB},
        )
        file = BuiltFile(name="big.bin", key="big.bin", digest={digest.hexdigest()!r},
                         size={size_mib * MIB}, source=Path({str(source)!r}))
        target = S3Target(settings)
        tracemalloc.start()
        stored = target.put_if_absent(file)
        peak = tracemalloc.get_traced_memory()[1]
        target.close()
        print(json.dumps({{"stored": stored, "peak": peak}}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["stored"] is True
    assert outcome["peak"] < limit_mib * MIB, f"peak {outcome['peak'] / MIB:.1f} MiB"
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=s3_bucket.prefix + "big.bin")
    assert head["ContentLength"] == size_mib * MIB


# -- faults: retries, resets, corruption --------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_answers_are_retried_to_success(
    status: int,
    s3_bucket: S3Bucket,
    s3_proxy: S3Proxy,
    target_for: TargetFactory,
    tmp_path: Path,
    fast_backoff: None,
) -> None:
    s3_proxy.faults = Faults(error_rate=0.3, error_status=status, seed=4)
    files = [make_file(tmp_path, f"f/{i}.txt", f"file {i}".encode()) for i in range(12)]
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url, retries=8))

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(target.put_if_absent, files))

    assert any(r.fault == "error" for r in s3_proxy.requests)
    s3_proxy.reset()
    for file in files:
        assert hashlib.sha256(target.read(file.key)).hexdigest() == file.digest


def test_connection_resets_are_retried(
    s3_bucket: S3Bucket,
    s3_proxy: S3Proxy,
    target_for: TargetFactory,
    tmp_path: Path,
    fast_backoff: None,
) -> None:
    # Resets before the store sees the request, and after it executed it (answer lost: the
    # retried create-only PUT then meets its own object, 412, and confirms it by size).
    s3_proxy.faults = Faults(reset_rate=0.15, reset_after_rate=0.15, seed=7)
    files = [make_file(tmp_path, f"r/{i}.txt", f"reset {i}".encode()) for i in range(16)]
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url, retries=8))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(target.put_if_absent, files))

    faults = {r.fault for r in s3_proxy.requests}
    assert {"reset", "reset-after"} <= faults
    s3_proxy.reset()
    assert sorted(s3_bucket.keys()) == sorted(f.key for f in files)
    for file in files:
        assert hashlib.sha256(target.read(file.key)).hexdigest() == file.digest


def test_retries_exhausted_say_so(
    s3_bucket: S3Bucket,
    s3_proxy: S3Proxy,
    target_for: TargetFactory,
    tmp_path: Path,
    fast_backoff: None,
) -> None:
    s3_proxy.faults = Faults(error_rate=1.0, error_status=503)
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url, retries=2))
    with pytest.raises(TargetError, match=r"kept failing after 2 attempt\(s\).*SlowDown"):
        target.put_if_absent(make_file(tmp_path, "a.txt", b"a"))
    assert s3_proxy.operations["PutObject"] == 2


@pytest.mark.parametrize("checksum", ["sha256", "md5"])
def test_body_corrupted_in_flight_is_rejected(
    checksum: str, s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    # moto stores whatever it receives; the proxy checks the checksum headers as S3 does.
    s3_proxy.faults = Faults(corrupt_rate=1.0, verify_checksums=True)
    file = make_file(tmp_path, "app.js", b"let precious = 'bytes';\n" * 100)
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url, checksum=checksum))

    with pytest.raises(TargetError) as info:
        target.put_if_absent(file)

    message = str(info.value)
    assert f"the store rejected the body of {file.key}: its checksum does not match" in message
    assert "BadDigest" in message
    assert "rerun" in message
    assert message.endswith("(sent 3 times, rejected each time)")
    assert info.value.operation == "PutObject"
    assert s3_proxy.operations["PutObject"] == s3_module.BODY_ATTEMPTS == 3
    assert s3_bucket.keys() == []


@pytest.mark.parametrize("code", ["BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"])
def test_a_rejected_body_is_sent_again(
    code: str, s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    s3_proxy.inject(400, code, operation="PutObject", times=2)
    file = make_file(tmp_path, "app.js", b"let precious = 'bytes';\n" * 100)
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url, retries=1))

    assert target.put_if_absent(file) is True

    assert s3_proxy.operations["PutObject"] == 3
    assert hashlib.sha256(s3_bucket.get(file.key)).hexdigest() == file.digest


def test_a_body_corrupted_twice_in_flight_is_stored_on_the_third_attempt(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    s3_proxy.faults = Faults(corrupt_rate=1.0, verify_checksums=True)
    file = make_file(tmp_path, "app.js", b"let precious = 'bytes';\n" * 100)
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url))
    sent = 0

    def heal(request: Any, **kwargs: Any) -> None:
        nonlocal sent
        sent += 1
        if sent == 3:
            s3_proxy.faults = Faults(verify_checksums=True)

    target.client.meta.events.register("before-send.s3.PutObject", heal)

    assert target.put_if_absent(file) is True

    assert [r.fault for r in s3_proxy.requests_for("PutObject")] == ["corrupt", "corrupt", None]
    assert hashlib.sha256(s3_bucket.get(file.key)).hexdigest() == file.digest


def test_multipart_with_a_rejected_part_is_uploaded_again(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    s3_proxy.inject(400, "BadDigest", operation="UploadPart", times=1)
    file = make_file(tmp_path, "big.bin", os.urandom(6 * MIB))
    target = target_for(multipart_settings(s3_bucket, endpoint_url=s3_proxy.url))

    assert target.put_if_absent(file) is True

    # The first upload is aborted; a second one, read afresh from the file, completes.
    assert s3_proxy.operations["CreateMultipartUpload"] == 2
    assert s3_proxy.operations["AbortMultipartUpload"] == 1
    assert s3_proxy.operations["CompleteMultipartUpload"] == 1
    assert hashlib.sha256(s3_bucket.get(file.key)).hexdigest() == file.digest
    assert not s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name).get("Uploads")


# moto's behaviour, pinned; radosgw checks the SigV4 payload hash botocore signs over plain http,
# so it refuses the proxy's damaged body itself.
@pytest.mark.moto_only
def test_moto_keeps_a_corrupted_body_but_the_read_back_detects_it(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, target_for: TargetFactory, tmp_path: Path
) -> None:
    """moto accepts a body that does not match its x-amz-checksum-sha256 (S3 would answer
    BadDigest). The checksum is stored with the object, so reading it back with the checksum
    mode on fails: verification catches what moto let through."""
    s3_proxy.faults = Faults(corrupt_rate=1.0)
    file = make_file(tmp_path, "app.js", b"let precious = 'bytes';\n" * 100)
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url))

    assert target.put_if_absent(file) is True
    assert s3_bucket.get(file.key) != b"let precious = 'bytes';\n" * 100

    s3_proxy.faults = Faults()
    with pytest.raises(TargetError, match="does not match its checksum"):
        target.read(file.key)


def test_many_faults_at_once_lose_nothing(
    s3_bucket: S3Bucket,
    s3_proxy: S3Proxy,
    target_for: TargetFactory,
    tmp_path: Path,
    fast_backoff: None,
) -> None:
    s3_proxy.faults = Faults(
        error_rate=0.1,
        reset_rate=0.05,
        reset_after_rate=0.05,
        corrupt_rate=0.1,
        verify_checksums=True,
        seed=42,
    )
    files = [make_file(tmp_path, f"m/{i}.css", f".c{i}{{}}".encode() * 50) for i in range(24)]
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url, retries=10))

    def put(file: BuiltFile) -> bool | TargetError:
        try:
            return target.put_if_absent(file)
        except TargetError as exc:
            return exc

    with ThreadPoolExecutor(8) as pool:
        outcomes = dict(zip([f.key for f in files], pool.map(put, files), strict=True))

    s3_proxy.faults = Faults()
    stored = set(s3_bucket.keys())
    for file in files:
        outcome = outcomes[file.key]
        if isinstance(outcome, TargetError):
            # Only a body corrupted on every attempt fails; nothing half-written stays.
            assert "checksum does not match" in str(outcome)
            assert str(outcome).endswith("(sent 3 times, rejected each time)")
            assert file.key not in stored
        else:
            assert hashlib.sha256(target.read(file.key)).hexdigest() == file.digest


# -- errors users hit -----------------------------------------------------------------------


def test_missing_bucket(moto_server: str, target_for: TargetFactory, tmp_path: Path) -> None:
    from hashstore.settings import Settings

    settings = Settings(
        target="s3://hashstore-no-such-bucket/static/", endpoint_url=moto_server, retries=1
    )
    target = target_for(settings)
    with pytest.raises(TargetError) as info:
        target.find_existing(["a.css"])
    assert str(info.value) == (
        "ListObjectsV2 s3://hashstore-no-such-bucket/static/: bucket 'hashstore-no-such-bucket' "
        "does not exist: create it or fix target"
    )
    assert (info.value.operation, info.value.bucket) == (
        "ListObjectsV2",
        "hashstore-no-such-bucket",
    )
    with pytest.raises(TargetError, match="does not exist: create it or fix target"):
        target.put_if_absent(make_file(tmp_path, "a.css", b"a"))


@pytest.fixture
def iam_user(moto_server: str) -> Iterator[Any]:
    """``iam_user(*actions)``: credentials of a new moto IAM user allowed only ``actions``.

    From the first call on, moto checks signatures and IAM policies of every request (its
    ``INITIAL_NO_AUTH_ACTION_COUNT`` setting, as ``moto.core.enable_iam_authentication`` sets
    it); the previous state is restored after the test.
    """
    import boto3
    from moto import settings as moto_settings
    from moto.core.authorization import ActionAuthenticatorMixin

    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1")
    saved = moto_settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count

    def make(*actions: str) -> dict[str, str]:
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")  # the dummy keys create it
        name = f"user-{os.urandom(4).hex()}"
        iam.create_user(UserName=name)
        statement = {"Effect": "Allow", "Action": list(actions) or ["sts:None"], "Resource": "*"}
        policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=policy)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0
        return {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }

    try:
        yield make
    finally:
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved
        iam.close()


# The IAM user and its policy are moto's (iam_user); radosgw has no IAM policies to simulate.
@pytest.mark.moto_only
def test_access_denied_names_the_missing_permission(
    s3_bucket: S3Bucket,
    iam_user: Any,
    target_for: TargetFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file = make_file(tmp_path, "a.css", b"a{}")
    target_for(s3_bucket.settings()).put_if_absent(file)  # before the user exists

    for name, value in iam_user().items():  # allowed nothing
        monkeypatch.setenv(name, value)
    nothing = target_for(s3_bucket.settings(retries=1))
    with pytest.raises(TargetError, match=r"access denied: .* need s3:ListBucket on arn:aws:s3:::"):
        nothing.find_existing(["a.css"])
    with pytest.raises(TargetError, match=r"GetObject .*: access denied: .* need s3:GetObject"):
        nothing.read(file.key)
    with pytest.raises(TargetError, match=r"HeadObject .*: access denied: .* need s3:GetObject"):
        nothing.stat(file.key)

    for name, value in iam_user("s3:ListBucket", "s3:GetObject").items():
        monkeypatch.setenv(name, value)
    reader = target_for(s3_bucket.settings(retries=1))
    assert reader.find_existing([file.key]) == {file.key: 3}
    with pytest.raises(TargetError) as info:
        reader.put_if_absent(make_file(tmp_path, "b.css", b"b{}"))
    assert "PutObject" in str(info.value)
    assert "access denied: the credentials in use need s3:PutObject on" in str(info.value)
    assert info.value.operation == "PutObject"
    with pytest.raises(TargetError, match=r"refused to delete 1 object.*s3:DeleteObject") as info:
        reader.delete([file.key])
    assert info.value.key == file.key


# The IAM user is moto's (iam_user).
@pytest.mark.moto_only
@pytest.mark.parametrize("which", ["unknown key id", "wrong secret"])
def test_bad_credentials(
    which: str,
    s3_bucket: S3Bucket,
    iam_user: Any,
    target_for: TargetFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    credentials = iam_user("s3:*")
    if which == "unknown key id":
        credentials["AWS_ACCESS_KEY_ID"] = "AKIAHASHSTORE0000000"
    else:
        credentials["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    code = "InvalidAccessKeyId" if which == "unknown key id" else "SignatureDoesNotMatch"
    with pytest.raises(TargetError) as info:
        target_for(s3_bucket.settings(retries=1)).find_existing(["a.css"])
    assert f"no valid AWS credentials (the store said: {code}" in str(info.value)
    assert "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in str(info.value)


def test_no_credentials(
    s3_bucket: S3Bucket, target_for: TargetFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    with pytest.raises(TargetError, match=r"no valid AWS credentials \(Unable to locate"):
        target_for(s3_bucket.settings(retries=1)).find_existing(["a.css"])


def test_unknown_profile(s3_bucket: S3Bucket) -> None:
    with pytest.raises(TargetError, match="AWS profile 'nope' is not configured: fix profile,"):
        S3Target(s3_bucket.settings(profile="nope"))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed when the block ends: nothing listens


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param(None, id="closed port"),
        pytest.param("http://hashstore-test.invalid", id="DNS failure"),  # RFC 6761: never resolves
    ],
)
def test_unreachable_endpoint_is_named(endpoint: str | None, target_for: TargetFactory) -> None:
    from hashstore.settings import Settings

    endpoint = endpoint or f"http://127.0.0.1:{closed_port()}"
    target = target_for(Settings(target="s3://assets/static/", endpoint_url=endpoint, retries=1))
    with pytest.raises(TargetError) as info:
        target.find_existing(["a.css"])
    assert f"ListObjectsV2 s3://assets/static/: cannot reach {endpoint} (" in str(info.value)
    assert "check endpoint_url, region and the network" in str(info.value)


@pytest.mark.parametrize(
    ("status", "code", "fields", "expected"),
    [
        (
            400,
            "AccessControlListNotSupported",
            {},
            "the bucket has ACLs disabled (Object Ownership: bucket owner enforced): remove "
            "acl and use CloudFront Origin Access Control",
        ),
        (400, "BadDigest", {}, "its checksum does not match"),
        (400, "InvalidDigest", {}, "its checksum does not match"),
        (400, "XAmzContentSHA256Mismatch", {}, "its checksum does not match"),
        (
            501,
            "NotImplemented",
            {"Header": "If-None-Match"},
            "this store does not support conditional writes (the store said: NotImplemented: "
            "A header you provided implies functionality that is not implemented): set "
            "conditional_writes=False",
        ),
        (
            400,
            "InvalidArgument",
            {"ArgumentName": "x-amz-checksum-sha256"},
            "does not support SHA-256 checksums (the store said: InvalidArgument: A header you "
            "provided implies functionality that is not implemented): set checksum='md5' or "
            "checksum='none'",
        ),
        (400, "RequestTimeTooSkewed", {}, "clock is wrong"),
    ],
)
def test_store_errors_are_explained(
    status: int,
    code: str,
    fields: dict[str, str],
    expected: str,
    s3_bucket: S3Bucket,
    s3_proxy: S3Proxy,
    target_for: TargetFactory,
    tmp_path: Path,
) -> None:
    s3_proxy.inject(
        status,
        code,
        "A header you provided implies functionality that is not implemented",
        operation="PutObject",
        fields=fields,
        times=None,  # every attempt: a rejected body is sent again
    )
    file = make_file(tmp_path, "a.css", b"a{}")
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url, acl="private", retries=1))
    with pytest.raises(TargetError) as info:
        target.put_if_absent(file)
    assert str(info.value).startswith(f"PutObject {target.url_for_key(file.key)}: ")
    assert expected in str(info.value)
    # The reason says the same without the key, so that many failures group by it.
    reason = render(info.value.reason)  # settings named as in Python until an adapter renders
    assert reason.startswith(f"PutObject {s3_bucket.target}: ")
    assert expected in reason
    assert file.key not in reason
    assert (info.value.operation, info.value.bucket, info.value.key) == (
        "PutObject",
        s3_bucket.name,
        file.key,
    )
    assert isinstance(info.value.__cause__, Exception)  # the botocore error, chained


@pytest.mark.parametrize(
    ("fields", "spelled"),
    [
        (
            {"Header": "If-None-Match"},
            {
                "command": "set --no-conditional-writes",
                "django": 'set OPTIONS["conditional_writes"] = False',
                "flask": "set HASHSTORE_CONDITIONAL_WRITES = False",
            },
        ),
        (
            {"ArgumentName": "x-amz-checksum-sha256"},
            {
                "command": "set --checksum md5 or --checksum none",
                "django": """set OPTIONS["checksum"] = 'md5' or OPTIONS["checksum"] = 'none'""",
                "flask": "set HASHSTORE_CHECKSUM = 'md5' or HASHSTORE_CHECKSUM = 'none'",
            },
        ),
    ],
)
def test_store_errors_name_the_setting_in_the_users_own_terms(
    fields: dict[str, str],
    spelled: dict[str, str],
    s3_bucket: S3Bucket,
    s3_proxy: S3Proxy,
    target_for: TargetFactory,
    tmp_path: Path,
) -> None:
    pytest.importorskip("django", reason="needs Django for its spelling")
    pytest.importorskip("flask", reason="needs Flask for its spelling")
    from hashstore.cli import SPELLING
    from hashstore.django.storage import OptionsSpelling
    from hashstore.flask import CONFIG_SPELLING

    s3_proxy.inject(
        501, "NotImplemented", "not implemented", operation="PutObject", fields=fields, times=None
    )
    target = target_for(s3_bucket.settings(endpoint_url=s3_proxy.url, retries=1))
    with pytest.raises(TargetError) as info:
        target.put_if_absent(make_file(tmp_path, "a.css", b"a{}"))
    for name, spelling in (
        ("command", SPELLING),
        ("django", OptionsSpelling()),
        ("flask", CONFIG_SPELLING),
    ):
        assert spelled[name] in info.value.render(spelling)
    assert "\x1f" not in str(info.value)
    assert "\x1f" not in info.value.render(SPELLING)


# -- the proxy itself ---------------------------------------------------------------------


# The body is re-framed after signing: only a store that checks no signatures accepts it.
@pytest.mark.moto_only
def test_proxy_forwards_chunked_aws_chunked_bodies_faithfully(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy
) -> None:
    """A PutObject whose body comes as HTTP chunks carrying an aws-chunked stream with a
    checksum trailer, as botocore sends flexible checksums over TLS."""
    import boto3
    import botocore.config

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=s3_proxy.url,
        region_name="us-east-1",
        config=botocore.config.Config(s3={"addressing_style": "path"}),
    )
    data = b"0123456789" * 10_000
    crc = base64.b64encode(hashlib.sha256(data).digest()).decode()
    aws_chunked = (
        b"%x\r\n" % 65536
        + data[:65536]
        + b"\r\n"
        + b"%x\r\n" % (len(data) - 65536)
        + data[65536:]
        + b"\r\n"
        + b"0\r\nx-amz-checksum-sha256:"
        + crc.encode()
        + b"\r\n\r\n"
    )

    def rechunk(request: Any, **kwargs: Any) -> None:
        # After signing (moto does not check signatures unless IAM checks are on).
        del request.headers["Content-Length"]
        request.headers["Transfer-Encoding"] = "chunked"
        request.headers["Content-Encoding"] = "aws-chunked"
        request.headers["X-Amz-Decoded-Content-Length"] = str(len(data))
        request.headers["X-Amz-Trailer"] = "x-amz-checksum-sha256"
        request.headers["x-amz-sdk-checksum-algorithm"] = "SHA256"
        request.headers["X-Amz-Content-SHA256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        request.body = aws_chunked

    client.meta.events.register("before-send.s3.PutObject", rechunk)
    s3_proxy.faults = Faults(verify_checksums=True)
    client.put_object(Bucket=s3_bucket.name, Key="chunked.bin", Body=b"placeholder")
    client.close()

    [sent] = s3_proxy.requests_for("PutObject")
    assert sent.headers["transfer-encoding"] == "chunked"
    assert sent.fault is None  # the trailer checksum matched what the proxy forwarded
    stored = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key="chunked.bin")["Body"].read()
    assert stored == data


def test_proxy_counts_and_stops_cleanly(moto_server: str) -> None:
    import boto3

    from .s3proxy import S3Proxy

    with S3Proxy(moto_server) as proxy:
        client = boto3.client("s3", endpoint_url=proxy.url, region_name="us-east-1")
        client.list_buckets()
        client.list_buckets()
        assert proxy.counts["GET"] == 2
        assert proxy.operations["ListBuckets"] == 2
        # The client keeps its connection open; stop() must still return promptly.
    client.close()
