"""Release history: records listed newest first with counts and sizes, one loaded by id.

Also home of the helpers the verify, retention and doctor tests share: publishing a tree of
files as one release, with the publish time given (the publisher's clock is injectable through
:func:`hashstore.publish.release_record`, which publish itself uses).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hashstore.cli import main
from hashstore.errors import ManifestError
from hashstore.manifest import Manifest
from hashstore.publish import publish, release_record
from hashstore.releases import list_releases, load_release
from hashstore.settings import Settings
from hashstore.targets import Target, open_target, release_key

from .conftest import S3Bucket
from .helpers import make_tree

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def publish_release(
    settings: Settings,
    files: Mapping[str, str | bytes],
    *,
    work: Path,
    at: datetime | None = None,
    target: Target | None = None,
) -> Manifest:
    """Publish ``files`` as one release through :func:`publish`, stamped ``at`` if given.

    ``publish`` stamps its release record with this machine's clock to the second; a test that
    needs a history in a known order rewrites the record with the time it gives, exactly as
    publish writes it (:func:`release_record`).
    """
    unique = uuid.uuid4().hex[:8]
    src = make_tree(work / f"src-{unique}", files)
    changed = settings.with_changes(sources=(src,), manifest=work / f"manifest-{unique}.json")
    store = target if target is not None else open_target(settings)
    try:
        report = publish(changed, target=store)
        if at is not None:
            record = release_record(report.manifest, published_at=at)
            store.put_release(report.manifest.release, record)
    finally:
        if target is None:
            store.close()
    return report.manifest


def release_files(number: int) -> dict[str, str | bytes]:
    """The files of the ``number``-th release of a growing site: shared, changed and new files."""
    return {
        "css/app.css": f".v{number}{{background:url(../img/logo.png)}}",
        "img/logo.png": b"\x89PNG logo" + bytes([number % 3]),
        "js/app.js": f"console.log({number})",
        "js/vendor.js": "/* vendor, never changes */",
        f"img/only-{number}.png": b"\x89PNG " + str(number).encode(),
    }


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a fresh target: a directory, or a bucket on the test S3 store."""
    if request.param == "s3":
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        return bucket.settings()
    return Settings(target=str(tmp_path / "bucket"), jobs=4)


def test_releases_are_listed_newest_first_with_counts_and_sizes(
    store: Settings, tmp_path: Path
) -> None:
    published = {}
    for number, days in ((1, 30), (2, 10), (3, 1)):
        manifest = publish_release(
            store, release_files(number), work=tmp_path, at=T0 - timedelta(days=days)
        )
        published[manifest.release] = manifest
    target = open_target(store)
    try:
        releases = list_releases(target)
    finally:
        target.close()
    assert [r.published_at for r in releases] == [
        T0 - timedelta(days=1),
        T0 - timedelta(days=10),
        T0 - timedelta(days=30),
    ]
    for release in releases:
        manifest = published[release.id]
        assert release.files == 5
        assert release.size == sum(entry.size for entry in manifest.values())
        assert release.keys == {entry.key for entry in manifest.values()}
        assert release.record.key == release_key(release.id)


def test_a_release_published_again_becomes_the_newest(tmp_path: Path) -> None:
    store = Settings(target=str(tmp_path / "bucket"))
    first = publish_release(store, release_files(1), work=tmp_path, at=T0)
    publish_release(store, release_files(2), work=tmp_path, at=T0 + timedelta(hours=1))
    again = publish_release(store, release_files(1), work=tmp_path, at=T0 + timedelta(hours=2))
    assert again.release == first.release  # the same content is the same release
    target = open_target(store)
    releases = list_releases(target)
    assert releases[0].id == first.release
    assert len(releases) == 2


def test_load_release_by_id(store: Settings, tmp_path: Path) -> None:
    manifest = publish_release(store, release_files(1), work=tmp_path)
    target = open_target(store)
    try:
        loaded = load_release(target, manifest.release)
        assert dict(loaded.items()) == dict(manifest.items())
        with pytest.raises(ManifestError, match=r"release nope is not in .*hashstore releases"):
            load_release(target, "nope")
        with pytest.raises(ManifestError, match="is not a release id"):
            load_release(target, "../x")
    finally:
        target.close()


def test_a_damaged_record_is_named(tmp_path: Path) -> None:
    store = Settings(target=str(tmp_path / "bucket"))
    publish_release(store, release_files(1), work=tmp_path)
    target = open_target(store)
    target.put_release("broken", b"{not json")
    with pytest.raises(ManifestError, match=r"release record .*broken\.json is damaged"):
        list_releases(target)


def test_releases_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Settings(target=str(tmp_path / "bucket"))
    old = publish_release(store, release_files(1), work=tmp_path, at=T0)
    new = publish_release(store, release_files(2), work=tmp_path, at=T0 + timedelta(days=1))
    assert main(["releases", "--to", str(tmp_path / "bucket")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RELEASE", "PUBLISHED", "(UTC)", "FILES", "SIZE"]
    assert lines[1].startswith(new.release)
    assert lines[1].endswith("newest")
    assert "2026-01-02 12:00:00" in lines[1]
    assert lines[2].startswith(old.release)
    assert lines[3] == f"2 release(s), 0 pin(s) in {tmp_path / 'bucket'}"

    assert main(["releases", "--to", str(tmp_path / "bucket"), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["release"] for item in listed] == [new.release, old.release]
    assert listed[0]["files"] == 5
    assert listed[0]["published_at"] == "2026-01-02T12:00:00+00:00"


def test_releases_of_an_empty_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["releases", "--to", str(tmp_path / "nothing")]) == 0
    assert capsys.readouterr().out == f"no releases in {tmp_path / 'nothing'}\n"
