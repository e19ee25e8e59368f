"""The bytes S3 stores are the build's, proven at the proxy, request by request.

moto stores whatever it is sent, with or without a checksum, so only the proxy can see what
hashstore claims: each ``PutObject`` carries the build's SHA-256 (not one botocore computed from
whatever the file holds at upload time), each multipart part carries the SHA-256 of its bytes
and the completion lists them all. A ``412`` on upload is checked against the stored object.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote

import pytest

from hashstore.build import BuiltFile, build
from hashstore.errors import PublishError, TargetError
from hashstore.publish import publish
from hashstore.settings import MIB, Settings
from hashstore.targets.s3 import S3Target

from .conftest import S3Bucket
from .helpers import make_tree
from .s3proxy import Faults, ProxiedRequest, S3Proxy

PART = 5 * MIB
BIG = hashlib.sha256(b"big").digest() * (PART // 32) + b"tail of the last part" * 1000  # 2 parts

FILES = {
    "css/app.css": ".a{background:url(../img/a.png)}",  # rewritten: sent from memory
    "img/a.png": b"\x89PNG" + os.urandom(3000),
    "js/app.js": "console.log('hashstore')\n",
    "video/big.bin": BIG,  # multipart
}


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def _b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def _key(bucket: S3Bucket, request: ProxiedRequest) -> str:
    return unquote(request.path).removeprefix(f"/{bucket.name}/{bucket.prefix}")


def _settings(bucket: S3Bucket, proxy: S3Proxy, tmp_path: Path, **changes: object) -> Settings:
    return bucket.settings(
        endpoint_url=proxy.url,
        sources=(make_tree(tmp_path / "src", FILES),),
        manifest=tmp_path / "hashstore.json",
        multipart_threshold=PART,
        multipart_chunksize=PART,
        **changes,
    )


def test_every_upload_carries_the_builds_sha256(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    s3_proxy.faults = Faults(verify_checksums=True)
    settings = _settings(s3_bucket, s3_proxy, tmp_path)
    built = build(settings)
    publish(settings, built=built)
    by_key = {f.key: f for f in built.files.values()}
    big = built.files["video/big.bin"]

    single = [
        r
        for r in s3_proxy.requests_for("PutObject")
        if not _key(s3_bucket, r).startswith(".hashstore/")
    ]
    assert sorted(_key(s3_bucket, r) for r in single) == sorted(set(by_key) - {big.key})
    for request in single:
        claimed = _b64(by_key[_key(s3_bucket, request)].digest)
        # The build's digest, and no other checksum botocore could have computed from the body.
        assert request.checksums == {"x-amz-checksum-sha256": claimed}
        assert request.payload_sha256 == claimed
        assert request.fault is None

    [create] = s3_proxy.requests_for("CreateMultipartUpload")
    assert create.headers["x-amz-checksum-algorithm"] == "SHA256"
    parts = {
        int(parse_qs(r.query)["partNumber"][0]): r for r in s3_proxy.requests_for("UploadPart")
    }
    expected = {number: _b64sha256(BIG[(number - 1) * PART : number * PART]) for number in (1, 2)}
    assert sorted(parts) == [1, 2]
    for number, request in parts.items():
        assert request.checksums == {"x-amz-checksum-sha256": expected[number]}
        assert request.payload_sha256 == expected[number]
    [complete] = s3_proxy.requests_for("CompleteMultipartUpload")
    assert complete.body is not None
    listed = {
        int(_text(part, "PartNumber")): _text(part, "ChecksumSHA256")
        for part in ET.fromstring(complete.body)
        if part.tag.endswith("Part")
    }
    assert listed == expected
    # And the whole: the parts are the build's bytes, in order.
    assert hashlib.sha256(s3_bucket.get(big.key)).hexdigest() == big.digest


def _text(element: ET.Element, name: str) -> str:
    for child in element:
        if child.tag.rsplit("}", 1)[-1] == name:
            return child.text or ""
    raise AssertionError(f"no <{name}> in {ET.tostring(element)!r}")


def test_a_file_changed_after_the_build_is_sent_with_the_builds_sha256_and_refused(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    """botocore would checksum the changed body if hashstore sent no digest: the store would
    then accept bytes the manifest does not name. The build's digest makes the store refuse."""
    s3_proxy.faults = Faults(verify_checksums=True)  # as S3 does; moto does not check
    settings = _settings(s3_bucket, s3_proxy, tmp_path)
    built = build(settings)
    image = built.files["img/a.png"]
    changed = bytes([image.source.read_bytes()[0] ^ 1]) + image.source.read_bytes()[1:]
    image.source.write_bytes(changed)  # same size, other bytes

    with pytest.raises(PublishError) as caught:
        publish(settings, built=built)

    message = str(caught.value)
    assert f"{image.source} changed since the build read it" in message
    assert (
        f"nothing was stored under s3://{s3_bucket.name}/{s3_bucket.prefix}{image.key}" in message
    )
    [sent] = [r for r in s3_proxy.requests_for("PutObject") if _key(s3_bucket, r) == image.key]
    assert sent.checksums == {"x-amz-checksum-sha256": _b64(image.digest)}
    assert sent.payload_sha256 == _b64sha256(changed)
    assert sent.fault == "bad-digest"  # refused once, then found changed: not sent again
    stored = s3_bucket.keys()
    assert image.key not in stored
    assert not any(key.startswith(".hashstore/releases/") for key in stored)
    assert not settings.manifest.exists()


