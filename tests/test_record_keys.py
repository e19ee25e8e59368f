"""Keys read from outside (manifests, release records, pins) are checked before a target sees them.

A key is relative to the target's root. A directory target joins it to a path, so a manifest
or release record naming ``../outside.css`` or ``/etc/passwd`` would make ``verify`` read, and
a record key with a ``..`` segment make ``put_record`` write, outside the target. Each such key
is refused with a message naming what is wrong, and no target call is made with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from hashstore.cli import main
from hashstore.errors import ManifestError
from hashstore.keys import check_key, integrity_of
from hashstore.manifest import Manifest
from hashstore.publish import publish
from hashstore.releases import list_releases
from hashstore.retention import prune
from hashstore.settings import Settings
from hashstore.targets import ObjectInfo, release_key
from hashstore.targets.base import (
    PRUNE_LOCK_KEY,
    check_record_key,
    pending_key,
    pin_key,
)
from hashstore.targets.local import LocalTarget

from .helpers import make_tree, tree_bytes

OUTSIDE = b"body { color: red }"

BAD_KEYS = [
    ("../outside.css", "has a '..' segment"),
    ("css/../../outside.css", "has a '..' segment"),
    ("..", "has a '..' segment"),
    ("/etc/passwd", "starts with '/'"),
    ("css\\..\\..\\outside.css", "has a backslash"),
    ("css/app\x00.css", "has a control character"),
    ("css/app\n.css", "has a control character"),
    ("css/app\x9b.css", "has a control character"),
    ("", "is not a non-empty string"),
]


@pytest.mark.parametrize(("key", "reason"), BAD_KEYS)
def test_check_key_refuses_keys_that_leave_the_root(key: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_key(key)


@pytest.mark.parametrize(
    "key", ["css/app.3f2a9c1b7d4e.css", "a..b/c..d.js", "img/ünïcode name.png", "x/.well-known"]
)
def test_check_key_accepts_what_a_build_writes(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    "key", [release_key("r1"), pending_key("r1"), pin_key("production"), PRUNE_LOCK_KEY]
)
def test_check_record_key_accepts_hashstores_own_records(key: str) -> None:
    assert check_record_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("css/app.3f2a9c1b7d4e.css", "is not a key under .hashstore/"),
        (".hashstore/", "is not a key under .hashstore/"),
        ("/.hashstore/pins/x", "is not a key under .hashstore/"),
        (".hashstore/../css/app.3f2a9c1b7d4e.css", "has a '..' segment"),
        (".hashstore/pins/../../../outside", "has a '..' segment"),
        (".hashstore/pins/a\\b", "has a backslash"),
        (".hashstore/pins/prod\n", "has a control character"),
    ],
)
def test_check_record_key_refuses_anything_else_and_put_record_writes_nothing(
    tmp_path: Path, key: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        check_record_key(key)
    root = tmp_path / "work" / "bucket"
    root.mkdir(parents=True)
    target = LocalTarget(root)
    with pytest.raises(ValueError, match=reason):
        target.put_record(key, b"{}")
    assert tree_bytes(tmp_path) == {}


def manifest_bytes(key: str, body: bytes = OUTSIDE) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    entry = {"key": key, "sha256": digest, "size": len(body), "integrity": integrity_of(digest)}
    data = {"hashstore": 1, "release": "r1", "base_url": "/static/", "files": {"app.css": entry}}
    return json.dumps(data).encode()


@pytest.mark.parametrize(("key", "reason"), BAD_KEYS[:-1])
def test_a_manifest_naming_a_bad_key_is_refused(key: str, reason: str) -> None:
    with pytest.raises(ManifestError, match=rf"entry 'app.css' is malformed \(.*{reason}"):
        Manifest.parse(manifest_bytes(key))


class Recording(LocalTarget):
    """A directory target that records every key it is asked about."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.keys: list[str] = []

    def stat(self, key: str) -> ObjectInfo | None:
        self.keys.append(key)
        return super().stat(key)

    def read(self, key: str) -> bytes:
        self.keys.append(key)
        return super().read(key)

    def iter_bytes(self, key: str, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        self.keys.append(key)
        return super().iter_bytes(key, chunk_size=chunk_size)

    def delete(self, keys: Iterable[str]) -> None:
        listed = list(keys)
        self.keys.extend(listed)
        super().delete(listed)


def site_with_a_poisoned_record(tmp_path: Path) -> tuple[Settings, Recording, dict[str, bytes]]:
    """A published release, plus a record ``evil`` naming a file beside (outside) the target,
    whose bytes are just what the record says: without the check, verify reads it happily."""
    (tmp_path / "outside.css").write_bytes(OUTSIDE)
    src = make_tree(tmp_path / "src", {"css/app.css": "body { color: blue }"})
    settings = Settings(
        sources=(src,), target=str(tmp_path / "bucket"), manifest=tmp_path / "m.json"
    )
    target = Recording(tmp_path / "bucket")
    publish(settings, target=target)
    target.put_record(release_key("evil"), manifest_bytes("../outside.css"))
    target.keys.clear()
    return settings, target, tree_bytes(tmp_path)


def test_verify_refuses_a_release_record_with_a_key_outside_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _settings, _target, before = site_with_a_poisoned_record(tmp_path)
    code = main(["verify", "--to", str(tmp_path / "bucket"), "--release", "evil"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("error: release record ")
    assert "evil.json is damaged" in err
    assert "'../outside.css' has a '..' segment" in err
    assert tree_bytes(tmp_path) == before


def test_no_target_call_gets_a_bad_key_from_a_record(tmp_path: Path) -> None:
    settings, target, before = site_with_a_poisoned_record(tmp_path)
    with pytest.raises(ManifestError, match=r"evil\.json is damaged.*'\.\.' segment"):
        list_releases(target)
    with pytest.raises(ManifestError, match=r"evil\.json is damaged"):
        prune(settings, keep_releases=1, keep_days=0, dry_run=False, target=target)
    assert not [key for key in target.keys if "outside" in key]
    assert tree_bytes(tmp_path) == before  # prune deleted nothing


def test_verify_refuses_a_local_manifest_with_a_key_outside_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _settings, _target, _ = site_with_a_poisoned_record(tmp_path)
    (tmp_path / "m.json").write_bytes(manifest_bytes(str(tmp_path / "outside.css")))
    before = tree_bytes(tmp_path)
    code = main(
        ["verify", "--to", str(tmp_path / "bucket"), "--manifest", str(tmp_path / "m.json")]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith(f"error: {tmp_path / 'm.json'}: entry 'app.css' is malformed")
    assert "starts with '/'" in err
    assert tree_bytes(tmp_path) == before


def test_publish_writes_only_keys_that_pass_the_check(tmp_path: Path) -> None:
    """The check refuses nothing a build makes: the published manifest reloads."""
    src = make_tree(
        tmp_path / "src",
        {"css/a..b.css": "x{}", "img/space name.png": b"\x89PNG", "js/ünïcode.js": "1"},
    )
    settings = Settings(
        sources=(src,), target=str(tmp_path / "bucket"), manifest=tmp_path / "m.json"
    )
    report = publish(settings)
    loaded = Manifest.load(tmp_path / "m.json")
    assert {entry.key for entry in loaded.values()} == {
        entry.key for entry in report.manifest.values()
    }
