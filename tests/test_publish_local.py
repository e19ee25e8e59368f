"""Publishing to a local directory: the same rules as S3, without a network."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hashstore.build import BuiltFile
from hashstore.errors import PublishError, TargetError
from hashstore.manifest import Manifest
from hashstore.publish import publish
from hashstore.settings import Settings
from hashstore.targets.local import LocalTarget

from .helpers import make_tree, tree_bytes

FILES = {
    "css/app.css": ".a{background:url(../img/a.png)}",
    "img/a.png": b"\x89PNG-a",
    "img/b.png": b"\x89PNG-b",
    "js/app.js": "console.log(1)",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    make_tree(tmp_path / "src", FILES)
    return Settings(
        sources=(tmp_path / "src",),
        target=str(tmp_path / "out"),
        manifest=tmp_path / "hashstore.json",
        base_url="https://cdn.example.com/static/",
    )


def test_publish_writes_every_object_then_release_then_manifest(settings: Settings) -> None:
    report = publish(settings)
    assert sorted(report.uploaded) == sorted(FILES)
    manifest = Manifest.load(settings.manifest)
    stored = tree_bytes(Path(str(settings.target)))
    for _name, entry in manifest.items():
        data = stored[entry.key]
        assert hashlib.sha256(data).hexdigest() == entry.sha256
        assert len(data) == entry.size
    record = f".hashstore/releases/{manifest.release}.json"
    assert record in stored
    assert b'"published_at"' in stored[record]
    assert manifest.url("img/a.png").startswith("https://cdn.example.com/static/img/a.")
    assert "4 new file(s)" in report.summary()


def test_second_publish_uploads_nothing(settings: Settings) -> None:
    publish(settings)
    again = publish(settings)
    assert again.uploaded == ()
    assert len(again.plan.present) == len(FILES)
    assert "0 new file(s)" in again.summary()


def test_dry_run_writes_nothing(settings: Settings) -> None:
    report = publish(settings, dry_run=True)
    assert {f.name for f in report.plan.missing} == set(FILES)
    assert not Path(str(settings.target)).exists()
    assert not settings.manifest.exists()
    assert "would upload 4 new file(s)" in report.summary()


def test_old_files_are_never_deleted(settings: Settings, tmp_path: Path) -> None:
    publish(settings)
    first = tree_bytes(Path(str(settings.target)))
    (tmp_path / "src" / "img" / "a.png").write_bytes(b"\x89PNG-a2")
    publish(settings)
    second = tree_bytes(Path(str(settings.target)))
    assert set(first) < set(second)
    assert all(second[key] == data for key, data in first.items() if "releases" not in key)


class FlakyTarget(LocalTarget):
    """Fails to store the files whose names are listed."""

    def __init__(self, root: Path, failing: set[str]) -> None:
        super().__init__(root)
        self.failing = failing

    def put_if_absent(self, file: BuiltFile) -> bool:
        if file.name in self.failing:
            raise TargetError(f"simulated failure for {file.key}", operation="write", key=file.key)
        return super().put_if_absent(file)


def test_a_failed_upload_writes_no_release_or_manifest_and_a_rerun_finishes(
    settings: Settings, tmp_path: Path
) -> None:
    out = Path(str(settings.target))
    flaky = FlakyTarget(out, {"img/b.png"})
    with pytest.raises(PublishError) as info:
        publish(settings, target=flaky)
    assert "img/b." in str(info.value)
    assert "simulated failure" in str(info.value)
    assert not settings.manifest.exists()
    assert not (out / ".hashstore/releases").exists()
    # Its pending marker stays: a prune keeps the objects for a day, then deletes them.
    (marker,) = (out / ".hashstore/pending").iterdir()
    stored_before = set(tree_bytes(out))
    report = publish(settings)
    assert marker.name == f"{report.manifest.release}.json"
    assert report.uploaded == ("img/b.png",)
    assert settings.manifest.exists()
    assert stored_before < set(tree_bytes(out))


def test_a_failed_publish_keeps_the_previous_manifest(settings: Settings, tmp_path: Path) -> None:
    publish(settings)
    before = settings.manifest.read_bytes()
    (tmp_path / "src" / "js" / "app.js").write_text("console.log(2)")
    with pytest.raises(PublishError):
        publish(settings, target=FlakyTarget(Path(str(settings.target)), {"js/app.js"}))
    assert settings.manifest.read_bytes() == before


def test_an_existing_key_with_other_bytes_is_an_error_never_overwritten(settings: Settings) -> None:
    publish(settings)
    manifest = Manifest.load(settings.manifest)
    damaged = Path(str(settings.target)) / manifest["img/a.png"].key
    damaged.write_bytes(b"tampered, longer than before")
    settings.manifest.unlink()
    with pytest.raises(PublishError, match="damaged"):
        publish(settings)
    assert damaged.read_bytes() == b"tampered, longer than before"
    assert not settings.manifest.exists()


def test_local_target_put_is_create_only(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_bytes(b"one")
    digest = hashlib.sha256(b"one").hexdigest()
    f = BuiltFile("a.txt", "a.x.txt", digest, 3, src)
    target = LocalTarget(tmp_path / "out")
    assert target.put_if_absent(f) is True
    assert target.put_if_absent(f) is False
    (tmp_path / "out" / "a.x.txt").write_bytes(b"two")
    with pytest.raises(TargetError, match="never overwritten"):
        target.put_if_absent(f)
    assert (tmp_path / "out" / "a.x.txt").read_bytes() == b"two"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.x.txt"]  # no temp files


def test_large_binary_is_streamed_with_bounded_memory(tmp_path: Path) -> None:
    """A 64 MB file publishes without being read whole (peak traced allocation well below)."""
    import tracemalloc

    big = tmp_path / "src" / "big.bin"
    big.parent.mkdir()
    with big.open("wb") as out:
        block = bytes(range(256)) * 4096
        for _ in range(64):
            out.write(block)
    settings = Settings(
        sources=(tmp_path / "src",), target=str(tmp_path / "out"), manifest=tmp_path / "m.json"
    )
    tracemalloc.start()
    publish(settings)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * 1024 * 1024