def test_a_multipart_file_that_grew_after_the_build_is_never_completed(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    settings = _settings(s3_bucket, s3_proxy, tmp_path)
    built = build(settings)
    big = built.files["video/big.bin"]
    big.source.write_bytes(BIG + b"appended")

    with pytest.raises(PublishError, match="changed since the build read it"):
        publish(settings, built=built)

    # Each part carried the checksum of the bytes it carried; the whole did not match the build.
    for request in s3_proxy.requests_for("UploadPart"):
        assert request.checksums["x-amz-checksum-sha256"] == request.payload_sha256
    assert s3_proxy.operations["CompleteMultipartUpload"] == 0
    assert s3_proxy.operations["AbortMultipartUpload"] == 1
    assert big.key not in set(s3_bucket.keys())


# -- a 412: the object stored meanwhile must hold the build's bytes ---------------------------


def _file(tmp_path: Path, name: str, data: bytes) -> BuiltFile:
    source = make_tree(tmp_path / "one", {name: data}) / name
    digest = hashlib.sha256(data).hexdigest()
    return BuiltFile(name, f"{name}.{digest[:12]}", digest, len(data), source)


@pytest.fixture
def md5_target(s3_bucket: S3Bucket, s3_proxy: S3Proxy) -> Iterator[S3Target]:
    """A store that keeps no SHA-256 (``checksum = 'md5'``): the ETag is what it offers."""
    target = S3Target(s3_bucket.settings(endpoint_url=s3_proxy.url, checksum="md5"))
    yield target
    target.close()


def test_412_with_the_same_bytes_is_confirmed_by_the_etag(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, md5_target: S3Target, tmp_path: Path
) -> None:
    file = _file(tmp_path, "a.txt", b"the same bytes")
    s3_bucket.client.put_object(
        Bucket=s3_bucket.name, Key=s3_bucket.prefix + file.key, Body=b"the same bytes"
    )
    assert md5_target.put_if_absent(file) is False
    assert s3_proxy.operations["HeadObject"] == 1


def test_412_with_other_bytes_of_the_same_size_is_caught_by_the_etag(
    s3_bucket: S3Bucket, md5_target: S3Target, tmp_path: Path
) -> None:
    file = _file(tmp_path, "a.txt", b"the same bytes")
    s3_bucket.client.put_object(
        Bucket=s3_bucket.name, Key=s3_bucket.prefix + file.key, Body=b"other  bytes!!"
    )
    with pytest.raises(
        TargetError, match=r"already holds other bytes \(ETag [0-9a-f]{32}, the MD5"
    ):
        md5_target.put_if_absent(file)
    assert s3_bucket.get(file.key) == b"other  bytes!!"


# The 412 is the store's answer to a conditional complete: radosgw ignores the header there, and
# the guard's HeadObject finds the object instead (tests/test_s3_multipart.py).
@pytest.mark.moto_only
def test_412_on_a_multipart_object_without_sha256_is_confirmed_by_size_saying_so(
    s3_bucket: S3Bucket, md5_target: S3Target, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = _file(tmp_path, "big.bin", BIG)
    client, key = s3_bucket.client, s3_bucket.prefix + file.key
    upload = client.create_multipart_upload(Bucket=s3_bucket.name, Key=key)["UploadId"]
    etags = [
        client.upload_part(
            Bucket=s3_bucket.name,
            Key=key,
            UploadId=upload,
            PartNumber=number,
            Body=BIG[(number - 1) * PART : number * PART],
        )["ETag"]
        for number in (1, 2)
    ]
    client.complete_multipart_upload(
        Bucket=s3_bucket.name,
        Key=key,
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )

    with caplog.at_level(logging.WARNING, logger="hashstore"):
        assert md5_target.put_if_absent(file) is False

    [warning] = [r.getMessage() for r in caplog.records if "412" in r.getMessage()]
    assert f"{md5_target.url_for_key(file.key)} was stored already (412)" in warning
    assert "only the size was compared" in warning
    assert "hashstore verify --deep" in warning


def test_412_when_the_source_changed_meanwhile_names_the_file(
    s3_bucket: S3Bucket, md5_target: S3Target, tmp_path: Path
) -> None:
    file = _file(tmp_path, "a.txt", b"the same bytes")
    s3_bucket.client.put_object(
        Bucket=s3_bucket.name, Key=s3_bucket.prefix + file.key, Body=b"the same bytes"
    )
    file.source.write_bytes(b"THE SAME BYTES")
    # moto answers 412 before looking at the body, so the ETag check reads the changed file.
    with pytest.raises(TargetError, match="changed since the build read it"):
        md5_target.put_if_absent(file)
