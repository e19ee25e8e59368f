from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from hashstore.errors import ManifestError, UnknownAssetError
from hashstore.manifest import Manifest, ManifestEntry, integrity_of


def entry(key: str, data: bytes = b"x") -> ManifestEntry:
    digest = hashlib.sha256(data).hexdigest()
    return ManifestEntry(key, digest, len(data), integrity_of(digest))


def sample(base_url: str = "https://cdn.example.com/static/") -> Manifest:
    return Manifest(
        {
            "css/app.css": entry("css/app.0123456789ab.css", b"body{}"),
            "img/my logo.png": entry("img/my logo.0123456789ab.png"),
            "img/café.svg": entry("img/café.0123456789ab.svg"),
        },
        release="r1",
        base_url=base_url,
    )


def test_integrity_is_sha256_base64_of_the_digest() -> None:
    digest = hashlib.sha256(b"body{}").hexdigest()
    expected = "sha256-" + base64.b64encode(hashlib.sha256(b"body{}").digest()).decode()
    assert integrity_of(digest) == expected


def test_url_is_base_url_plus_key_percent_encoded() -> None:
    m = sample()
    assert m.url("css/app.css") == "https://cdn.example.com/static/css/app.0123456789ab.css"
    assert (
        m.url("img/my logo.png") == "https://cdn.example.com/static/img/my%20logo.0123456789ab.png"
    )
    assert m.url("img/café.svg") == "https://cdn.example.com/static/img/caf%C3%A9.0123456789ab.svg"


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "hashstore.json"
    sample().save(path)
    loaded = Manifest.load(path)
    assert dict(loaded) == dict(sample())
    assert loaded.release == "r1"
    assert path.read_bytes() == sample().to_json()
    data = json.loads(path.read_text())
    assert data["hashstore"] == 1
    assert set(data["files"]["css/app.css"]) == {"key", "sha256", "size", "integrity"}
    assert [p.name for p in path.parent.iterdir()] == ["hashstore.json"]  # no temp file left


def test_save_replaces_atomically_and_leaves_the_old_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hashstore.json"
    sample().save(path)
    before = path.read_bytes()

    def broken(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("hashstore.manifest.os.replace", broken)
    with pytest.raises(ManifestError, match=f"cannot write manifest {path}: disk full"):
        Manifest({}, release="r2", base_url="/").save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["hashstore.json"]


def test_url_base_overrides_the_recorded_base_url(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    sample().save(path)
    m = Manifest.load(path, url_base="/assets/")
    assert m.url("css/app.css") == "/assets/css/app.0123456789ab.css"
    assert m.base_url == "https://cdn.example.com/static/"


def test_unknown_name_names_the_manifest_and_close_matches(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    sample().save(path)
    with pytest.raises(UnknownAssetError) as info:
        Manifest.load(path).url("css/ap.css")
    message = str(info.value)
    assert "'css/ap.css'" in message
    assert str(path) in message
    assert "'css/app.css'" in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "is not valid JSON"),
        (b"[]", "not a hashstore manifest"),
        (b'{"hashstore": 2, "release": "r", "base_url": "/", "files": {}}', "format version 2"),
        (b'{"hashstore": 1, "release": 3, "base_url": "/", "files": {}}', "must be strings"),
        (b'{"hashstore": 1, "release": "r", "base_url": "/", "files": []}', "must be an object"),
        (
            b'{"hashstore": 1, "release": "r", "base_url": "/", "files": {"a": {"key": "a"}}}',
            "entry 'a' is malformed",
        ),
        (
            b'{"hashstore": 1, "release": "r", "base_url": "/", "files": {"a": {"key": "a",'
            b' "sha256": "zz", "size": 1, "integrity": "x"}}}',
            "not a hex SHA-256",
        ),
    ],
)
def test_invalid_manifests_are_rejected_clearly(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ManifestError, match=expected) as info:
        Manifest.load(path)
    assert str(path) in str(info.value)


def test_missing_manifest_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="run `hashstore publish`"):
        Manifest.load(tmp_path / "nope.json")


def test_md5_is_optional_round_trips_and_is_checked(tmp_path: Path) -> None:
    md5 = hashlib.md5(b"body{}", usedforsecurity=False).hexdigest()
    digest = hashlib.sha256(b"body{}").hexdigest()
    files = {
        "a.css": ManifestEntry("a.0123456789ab.css", digest, 6, integrity_of(digest), md5),
        "b.css": ManifestEntry("b.0123456789ab.css", digest, 6, integrity_of(digest)),
    }
    manifest = Manifest(files, release="r1", base_url="/static/")
    document = json.loads(manifest.to_json())
    assert document["files"]["a.css"]["md5"] == md5
    assert "md5" not in document["files"]["b.css"]  # unknown (built by hand, or an old file)
    again = Manifest.parse(manifest.to_json())
    assert again["a.css"].md5 == md5
    assert again["b.css"].md5 is None
    document["files"]["a.css"]["md5"] = md5.upper()
    with pytest.raises(ManifestError, match="is not a hex MD5 digest"):
        Manifest.parse(json.dumps(document).encode())
