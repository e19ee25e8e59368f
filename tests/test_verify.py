"""``hashstore verify``: every object of a manifest or release stored intact, and served right.

The S3 cases run over HTTP against the test store (moto's server); ``--via-cdn`` fetches
through a small loopback server standing in for CloudFront, which reads the bucket with its
own credentials (as Origin Access Control does) and passes ``Content-Type`` and
``Cache-Control`` through.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from hashstore.cli import main
from hashstore.errors import ConfigError
from hashstore.manifest import Manifest
from hashstore.settings import Settings
from hashstore.targets import open_target
from hashstore.verify import expected_content_type, verify

from .conftest import S3Bucket
from .helpers import run_peak_rss
from .s3proxy import S3Proxy
from .test_releases import publish_release, release_files


class Cdn:
    """A loopback HTTP server serving ``/assets/<key>`` from the bucket's prefix."""

    def __init__(self, bucket: S3Bucket) -> None:
        self.bucket = bucket
        self.fetched: list[str] = []
        # A CDN passes on what the origin holds; it does not check the store's checksums.
        self.client = client = boto3.session.Session().client(
            "s3",
            endpoint_url=bucket.endpoint_url,
            region_name=bucket.client.meta.region_name,
            config=botocore.config.Config(
                s3={"addressing_style": "path"}, response_checksum_validation="when_required"
            ),
        )
        cdn = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = unquote(urlsplit(self.path).path)
                cdn.fetched.append(path)
                key = bucket.prefix + path.removeprefix("/assets/")
                try:
                    answer = client.get_object(Bucket=bucket.name, Key=key)
                except ClientError:
                    self.send_error(404)
                    return
                body = answer["Body"].read()
                self.send_response(200)
                self.send_header("Content-Type", answer.get("ContentType", ""))
                if "CacheControl" in answer:
                    self.send_header("Cache-Control", answer["CacheControl"])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/assets/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        self.client.close()


@pytest.fixture
def cdn(s3_bucket: S3Bucket) -> Iterator[Cdn]:
    server = Cdn(s3_bucket)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def published(s3_bucket: S3Bucket, cdn: Cdn, tmp_path: Path) -> tuple[Settings, Manifest]:
    """One release published to the bucket with the CDN's base URL."""
    settings = s3_bucket.settings(base_url=cdn.base_url, manifest=tmp_path / "hashstore.json")
    manifest = publish_release(settings, release_files(1), work=tmp_path)
    manifest.save(settings.manifest)
    return settings, manifest


def _overwrite(bucket: S3Bucket, key: str, body: bytes, **extra: Any) -> None:
    """Store ``body`` under ``key`` as a careless tool (or a corrupting network) would."""
    bucket.client.put_object(Bucket=bucket.name, Key=bucket.prefix + key, Body=body, **extra)


@pytest.mark.store_checksums("verify compares digests only where the store returns them")
def test_a_clean_release_verifies_in_every_mode(published: tuple[Settings, Manifest]) -> None:
    settings, manifest = published
    quick = verify(settings, manifest)
    assert quick.ok
    assert quick.files == 5
    assert quick.digest_unchecked == ()  # the store recorded each SHA-256 at upload
    assert verify(settings, manifest, deep=True).ok
    served = verify(settings, manifest, via_cdn=True)
    assert served.ok, served.problems
    assert served.urls == 5
    assert "all present and intact" in served.summary()


