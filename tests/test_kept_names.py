"""A kept name never hides changed bytes, on a directory and on S3 (through the counting proxy).

A file that keeps its own name (a bundler's output, a `prehashed` glob, a `hashed_pattern`) has
a key that does not change with its bytes, so "present" must mean "present with the same bytes":
a changed file is refused with an error naming it, never skipped and never overwritten. A name
that only looks hashed is hashed by content, so a change is published under a new key.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hashstore.errors import KeptNameChangedError, PublishError
from hashstore.manifest import Manifest
from hashstore.publish import publish
from hashstore.settings import MIB, Settings
from hashstore.targets.base import RELEASES_PREFIX
from hashstore.targets.s3 import S3Target

from .helpers import make_tree, tree_bytes

if TYPE_CHECKING:
    from .conftest import S3Bucket
    from .s3proxy import S3Proxy


@dataclass
class Place:
    """Where a test publishes: settings for a source tree, and the stored bytes by key."""

    kind: str
    settings: Callable[..., Settings]
    stored: Callable[[], dict[str, bytes]]
    proxy: S3Proxy | None = None

    def where(self, key: str) -> str:
        """How the error names a stored object."""
        target = self.settings().target
        assert target is not None
        return f"{target}{key}" if self.kind == "s3" else str(Path(target) / key)


@pytest.fixture(params=["directory", "s3"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    base: dict[str, Any] = {"sources": (tmp_path / "src",), "manifest": tmp_path / "hs.json"}
    if request.param == "directory":
        out = tmp_path / "out"
        yield Place(
            "directory",
            lambda **c: Settings(**{**base, "target": str(out) + "/", **c}),
            lambda: tree_bytes(out) if out.exists() else {},
        )
        return
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    proxy: S3Proxy = request.getfixturevalue("s3_proxy")
    options = {**base, "endpoint_url": proxy.url, "multipart_threshold": 5 * MIB}
    options["multipart_chunksize"] = 5 * MIB
    yield Place(
        "s3",
        lambda **c: bucket.settings(**{**options, **c}),
        lambda: _stored(bucket),
        proxy,
    )


def _stored(bucket: S3Bucket) -> dict[str, bytes]:
    keys = bucket.keys()
    return {key: bucket.get(key) for key in keys}


def _records(stored: dict[str, bytes]) -> list[str]:
    return [key for key in stored if key.startswith(RELEASES_PREFIX)]


VITE_MANIFEST = {
    "src/main.js": {
        "file": "assets/main-BfD3a9xq.js",
        "isEntry": True,
        "css": ["assets/main-Dk3_x9aZ.css"],
        "assets": ["assets/logo-AbCdEf12.png"],
    }
}


def _vite_tree(root: Path, js: str = "console.log('a');\n") -> None:
    make_tree(
        root,
        {
            ".vite/manifest.json": json.dumps(VITE_MANIFEST),
            "assets/main-BfD3a9xq.js": js,
            "assets/main-Dk3_x9aZ.css": ".a{background:url(./logo-AbCdEf12.png)}",
            "assets/logo-AbCdEf12.png": b"png",
        },
    )


@pytest.mark.parametrize(
    "name", ["css/app-20240115.css", "css/app.3f2a9c1b.css", "assets/index-BfD3a9xq.css"]
)
def test_a_name_that_only_looks_hashed_changed_at_the_same_size_gets_a_new_key(
    place: Place, tmp_path: Path, name: str
) -> None:
    # A date, a hex run, a Vite-style hash: without a bundler manifest listing it, or a
    # `prehashed`/`hashed_pattern` setting, none of them proves anything.
    src = tmp_path / "src"
    make_tree(src, {name: "a{color:red}"})
    first = publish(place.settings())
    old_key = first.manifest[name].key
    assert old_key != name

    make_tree(src, {name: "a{color:tan}"})
    second = publish(place.settings())
    assert second.uploaded == (name,)
    new_key = second.manifest[name].key
    assert new_key != old_key
    stored = place.stored()
    assert stored[old_key] == b"a{color:red}"  # the previous release still works
    assert stored[new_key] == b"a{color:tan}"
    entry = Manifest.load(place.settings().manifest)[name]
    assert entry.sha256 == hashlib.sha256(b"a{color:tan}").hexdigest()


@pytest.mark.parametrize("trust", ["hashed_pattern", "prehashed", "vite"])
def test_a_kept_name_whose_bytes_changed_at_the_same_size_is_refused(
    place: Place, tmp_path: Path, trust: str
) -> None:
    src = tmp_path / "src"
    options: dict[str, Any] = {}
    if trust == "vite":
        _vite_tree(src)
        name = "assets/main-BfD3a9xq.js"
        changed: str | bytes = "console.log('b');\n"
    else:
        make_tree(src, {"css/app-20240115.css": "a{color:red}"})
        name, changed = "css/app-20240115.css", "a{color:tan}"
        if trust == "hashed_pattern":
            options["hashed_pattern"] = r"-\d{8}\.css$"
        else:
            options["prehashed"] = ("css/*",)
    settings = place.settings(**options)
    first = publish(settings)
    assert first.manifest[name].key == name
    before = place.stored()
    manifest_before = settings.manifest.read_bytes()

    make_tree(src, {name: changed})
    if place.proxy is not None:
        place.proxy.reset()
    with pytest.raises(KeptNameChangedError) as info:
        publish(settings)
    message = str(info.value)
    assert f"{name} ({src / name}): {place.where(name)} holds other bytes of the same size" in (
        message
    )
    assert "nothing was uploaded or recorded" in message
    why = {
        "hashed_pattern": "its name matches `hashed_pattern`",
        "prehashed": "it matches `prehashed`",
        "vite": f"listed by {src / '.vite/manifest.json'}",
    }[trust]
    assert f"(name kept: {why})" in message
    assert info.value.changed[0].name == name
    # Nothing overwritten, nothing recorded, the manifest untouched.
    after = place.stored()
    assert after[name] == before[name]
    assert _records(after) == _records(before)
    assert settings.manifest.read_bytes() == manifest_before
    if place.proxy is not None:
        # Only the pending marker was written; the changed file was never sent.
        puts = place.proxy.requests_for("PutObject")
        assert [r.path.rsplit("/", 2)[-2] for r in puts] == ["pending"]
        assert "UploadPart" not in place.proxy.operations


def test_a_kept_name_of_another_size_is_refused_too(place: Place, tmp_path: Path) -> None:
    src = tmp_path / "src"
    _vite_tree(src)
    publish(place.settings())
    make_tree(src, {"assets/main-BfD3a9xq.js": "console.log('longer');\n"})
    with pytest.raises(KeptNameChangedError, match=r"holds 18 bytes; this build has 23"):
        publish(place.settings())


def test_unchanged_bundler_output_republishes_without_asking_the_store(
    place: Place, tmp_path: Path
) -> None:
    """Bundler output in the tree, one file in multipart size: the S3 request bounds hold,
    because the listing's ETag (computed locally, multipart too) decides."""
    src = tmp_path / "src"
    _vite_tree(src)
    manifest = dict(VITE_MANIFEST)
    video = "assets/clip-Zx9Yw8Vu.mp4"
    manifest["src/clip.js"] = {"file": "assets/clip-Q1w2E3r4.js", "assets": [video]}
    make_tree(
        src,
        {
            ".vite/manifest.json": json.dumps(manifest),
            "assets/clip-Q1w2E3r4.js": "export default 1;\n",
            video: bytes(range(256)) * (11 * MIB // 256) + b"tail",  # 3 parts of 5 MiB
            "css/site.css": "body{}",
        },
    )
    settings = place.settings(jobs=4)
    cold = publish(settings)
    kept = {n for n, e in cold.manifest.items() if e.key == n}
    assert kept == {
        "assets/main-BfD3a9xq.js",
        "assets/main-Dk3_x9aZ.css",
        "assets/logo-AbCdEf12.png",
        "assets/clip-Q1w2E3r4.js",
        video,
    }
    stored = place.stored()
    assert stored[video] == (src / video).read_bytes()
    if place.proxy is not None:
        # The single-part objects, the marker and the record; the video in 3 parts.
        assert place.proxy.operations["PutObject"] == len(cold.manifest) - 1 + 2
        assert place.proxy.operations["UploadPart"] == 3
        place.proxy.reset()
    warm = publish(settings)
    assert warm.uploaded == ()
    assert len(warm.plan.present) == len(cold.manifest)
    if place.proxy is not None:
        k = len(stored)
        assert place.proxy.total <= math.ceil(k / 1000) + 2, place.proxy.operations
        assert place.proxy.operations == Counter({"PutObject": 2, "ListObjectsV2": 1})


def test_request_bounds_hold_with_bundler_output_in_the_tree(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    """Cold <= N + ceil(N/1000) + 3 and warm <= ceil(K/1000) + 2, past one listing page, with
    most of the tree kept by a Vite manifest."""
    src = tmp_path / "src"
    chunks = {f"src/c{i}.js": {"file": f"assets/c{i}-{i:08x}.js"} for i in range(1050)}
    files: dict[str, str | bytes] = {".vite/manifest.json": json.dumps(chunks)}
    files.update({c["file"]: f"export const c = {i};\n" for i, c in enumerate(chunks.values())})
    files.update({f"img/i{i}.png": f"png {i}" for i in range(50)})
    make_tree(src, files)
    settings = s3_bucket.settings(
        sources=(src,), manifest=tmp_path / "hs.json", endpoint_url=s3_proxy.url, jobs=32
    )
    cold = publish(settings)
    n = len(cold.manifest)
    assert n == 1100
    assert sum(1 for name, e in cold.manifest.items() if e.key == name) == 1050
    assert s3_proxy.total <= n + math.ceil(n / 1000) + 3, s3_proxy.operations
    print(f"cold: N={n}, {s3_proxy.total} requests <= {n + math.ceil(n / 1000) + 3}")
    k = len(s3_bucket.keys())
    s3_proxy.reset()
    warm = publish(settings)
    assert warm.uploaded == ()
    assert s3_proxy.total <= math.ceil(k / 1000) + 2, s3_proxy.operations
    print(f"warm: K={k}, {s3_proxy.total} requests <= {math.ceil(k / 1000) + 2}")
    assert "HeadObject" not in s3_proxy.operations
    assert "GetObject" not in s3_proxy.operations


# -- S3: where the ETag cannot decide ---------------------------------------------------------


def _upload_in_parts(bucket: S3Bucket, key: str, data: bytes, part_size: int) -> None:
    client = bucket.client
    upload = client.create_multipart_upload(Bucket=bucket.name, Key=bucket.prefix + key)
    parts = []
    for number, start in enumerate(range(0, len(data), part_size), 1):
        answer = client.upload_part(
            Bucket=bucket.name,
            Key=bucket.prefix + key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data[start : start + part_size],
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    client.complete_multipart_upload(
        Bucket=bucket.name,
        Key=bucket.prefix + key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )


def test_other_part_sizes_are_read_and_compared(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    """Same bytes stored by another uploader in 5 MiB parts (hashstore's would be 6 MiB): the
    ETags differ, the store keeps no SHA-256, so the object is read once; same bytes pass."""
    data = bytes(range(256)) * (11 * MIB // 256)
    name = "vendor/model-3f2a9c1b.bin"
    make_tree(tmp_path / "src", {name: data})
    _upload_in_parts(s3_bucket, name, data, 5 * MIB)
    settings = s3_bucket.settings(
        sources=(tmp_path / "src",),
        manifest=tmp_path / "hs.json",
        endpoint_url=s3_proxy.url,
        prehashed=("vendor/*",),
        multipart_threshold=6 * MIB,
        multipart_chunksize=6 * MIB,
    )
    report = publish(settings)
    assert report.uploaded == ()
    assert s3_proxy.operations["HeadObject"] == 1
    assert s3_proxy.operations["GetObject"] == 1

    changed = bytearray(data)
    changed[7 * MIB] ^= 1
    _upload_in_parts(s3_bucket, name, bytes(changed), 5 * MIB)
    s3_proxy.reset()
    with pytest.raises(KeptNameChangedError, match="holds other bytes of the same size"):
        publish(settings)
    assert s3_proxy.operations["GetObject"] == 1
    assert "UploadPart" not in s3_proxy.operations


@pytest.mark.store_checksums("the SHA-256 HeadObject returns must decide, with no read")
def test_a_stored_sha256_decides_without_reading(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    """The listing's ETag differs (as under SSE-KMS, or other bytes): one HeadObject with
    checksum mode, whose SHA-256 decides; the object is not read."""
    name = "css/app-20240115.css"
    make_tree(tmp_path / "src", {name: "a{color:tan}"})
    s3_bucket.client.put_object(
        Bucket=s3_bucket.name,
        Key=s3_bucket.prefix + name,
        Body=b"a{color:red}",
        ChecksumAlgorithm="SHA256",
    )
    settings = s3_bucket.settings(
        sources=(tmp_path / "src",),
        manifest=tmp_path / "hs.json",
        endpoint_url=s3_proxy.url,
        hashed_pattern=r"-\d{8}\.css$",
    )
    with pytest.raises(KeptNameChangedError, match=rf"{name} \(.*\): s3://.*/{name} holds other"):
        publish(settings)
    assert s3_proxy.operations["HeadObject"] == 1
    assert "GetObject" not in s3_proxy.operations
    assert s3_bucket.get(name) == b"a{color:red}"


def test_a_kept_name_stored_meanwhile_with_other_bytes_fails_the_upload(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another publisher stores the kept name between the listing and the upload (412): the
    stored object is compared as a listed one would be, never taken on its size."""
    name = "vendor/lib-1a2b3c4d.js"
    make_tree(tmp_path / "src", {name: "export const a = 1;\n", "x.txt": "x"})
    settings = s3_bucket.settings(
        sources=(tmp_path / "src",),
        manifest=tmp_path / "hs.json",
        endpoint_url=s3_proxy.url,
        prehashed=("vendor/*",),
    )
    target = S3Target(settings)
    listing = target.find_objects

    def race(keys: Any) -> Any:
        found = listing(keys)
        s3_bucket.client.put_object(
            Bucket=s3_bucket.name, Key=s3_bucket.prefix + name, Body=b"export const a = 2;\n"
        )
        return found

    monkeypatch.setattr(target, "find_objects", race)
    with target, pytest.raises(PublishError) as info:
        publish(settings, target=target)
    assert f"{name} keeps its own name, and another publisher stored it meanwhile" in str(
        info.value
    )
    assert "holds other bytes of the same size" in str(info.value)
    assert s3_bucket.get(name) == b"export const a = 2;\n"
    assert not settings.manifest.exists()


BUNDLES = Path(__file__).parent / "fixtures" / "bundlers"


def test_real_vite_and_webpack_output_publishes_whole_within_the_request_bounds(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    """Real Vite 8 and webpack 5 output (tests/fixtures/bundlers) beside ordinary files:
    every listed output keeps its name and bytes, a warm publish is the marker, the listing
    and the record (no HeadObject, no GetObject), and a chunk changed at the same size is
    refused before anything is uploaded."""
    src = tmp_path / "src"
    shutil.copytree(BUNDLES / "vite", src / "vite")
    shutil.copytree(BUNDLES / "webpack", src / "webpack")
    make_tree(src, {"css/site.css": ".a{background:url(../img/a.png)}", "img/a.png": b"png"})
    settings = s3_bucket.settings(
        sources=(src,), manifest=tmp_path / "hs.json", endpoint_url=s3_proxy.url
    )
    cold = publish(settings)
    n = len(cold.manifest)
    assert s3_proxy.total <= n + math.ceil(n / 1000) + 3, s3_proxy.operations
    kept = {name for name, entry in cold.manifest.items() if entry.key == name}
    assert "vite/assets/main-Dm7XGA0i.js" in kept
    assert "webpack/main.4d5be395.js" in kept
    assert "webpack/assets/logo.fb20ddce.png" in kept
    assert {"css/site.css", "img/a.png", "webpack/manifest.json"}.isdisjoint(kept)
    for name in kept:
        assert s3_bucket.get(name) == (src / name).read_bytes(), name

    k = len(s3_bucket.keys())
    s3_proxy.reset()
    assert publish(settings).uploaded == ()
    assert s3_proxy.total <= math.ceil(k / 1000) + 2
    assert s3_proxy.operations == Counter({"PutObject": 2, "ListObjectsV2": 1})

    chunk = src / "vite/assets/format-CC8VPYeM.js"
    data = bytearray(chunk.read_bytes())
    data[0] = ord(" ") if data[0] != ord(" ") else ord("\n")
    chunk.write_bytes(bytes(data))
    s3_proxy.reset()
    with pytest.raises(KeptNameChangedError, match=r"vite/assets/format-CC8VPYeM\.js \("):
        publish(settings)
    assert "UploadPart" not in s3_proxy.operations
    assert s3_proxy.operations["PutObject"] == 1  # the pending marker only


def test_the_same_bytes_in_as_many_parts_cut_elsewhere_are_read_not_refused(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    """Stored in two parts of 5.5 MiB with SHA-256 checksums, where hashstore would cut 6 + 5:
    the ETags and the composite checksums differ although the bytes are the same, so the
    object is read, and the publish goes on."""
    data = bytes(range(256)) * (11 * MIB // 256)
    name = "vendor/model-3f2a9c1b.bin"
    make_tree(tmp_path / "src", {name: data})
    client, key = s3_bucket.client, s3_bucket.prefix + name
    upload = client.create_multipart_upload(
        Bucket=s3_bucket.name, Key=key, ChecksumAlgorithm="SHA256"
    )
    parts = []
    half = len(data) // 2
    for number, piece in enumerate((data[:half], data[half:]), 1):
        answer = client.upload_part(
            Bucket=s3_bucket.name,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=piece,
            ChecksumAlgorithm="SHA256",
        )
        part = {"PartNumber": number, "ETag": answer["ETag"]}
        if "ChecksumSHA256" in answer:  # radosgw 16.2 keeps none
            part["ChecksumSHA256"] = answer["ChecksumSHA256"]
        parts.append(part)
    client.complete_multipart_upload(
        Bucket=s3_bucket.name,
        Key=key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )
    settings = s3_bucket.settings(
        sources=(tmp_path / "src",),
        manifest=tmp_path / "hs.json",
        endpoint_url=s3_proxy.url,
        prehashed=("vendor/*",),
        multipart_threshold=6 * MIB,
        multipart_chunksize=6 * MIB,
    )
    assert publish(settings).uploaded == ()
    assert s3_proxy.operations["HeadObject"] == 1
    assert s3_proxy.operations["GetObject"] == 1