def test_cli_verify_of_the_manifest_and_of_a_release(
    published: tuple[Settings, Manifest], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, manifest = published
    to = ["--to", str(settings.target), "--endpoint-url", str(settings.endpoint_url)]
    assert main(["verify", "--manifest", str(settings.manifest), *to, "--via-cdn"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("checked 5 object(s) (")
    assert f"of release {manifest.release} in s3://" in out
    assert "fetched 5 URL(s)" in out
    assert "all present and intact" in out
    assert main(["verify", "--release", manifest.release, *to, "--deep", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["deep"] is True
    assert report["problems"] == []


def test_a_deleted_object_is_reported_missing(
    published: tuple[Settings, Manifest], s3_bucket: S3Bucket, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, manifest = published
    key = manifest["img/logo.png"].key
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=s3_bucket.prefix + key)
    to = ["--to", str(settings.target), "--endpoint-url", str(settings.endpoint_url)]
    assert main(["verify", "--release", manifest.release, *to, "--via-cdn"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f"missing       img/logo.png -> s3://{s3_bucket.name}/{s3_bucket.prefix}{key}: "
        "no such object"
    )
    assert out[1] == f"http          img/logo.png -> {manifest.url('img/logo.png')}: 404 Not Found"
    assert "2 problem(s) in 1 file(s)" in out[2]


def test_a_corrupted_object_on_a_store_that_ignores_checksums(
    published: tuple[Settings, Manifest], s3_bucket: S3Bucket
) -> None:
    """moto, like some S3-compatible stores, keeps a body that does not match the SHA-256 sent
    with it: the store's checksum then vouches for bytes it does not hold. Only --deep (or the
    CDN check) reads the bytes and sees it. A store that returns no SHA-256 (radosgw) has the
    object's ETag compared with its MD5 instead, which quick verify sees."""
    settings, manifest = published
    entry = manifest["js/app.js"]
    good = s3_bucket.get(entry.key)
    bad = bytes([good[0] ^ 1]) + good[1:]
    _overwrite(
        s3_bucket,
        entry.key,
        bad,
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=base64.b64encode(bytes.fromhex(entry.sha256)).decode(),
        ContentType="text/javascript; charset=utf-8",
        CacheControl=settings.cache_control,
    )
    head = s3_bucket.client.head_object(
        Bucket=s3_bucket.name, Key=s3_bucket.prefix + entry.key, ChecksumMode="ENABLED"
    )
    quick = verify(settings, manifest)
    if "ChecksumSHA256" in head:  # moto: the HEAD sees the right size and checksum
        assert quick.ok
    else:  # radosgw: the ETag is the MD5 of the bytes it holds
        assert [(p.name, p.kind) for p in quick.problems] == [("js/app.js", "md5")]
        assert f"ETag {_md5(bad)} != MD5 {entry.md5}" in quick.problems[0].detail
    deep = verify(settings, manifest, deep=True)
    assert [(p.name, p.kind) for p in deep.problems] in (
        [("js/app.js", "sha256")],
        [("js/app.js", "unreadable")],  # a store that checks the body against its checksum
    )
    served = verify(settings, manifest, via_cdn=True)
    assert served.problems[:-1] == quick.problems  # the store's check, as without --via-cdn
    assert (served.problems[-1].name, served.problems[-1].kind) == ("js/app.js", "bytes")
    assert hashlib.sha256(bad).hexdigest() in served.problems[-1].detail


@pytest.mark.store_checksums("the other objects' digests must be checked from the store's SHA-256")
def test_corruption_without_a_stored_checksum(
    published: tuple[Settings, Manifest], s3_bucket: S3Bucket
) -> None:
    """An object stored again without a checksum: its ETag, the MD5 the store computed, shows
    the other bytes (the others are checked by their SHA-256)."""
    settings, manifest = published
    same_size = manifest["css/app.css"]
    body = s3_bucket.get(same_size.key)
    _overwrite(s3_bucket, same_size.key, body.upper())  # no checksum kept with it
    shorter = manifest["js/vendor.js"]
    _overwrite(s3_bucket, shorter.key, b"short")
    report = verify(settings, manifest)
    assert [(p.name, p.kind) for p in report.problems] == [
        ("css/app.css", "md5"),
        ("js/vendor.js", "size"),
    ]
    assert report.problems[1].detail == f"5 bytes stored, {shorter.size:,} recorded"
    assert report.digest_unchecked == ()
    assert report.md5_checked == ()
    deep = verify(settings, manifest, deep=True)
    assert sorted((p.name, p.kind) for p in deep.problems) == [
        ("css/app.css", "sha256"),
        ("js/vendor.js", "size"),
    ]
    assert deep.digest_unchecked == ()


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _without_sha256(
    s3_bucket: S3Bucket, tmp_path: Path, files: dict[str, str | bytes], **changes: Any
) -> tuple[Settings, Manifest]:
    """``files`` published with ``checksum = "md5"``: the store keeps no SHA-256 of any object,
    as radosgw keeps none whatever the setting."""
    settings = s3_bucket.settings(checksum="md5", manifest=tmp_path / "hashstore.json", **changes)
    manifest = publish_release(settings, files, work=tmp_path)
    manifest.save(settings.manifest)
    return settings, manifest


def test_quick_verify_confirms_bytes_by_etag_where_the_store_keeps_no_sha256(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The manifest records each file's MD5; a single-request upload's ETag is the MD5 the store
    computed of the bytes it holds, so the HeadObject verify makes anyway confirms them, and
    shows an object damaged since, with no request more."""
    settings, manifest = _without_sha256(s3_bucket, tmp_path, release_files(1))
    for name, entry in manifest.items():
        assert entry.md5 == _md5(s3_bucket.get(entry.key)), name
    proxied = settings.with_changes(endpoint_url=s3_proxy.url)
    report = verify(proxied, manifest)
    assert report.ok, report.problems
    assert report.md5_checked == tuple(sorted(manifest))
    assert report.digest_unchecked == ()
    assert "5 object(s) confirmed by their ETag, the MD5 the store computed" in report.summary()
    assert s3_proxy.operations == {"HeadObject": 5}

    entry = manifest["css/app.css"]
    bad = s3_bucket.get(entry.key).upper()  # the same size, other bytes
    assert len(bad) == entry.size
    _overwrite(s3_bucket, entry.key, bad)
    s3_proxy.reset()
    report = verify(proxied, manifest)
    assert s3_proxy.operations == {"HeadObject": 5}
    assert [(p.name, p.kind) for p in report.problems] == [("css/app.css", "md5")]
    where = f"s3://{s3_bucket.name}/{s3_bucket.prefix}{entry.key}"
    assert str(report.problems[0]) == (
        f"md5           css/app.css -> {where}: stored bytes differ: ETag {_md5(bad)} != MD5 "
        f"{entry.md5} recorded (a single-request upload's ETag is the MD5 of its bytes; --deep "
        "reads and hashes them)"
    )
    assert len(report.md5_checked) == 4
    to = ["--to", s3_bucket.target, "--endpoint-url", s3_proxy.url, "--json"]
    assert main(["verify", "--manifest", str(settings.manifest), *to]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert [(p["key"], p["kind"]) for p in printed["problems"]] == [(entry.key, "md5")]
    assert sorted(printed["md5_checked"]) == sorted(set(manifest) - {"css/app.css"})


def test_multipart_objects_are_not_checked_without_deep_where_the_store_keeps_no_sha256(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    """A multipart object's ETag is the MD5 of its parts' MD5s, not of its bytes: only its size
    is compared, and the summary says --deep checks it."""
    big = bytes(range(256)) * (6 * 4096)  # 6 MiB: two parts of at most 5 MiB
    files: dict[str, str | bytes] = {"media/big.bin": big, "css/a.css": "a{color:red}"}
    settings, manifest = _without_sha256(
        s3_bucket,
        tmp_path,
        files,
        multipart_threshold=5 * 1024 * 1024,
        multipart_chunksize=5 * 1024 * 1024,
    )
    assert s3_bucket.client.head_object(
        Bucket=s3_bucket.name, Key=s3_bucket.prefix + manifest["media/big.bin"].key
    )["ETag"].endswith('-2"')
    proxied = settings.with_changes(endpoint_url=s3_proxy.url)
    report = verify(proxied, manifest)
    assert report.ok, report.problems
    assert report.md5_checked == ("css/a.css",)
    assert report.digest_unchecked == ("media/big.bin",)
    assert report.multipart_unchecked == ("media/big.bin",)
    assert report.summary().endswith(
        "; 1 object(s) confirmed by their ETag, the MD5 the store computed (it keeps no SHA-256 "
        "for them); SHA-256 not checked for 1 object(s) the store keeps no whole-object checksum "
        "for (size only; --deep reads and hashes them; 1 of them multipart upload(s), whose ETag "
        "is no MD5 of their bytes: not checked without --deep)"
    )
    assert s3_proxy.operations == {"HeadObject": 2}
    deep = verify(proxied, manifest, deep=True)
    assert deep.ok
    assert deep.digest_unchecked == deep.multipart_unchecked == deep.md5_checked == ()


def test_a_manifest_without_md5s_has_sizes_checked_as_before(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    """Manifests written before 0.2 record no MD5: only sizes are compared where the store keeps
    no SHA-256, as then, and the summary says so."""
    settings, manifest = _without_sha256(s3_bucket, tmp_path, release_files(1))
    document = manifest.to_dict()
    for item in document["files"].values():
        del item["md5"]
    old = Manifest.parse(json.dumps(document).encode())
    entry = old["css/app.css"]
    _overwrite(s3_bucket, entry.key, s3_bucket.get(entry.key).upper())
    report = verify(settings, old)
    assert report.ok  # the same size: nothing to compare the ETag with
    assert report.md5_checked == report.multipart_unchecked == ()
    assert report.digest_unchecked == tuple(sorted(old))
    assert report.summary().endswith(
        "; SHA-256 not checked for 5 object(s) the store keeps no whole-object checksum for "
        "(size only; --deep reads and hashes them)"
    )
    assert [p.name for p in verify(settings, old, deep=True).problems] == ["css/app.css"]


# radosgw's test cluster has no KMS to encrypt with (it refuses aws:kms without one).
@pytest.mark.moto_only
def test_an_sse_kms_etag_is_no_md5(s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path) -> None:
    """With SSE-KMS, S3's ETag is no MD5 of the bytes: verify does not compare it (moto's is,
    so other bytes stored that way would be reported if verify did)."""
    settings, manifest = _without_sha256(s3_bucket, tmp_path, release_files(1))
    entry = manifest["js/app.js"]
    bad = s3_bucket.get(entry.key).upper()
    _overwrite(s3_bucket, entry.key, bad, ServerSideEncryption="aws:kms")
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=s3_bucket.prefix + entry.key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["ETag"].strip('"') == _md5(bad)  # moto: still the MD5
    report = verify(settings.with_changes(endpoint_url=s3_proxy.url), manifest)
    assert report.ok
    assert report.digest_unchecked == ("js/app.js",)
    assert s3_proxy.operations == {"HeadObject": 5}


def test_wrong_headers_are_caught_through_the_cdn(
    published: tuple[Settings, Manifest], s3_bucket: S3Bucket
) -> None:
    settings, manifest = published
    entry = manifest["css/app.css"]
    _overwrite(
        s3_bucket,
        entry.key,
        s3_bucket.get(entry.key),
        ContentType="application/octet-stream",
        CacheControl="max-age=60",
        ChecksumAlgorithm="SHA256",
    )
    assert verify(settings, manifest).ok  # the bytes are right
    report = verify(settings, manifest, via_cdn=True)
    assert [(p.name, p.kind) for p in report.problems] == [
        ("css/app.css", "cache-control"),
        ("css/app.css", "content-type"),
    ]
    assert report.problems[1].detail == (
        "Content-Type is 'application/octet-stream', expected 'text/css; charset=utf-8'"
    )
    assert report.problems[1].where == manifest.url("css/app.css")


def test_via_cdn_needs_an_absolute_base_url(tmp_path: Path) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    manifest = publish_release(settings, release_files(1), work=tmp_path)
    with pytest.raises(ConfigError, match="--via-cdn needs an absolute base URL"):
        verify(settings, manifest, via_cdn=True)


def test_a_local_target_is_verified_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bucket"
    settings = Settings(target=str(out), manifest=tmp_path / "m.json")
    manifest = publish_release(settings, release_files(1), work=tmp_path)
    manifest.save(settings.manifest)
    quick = verify(settings, manifest)
    assert quick.ok
    assert len(quick.digest_unchecked) == 5  # a directory keeps no checksums: sizes only
    (out / manifest["img/logo.png"].key).unlink()
    (out / manifest["js/app.js"].key).write_text("console.log(X)")  # same size, other bytes
    args = ["verify", "--to", str(out), "--manifest", str(settings.manifest), "--deep", "--json"]
    assert main(args) == 1
    report = json.loads(capsys.readouterr().out)
    assert sorted((p["name"], p["kind"]) for p in report["problems"]) == [
        ("img/logo.png", "missing"),
        ("js/app.js", "sha256"),
    ]


def test_manifest_and_release_are_exclusive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["verify", "--to", str(tmp_path), "--manifest", "m.json", "--release", "x"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_missing_manifest_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--to", str(tmp_path), "--manifest", str(tmp_path / "m.json")]) == 1
    assert "does not exist: run `hashstore publish`" in capsys.readouterr().err


def test_object_parameters_set_the_expected_content_type() -> None:
    settings = Settings(object_parameters={"*.map": {"ContentType": "application/octet-stream"}})
    assert expected_content_type(settings, "js/app.js.map") == "application/octet-stream"
    assert expected_content_type(settings, "js/app.js") == "text/javascript; charset=utf-8"


def test_verify_reads_the_local_target_through_open_target(tmp_path: Path) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    manifest = publish_release(settings, release_files(2), work=tmp_path)
    target = open_target(settings)
    report = verify(settings, manifest, target=target, deep=True)
    assert report.ok
    assert report.deep
    assert report.digest_unchecked == ()


def test_manage_py_hashstore_verify(tmp_path: Path) -> None:
    from .django_support import collectstatic, setup_django, site, storages

    setup_django()
    from django.core.management import call_command
    from django.core.management.base import CommandError

    static_root, public = tmp_path / "static", tmp_path / "public"
    with site(static_root, STORAGES=storages(target=str(public), base_url="/assets/")):
        collectstatic()
        out = StringIO()
        call_command("hashstore_verify", "--deep", stdout=out)
        assert "all present and intact" in out.getvalue()
        manifest = Manifest.load(static_root / "hashstore.json")
        key = manifest["site/css/site.css"].key
        (public / key).unlink()
        out = StringIO()
        with pytest.raises(CommandError, match="some objects are missing or damaged") as exc:
            call_command("hashstore_verify", "--json", stdout=out)
        assert exc.value.returncode == 1
        report = json.loads(out.getvalue())
        assert [(p["name"], p["kind"]) for p in report["problems"]] == [
            ("site/css/site.css", "missing")
        ]


MB = 1024 * 1024
DEEP_RSS_LIMIT = 100 * MB
"""The bound on ``verify --deep``'s peak memory, whatever the size of the objects."""


def _write_big(path: Path, megabytes: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    block = hashlib.sha256(b"seed").digest() * (MB // 32)
    with path.open("wb") as out:
        for i in range(megabytes):
            out.write(i.to_bytes(4, "big") + block[4:])


def _deep_verify_rss(tmp_path: Path, target_args: list[str], manifest: Path) -> int:
    argv = [sys.executable, "-m", "hashstore", "verify", *target_args]
    result, peak = run_peak_rss([*argv, "--manifest", str(manifest), "--deep"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("read and hashed 1 object(s) (")
    assert "all present and intact" in result.stdout
    return peak


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_deep_verify_streams_a_big_local_object(tmp_path: Path) -> None:
    """300 MB read and hashed in well under 100 MB of memory (the bound holds for 1 GB)."""
    _write_big(tmp_path / "src/media/big.bin", 300)
    out, manifest = tmp_path / "out", tmp_path / "hashstore.json"
    assert (
        main(["publish", str(tmp_path / "src"), "--to", str(out), "--manifest", str(manifest)]) == 0
    )
    peak = _deep_verify_rss(tmp_path, ["--to", str(out)], manifest)
    assert peak < DEEP_RSS_LIMIT, f"peak RSS {peak / MB:.0f} MB"

    # A stored object with other bytes of the same size is still found.
    stored = out / Manifest.load(manifest)["media/big.bin"].key
    with stored.open("r+b") as damaged:
        damaged.seek(200 * MB)
        damaged.write(b"\xff")
    assert main(["verify", "--to", str(out), "--manifest", str(manifest), "--deep"]) == 1


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_deep_verify_streams_a_big_s3_object(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    _write_big(tmp_path / "src/media/big.bin", 300)
    settings = s3_bucket.settings(sources=(tmp_path / "src",), manifest=tmp_path / "m.json")
    from hashstore.publish import publish

    publish(settings)
    target_args = ["--to", s3_bucket.target, "--endpoint-url", s3_bucket.endpoint_url]
    peak = _deep_verify_rss(tmp_path, target_args, settings.manifest)
    assert peak < DEEP_RSS_LIMIT, f"peak RSS {peak / MB:.0f} MB"
