"""``hashstore prune``: keep the newest N releases and D days, delete only what nothing kept needs.

Time is injected, never slept through: ``prune(now=...)`` is the pruner's clock, release records
are stamped with the publisher's clock (``release_record(published_at=...)``), and
:class:`ClockedLocalTarget` is a directory whose own clock (the LastModified of what it stores)
the test sets, as S3's clock is S3's.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from hashstore.build import BuiltFile
from hashstore.cli import main
from hashstore.errors import ConfigError, ManifestError, TargetError
from hashstore.manifest import Manifest
from hashstore.pins import pin_release, unpin
from hashstore.publish import pending_marker, publish
from hashstore.publish import plan as plan_publish
from hashstore.releases import list_releases, load_release
from hashstore.retention import plan_prune, prune, select_releases
from hashstore.settings import Settings
from hashstore.targets import ObjectInfo, Target, open_target, release_key
from hashstore.targets.base import (
    PENDING_GRACE,
    PENDING_PREFIX,
    PRUNE_LOCK_KEY,
    pending_key,
    pin_key,
)
from hashstore.targets.local import LocalTarget
from hashstore.verify import verify

from .conftest import S3Bucket
from .helpers import make_tree
from .test_releases import T0, publish_release, release_files

DAY = timedelta(days=1)


class ClockedLocalTarget(LocalTarget):
    """A directory whose clock the test sets: what it stores is last modified at :attr:`now`."""

    def __init__(self, root: Path, now: datetime) -> None:
        super().__init__(root)
        self.now = now

    def _touch(self, key: str) -> None:
        stamp = self.now.timestamp()
        os.utime(self.root / key, (stamp, stamp))

    def put_if_absent(self, file: BuiltFile) -> bool:
        created = super().put_if_absent(file)
        if created:
            self._touch(file.key)
        return created

    def put_record(self, key: str, body: bytes) -> None:
        super().put_record(key, body)
        self._touch(key)


class Interleaved:
    """A target that runs another actor's step at a chosen point of a prune or a publish.

    :param after_listing: run once, right after the first listing of all objects.
    :param before_delete: run once, when the first delete request is about to be sent.
    :param after_delete: run once, when the first delete request has been carried out.
    :param before_find: run once, when a publish is about to list the target (its plan).
    :param listed_too: more objects the listing of everything reports (many, without writing
        them: deleting a missing key is no error).
    """

    def __init__(
        self,
        inner: Target,
        *,
        after_listing: Callable[[], object] | None = None,
        before_delete: Callable[[], object] | None = None,
        after_delete: Callable[[], object] | None = None,
        before_find: Callable[[], object] | None = None,
        listed_too: Iterable[ObjectInfo] = (),
    ) -> None:
        self.inner = inner
        self.listed_too = list(listed_too)
        self.after_listing = after_listing
        self.before_delete = before_delete
        self.after_delete = after_delete
        self.before_find = before_find
        self.deletes: list[list[str]] = []
        self.record_listings = 0
        self.finds: list[str] = []
        """``plan`` for each listing of a publish's plan, ``check`` for each check after it."""
        self.lock_seen: list[bool] = []
        """Whether the prune lock was there, at each listing (a prune's)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        self.lock_seen.append(self.inner.stat(PRUNE_LOCK_KEY) is not None)
        if prefix:
            self.record_listings += 1
        yield from self.inner.list_objects(prefix)
        if not prefix:
            yield from self.listed_too
        if not prefix and self.after_listing is not None:
            step, self.after_listing = self.after_listing, None
            step()

    def find_objects(self, keys: Collection[str]) -> Mapping[str, ObjectInfo]:
        if self.before_find is not None:
            step, self.before_find = self.before_find, None
            step()
        self.finds.append("plan")
        return self.inner.find_objects(keys)

    def find_existing(self, keys: Collection[str]) -> Mapping[str, int]:
        self.finds.append("check")
        return self.inner.find_existing(keys)

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if self.before_delete is not None:
            step, self.before_delete = self.before_delete, None
            step()
        self.deletes.append(keys)
        self.inner.delete(keys)
        if self.after_delete is not None:
            step, self.after_delete = self.after_delete, None
            step()


def keys_of(*manifests: Manifest) -> set[str]:
    return {entry.key for manifest in manifests for entry in manifest.values()}


def stored_keys(target: Target) -> set[str]:
    return {info.key for info in target.list_objects()}


def without_markers(keys: set[str]) -> set[str]:
    """``keys`` but pending markers (a marker written during a prune stays until the next)."""
    return {key for key in keys if not key.startswith(PENDING_PREFIX)}


def assert_whole(settings: Settings, manifest: Manifest, target: Target) -> None:
    report = verify(settings, manifest, deep=True, target=target)
    assert report.ok, report.problems


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "s3":
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        return bucket.settings()
    return Settings(target=str(tmp_path / "bucket"), jobs=4)


# -- the rule -----------------------------------------------------------------------------


def test_select_releases_follows_the_rule(tmp_path: Path) -> None:
    target = ClockedLocalTarget(tmp_path / "bucket", T0)
    settings = Settings(target=str(target.root))
    ages = {1: 30, 2: 20, 3: 5, 4: 2, 5: 1}  # release number -> days before now
    ids = {}
    for number, age in ages.items():
        ids[number] = publish_release(
            settings, release_files(number), work=tmp_path, at=T0 - age * DAY, target=target
        ).release
    releases = list_releases(target)

    def kept(n: int, d: float) -> list[int]:
        chosen, _, _ = select_releases(releases, keep_releases=n, keep_days=d, now=T0)
        by_id = {v: k for k, v in ids.items()}
        return sorted(by_id[r.id] for r in chosen)

    assert kept(0, 0) == [5]  # always the newest
    assert kept(1, 0) == [5]
    assert kept(3, 0) == [3, 4, 5]
    assert kept(1, 3) == [4, 5]  # published less than 3 days ago
    assert kept(2, 25) == [2, 3, 4, 5]
    assert kept(10, 0) == [1, 2, 3, 4, 5]
    assert kept(1, 2) == [5]  # exactly 2 days old is not younger than 2 days


def test_releases_published_in_the_same_second_are_kept_together(tmp_path: Path) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    for number in (1, 2, 3):
        publish_release(settings, release_files(number), work=tmp_path, at=T0 + DAY)
    publish_release(settings, release_files(4), work=tmp_path, at=T0)
    target = open_target(settings)
    kept, dropped, reasons = select_releases(
        list_releases(target), keep_releases=1, keep_days=0, now=T0 + 2 * DAY
    )
    assert len(kept) == 3  # which of the three is "newest" must not decide what is deleted
    assert all(reasons[r.id] == ("newest",) for r in kept)
    assert [r.published_at for r in dropped] == [T0]


def test_the_policy_is_validated(tmp_path: Path) -> None:
    target = LocalTarget(tmp_path)
    with pytest.raises(ConfigError, match="keep_releases = -1 is invalid"):
        plan_prune(target, keep_releases=-1, keep_days=1)
    with pytest.raises(ConfigError, match="keep_days = nan is invalid"):
        plan_prune(target, keep_releases=1, keep_days=float("nan"))


# -- deleting -----------------------------------------------------------------------------


def test_done_when_20_releases_keep_exactly_the_newest_3(
    s3_bucket: S3Bucket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = s3_bucket.settings()
    target = open_target(settings)
    try:
        manifests = [
            publish_release(
                settings,
                release_files(n),
                work=tmp_path,
                at=T0 + n * timedelta(hours=1),
                target=target,
            )
            for n in range(20)
        ]
    finally:
        target.close()
    newest = manifests[-3:]
    to = ["--to", s3_bucket.target, "--endpoint-url", s3_bucket.endpoint_url]
    args = ["prune", *to, "--keep-releases", "3", "--keep-days", "0"]

    assert main(args) == 0  # a dry run first: nothing changes
    out = capsys.readouterr().out
    assert "releases: 3 kept, 17 dropped" in out
    assert "run again with --yes to delete" in out
    assert len(s3_bucket.keys()) == len(keys_of(*manifests)) + 20 + 20  # records, markers

    assert main([*args, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "and 17 release record(s) and 20 pending marker(s)" in out  # all superseded
    records = {release_key(m.release) for m in newest}
    assert set(s3_bucket.keys()) == keys_of(*newest) | records
    for manifest in newest:
        assert main(["verify", "--release", manifest.release, *to, "--deep"]) == 0
    assert capsys.readouterr().out.count("all present and intact") == 3


def test_a_dry_run_prints_the_plan_and_deletes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    old = publish_release(settings, release_files(1), work=tmp_path, at=T0)
    new = publish_release(settings, release_files(2), work=tmp_path, at=T0 + DAY)
    before = stored_keys(LocalTarget(tmp_path / "bucket"))
    to = ["--to", str(tmp_path / "bucket")]
    assert main(["prune", *to, "--keep-releases", "1", "--keep-days", "0", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"] is True
    assert [r["release"] for r in plan["kept"]] == [new.release]
    assert plan["kept"][0]["reasons"] == ["newest"]
    assert [r["release"] for r in plan["dropped"]] == [old.release]
    gone = keys_of(old) - keys_of(new)
    assert set(plan["delete"]["keys"]) == gone
    assert plan["delete"]["bytes"] == sum(e.size for e in old.values() if e.key in gone)
    assert stored_keys(LocalTarget(tmp_path / "bucket")) == before

    assert main(["prune", *to, "--keep-releases", "1", "--keep-days", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0] == "releases: 1 kept, 1 dropped (keep the newest 1 and those younger than 0 days)"
    )
    assert lines[1].startswith(f"  {new.release}  2026-01-02 12:00:00 UTC  5 file(s), ")
    assert lines[1].endswith("kept (newest)")
    assert lines[2].endswith("dropped")
    assert lines[3].startswith(f"objects: {len(gone)} to delete (")
    assert lines[-1].startswith(f"dry run: would delete {len(gone)} object(s)")


def test_nothing_outside_the_prefix_or_under_hashstore_is_touched(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    settings = s3_bucket.settings()
    publish_release(settings, release_files(1), work=tmp_path, at=T0)
    new = publish_release(settings, release_files(2), work=tmp_path, at=T0 + DAY)
    parent = s3_bucket.prefix[: -len("static/")]
    outside = [f"{parent}other/x.css", f"{parent}static-old/y.css", f"{parent}staticz"]
    inside_kept = [".hashstore/doctor/leftover", ".hashstore/notes.txt"]
    for key in outside:
        s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=key, Body=b"not ours")
    for key in inside_kept:
        s3_bucket.client.put_object(
            Bucket=s3_bucket.name, Key=s3_bucket.prefix + key, Body=b"ours, not objects"
        )
    stray = "img/someone-else.png"
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=s3_bucket.prefix + stray, Body=b"x")
    report = prune(settings, keep_releases=1, keep_days=0, dry_run=False)
    assert report.ok
    assert stray in {info.key for info in report.deleted}  # the prefix is hashstore's
    assert set(s3_bucket.keys()) == keys_of(new) | {release_key(new.release), *inside_kept}
    for key in outside:
        assert s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=key)["Body"].read()


def test_objects_younger_than_d_days_survive_until_they_are_old(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    settings = s3_bucket.settings()
    now = datetime.now(timezone.utc)
    old = publish_release(settings, release_files(1), work=tmp_path, at=now - 10 * DAY)
    new = publish_release(settings, release_files(2), work=tmp_path, at=now - DAY)
    only_old = keys_of(old) - keys_of(new)

    first = prune(settings, keep_releases=1, keep_days=2, dry_run=False, now=now)
    assert [r.id for r in first.plan.dropped] == [old.release]
    assert {info.key for info in first.plan.young} == only_old  # just uploaded: too young
    assert first.deleted == ()
    assert first.records_deleted == (old.release,)
    assert only_old <= set(s3_bucket.keys())

    later = prune(settings, keep_releases=1, keep_days=2, dry_run=False, now=now + 3 * DAY)
    assert {info.key for info in later.deleted} == only_old
    assert set(s3_bucket.keys()) == keys_of(new) | {release_key(new.release)}


def test_age_is_the_stores_last_modified(tmp_path: Path) -> None:
    target = ClockedLocalTarget(tmp_path / "bucket", T0)
    settings = Settings(target=str(target.root))
    old = publish_release(settings, release_files(1), work=tmp_path, at=T0, target=target)
    target.now = T0 + 6 * DAY
    new = publish_release(settings, release_files(2), work=tmp_path, at=target.now, target=target)
    target.now = T0 + 9 * DAY
    stray = make_tree(tmp_path / "stray", {"img/upload-in-progress.png": b"half"})
    target.put_if_absent(
        BuiltFile(
            "x",
            "img/upload-in-progress.png",
            hashlib.sha256(b"half").hexdigest(),
            4,
            stray / "img/upload-in-progress.png",
        )
    )
    now = T0 + 10 * DAY

    plan = plan_prune(target, keep_releases=1, keep_days=2, now=now)
    assert [r.id for r in plan.kept] == [new.release]
    assert {info.key for info in plan.delete} == keys_of(old) - keys_of(new)
    assert [info.key for info in plan.young] == ["img/upload-in-progress.png"]
    assert plan.referenced == len(keys_of(new))

    plan = plan_prune(target, keep_releases=1, keep_days=11, now=now)
    assert {r.id for r in plan.kept} == {old.release, new.release}
    assert plan.delete == ()


def test_a_target_without_releases_is_left_alone(tmp_path: Path) -> None:
    make_tree(tmp_path / "bucket", {"img/a.png": b"a", "index.html": "<p>not ours</p>"})
    report = prune(
        Settings(target=str(tmp_path / "bucket")), keep_releases=1, keep_days=0, dry_run=False
    )
    assert report.deleted == ()
    assert report.lines()[0] == f"no release records in {tmp_path / 'bucket'}: nothing to prune"
    assert (tmp_path / "bucket/index.html").exists()


def test_a_damaged_record_stops_the_prune(tmp_path: Path) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    publish_release(settings, release_files(1), work=tmp_path, at=T0)
    publish_release(settings, release_files(2), work=tmp_path, at=T0 + DAY)
    target = open_target(settings)
    target.put_release("zz-broken", b'{"hashstore": 1}')
    before = stored_keys(target)
    with pytest.raises(ManifestError, match=r"zz-broken\.json is damaged"):
        prune(settings, keep_releases=1, keep_days=0, dry_run=False)
    assert stored_keys(target) == before


def test_deletes_go_in_batches_of_1000_and_records_last(tmp_path: Path) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    old = publish_release(settings, release_files(1), work=tmp_path, at=T0)
    new = publish_release(settings, release_files(2), work=tmp_path, at=T0 + DAY)
    junk = [ObjectInfo(f"junk/{i:04}.txt", 1, T0) for i in range(2500)]
    target = Interleaved(open_target(settings), listed_too=junk)
    report = prune(settings, keep_releases=1, keep_days=0, dry_run=False, target=target)
    assert [len(batch) for batch in target.deletes] == [1000, 1000, 500 + 4, 1 + 2, 1]
    # Then the dropped record with the superseded markers, then the lock.
    assert set(target.deletes[-2]) == {
        release_key(old.release),
        pending_key(old.release),
        pending_key(new.release),
    }
    assert target.deletes[-1] == [PRUNE_LOCK_KEY]
    assert target.record_listings == 1 + 3 + 1  # the plan, before each batch, after the last
    assert len(report.deleted) == 2504
    assert stored_keys(target.inner) == keys_of(new) | {release_key(new.release)}


def test_one_delete_request_per_batch_over_http(
    s3_bucket: S3Bucket, s3_proxy: Any, tmp_path: Path
) -> None:
    settings = s3_bucket.settings()
    publish_release(settings, release_files(1), work=tmp_path, at=T0)
    publish_release(settings, release_files(2), work=tmp_path, at=T0 + DAY)
    s3_proxy.reset()
    report = prune(
        s3_bucket.settings(endpoint_url=s3_proxy.url), keep_releases=1, keep_days=0, dry_run=False
    )
    assert len(report.deleted) == 4
    # The objects, then the record with the markers, then the lock.
    assert s3_proxy.operations["DeleteObjects"] == 3
    assert s3_proxy.operations["PutObject"] == 1  # the lock


# -- racing a publish -----------------------------------------------------------------------


def test_a_prune_during_a_publish_keeps_the_fresh_uploads(tmp_path: Path) -> None:
    """The publish has stored some of its objects but not its record: its pending marker keeps
    them (the age rule would too)."""
    target = ClockedLocalTarget(tmp_path / "bucket", T0)
    settings = Settings(target=str(target.root), jobs=1)
    old = publish_release(settings, release_files(1), work=tmp_path, at=T0, target=target)
    target.now = T0 + 5 * DAY
    kept = publish_release(settings, release_files(2), work=tmp_path, at=target.now, target=target)
    target.now = T0 + 10 * DAY
    reports = []

    def prune_now(_file: BuiltFile, _created: bool) -> None:
        if not reports:
            reports.append(
                prune(
                    settings,
                    keep_releases=1,
                    keep_days=1,
                    dry_run=False,
                    now=target.now,
                    target=target,
                )
            )

    src = make_tree(tmp_path / "src-3", release_files(3))
    racing = publish(
        settings.with_changes(sources=(src,), manifest=tmp_path / "m3.json"),
        on_file=prune_now,
        target=target,
    )
    (report,) = reports
    assert report.ok
    assert [r.id for r in report.plan.dropped] == [old.release]
    assert {info.key for info in report.deleted} == keys_of(old) - keys_of(kept)
    # The racing publish's uploads so far: no record references them yet, its marker does.
    assert report.plan.reasons[racing.manifest.release] == ("being published",)
    assert [r.id for r in report.plan.pending] == [racing.manifest.release]
    assert report.plan.young == ()
    # Both older publishes' markers: superseded by their records.
    assert set(report.markers_deleted) == {old.release, kept.release}
    assert_whole(settings, racing.manifest, target)
    assert load_release(target, racing.manifest.release) == racing.manifest


def test_a_release_published_after_the_listing_is_kept(store: Settings, tmp_path: Path) -> None:
    """A rollback publishes an old release again (all its objects are there already, so it only
    writes its record) after the prune listed the objects: the re-listing before the batch sees
    it, and none of its objects is deleted."""
    r0 = publish_release(store, release_files(0), work=tmp_path, at=T0)
    r1 = publish_release(store, release_files(1), work=tmp_path, at=T0 + DAY)
    r2 = publish_release(store, release_files(2), work=tmp_path, at=T0 + 2 * DAY)
    inner = open_target(store)

    def rollback() -> None:
        publish_release(store, release_files(1), work=tmp_path, at=T0 + 3 * DAY, target=inner)

    target = Interleaved(inner, after_listing=rollback)
    try:
        report = prune(
            store, keep_releases=1, keep_days=0, dry_run=False, now=T0 + 4 * DAY, target=target
        )
        assert report.ok
        assert report.late == (r1.release,)
        assert set(report.spared) == keys_of(r1) - keys_of(r2)
        assert {info.key for info in report.deleted} == keys_of(r0) - keys_of(r1, r2)
        assert report.records_deleted == (r0.release,)  # r1's record changed: kept
        assert_whole(store, r1, inner)
        assert_whole(store, r2, inner)
        assert without_markers(stored_keys(inner)) == keys_of(r1, r2) | {
            release_key(r1.release),
            release_key(r2.release),
        }
    finally:
        inner.close()


def test_a_release_published_during_the_last_batch_is_reported(
    store: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record written between the last re-listing and the delete request cannot be honoured;
    the prune sees it afterwards, says which release lost what, and publishing it again heals
    it."""
    r1 = publish_release(store, release_files(1), work=tmp_path, at=T0)
    r2 = publish_release(store, release_files(2), work=tmp_path, at=T0 + DAY)
    inner = open_target(store)

    def rollback() -> None:
        publish_release(store, release_files(1), work=tmp_path, at=T0 + 3 * DAY, target=inner)

    target = Interleaved(inner, before_delete=rollback)
    try:
        report = prune(
            store, keep_releases=1, keep_days=0, dry_run=False, now=T0 + 4 * DAY, target=target
        )
        lost = keys_of(r1) - keys_of(r2)
        assert not report.ok
        assert report.damaged == {r1.release: tuple(sorted(lost))}
        assert report.records_deleted == ()  # r1's record was rewritten: not dropped
        assert any(
            line.startswith(f"error: release {r1.release} was published while the last batch")
            and line.endswith("publish it again to upload them again")
            for line in report.lines()
        )
        again = publish_release(store, release_files(1), work=tmp_path, target=inner)
        assert again.release == r1.release
        assert_whole(store, r1, inner)
    finally:
        inner.close()


@dataclass
class Rollback:
    """An old release dropped by the policy (keep 1, D = 1 day) and a rollback to it, ready."""

    target: ClockedLocalTarget
    settings: Settings
    old: Manifest
    new: Manifest
    rollback: Settings
    """Publishes the old release's files again."""

    @property
    def at_risk(self) -> set[str]:
        """The old release's keys no other release references: what a prune would delete."""
        return keys_of(self.old) - keys_of(self.new)

    def names_at_risk(self) -> set[str]:
        return {name for name, entry in self.old.items() if entry.key in self.at_risk}

    def prune(self, through: Target | None = None) -> Any:
        return prune(
            self.settings,
            keep_releases=1,
            keep_days=1,
            dry_run=False,
            now=self.target.now,
            target=through or self.target,
        )


@pytest.fixture
def race(tmp_path: Path) -> Rollback:
    target = ClockedLocalTarget(tmp_path / "bucket", T0)
    settings = Settings(target=str(target.root))
    old = publish_release(settings, release_files(1), work=tmp_path, at=T0, target=target)
    target.now = T0 + 10 * DAY
    new = publish_release(settings, release_files(2), work=tmp_path, at=target.now, target=target)
    target.now = T0 + 20 * DAY
    src = make_tree(tmp_path / "src-rollback", release_files(1))
    rollback = settings.with_changes(sources=(src,), manifest=tmp_path / "m.json")
    return Rollback(target, settings, old, new, rollback)


def test_a_rollback_racing_a_prune_stays_whole(race: Rollback) -> None:
    """A rollback finds every object of an old, dropped release stored and uploads nothing; a
    prune that starts after the rollback listed the target (before its record exists) sees the
    rollback's pending marker and keeps the release: nothing to restore."""
    reports = []
    watched = Interleaved(race.target)
    report = publish(
        race.rollback, on_plan=lambda _plan: reports.append(race.prune()), target=watched
    )
    (pruned,) = reports
    assert pruned.ok
    assert pruned.plan.reasons[race.old.release] == ("being published",)
    assert pruned.deleted == ()
    assert pruned.records_deleted == ()  # kept: not dropped
    assert report.uploaded == report.restored == ()
    assert not report.plan.prune_running
    assert watched.finds == ["plan"]  # no prune held the lock when it listed: no second listing
    assert_whole(race.settings, race.old, race.target)
    assert race.target.stat(PRUNE_LOCK_KEY) is None


def test_a_prune_between_the_marker_and_the_listing_keeps_the_rollback(race: Rollback) -> None:
    """The prune runs whole after the rollback wrote its marker and before it lists: it keeps
    the release, and the listing finds the lock gone."""
    reports = []
    watched = Interleaved(race.target, before_find=lambda: reports.append(race.prune()))
    report = publish(race.rollback, target=watched)
    (pruned,) = reports
    assert pruned.plan.reasons[race.old.release] == ("being published",)
    assert [r.id for r in pruned.plan.pending] == [race.old.release]
    assert pruned.deleted == ()
    assert pruned.markers_deleted == (race.new.release,)  # superseded by its record
    assert watched.finds == ["plan"]
    assert report.uploaded == report.restored == ()
    assert_whole(race.settings, race.old, race.target)


def test_a_prune_deleting_while_the_rollback_lists_is_undone_after_the_record(
    race: Rollback,
) -> None:
    """The one window the marker leaves: the prune listed the records before the marker was
    written and its delete request lands after the rollback listed the target (all present).
    The rollback saw the prune's lock in that listing, so after writing its record it lists
    again and stores what the prune deleted; the prune then finds the release whole."""
    signals = {name: threading.Event() for name in ("at_delete", "listed", "deleted", "done")}

    def step(signal: str, wait: str) -> Callable[..., None]:
        def run(*_: object) -> None:
            signals[signal].set()
            assert signals[wait].wait(10), f"no {wait!r}"

        return run

    pruner = Interleaved(
        race.target,
        before_delete=step("at_delete", "listed"),
        after_delete=step("deleted", "done"),
    )
    reports = []
    thread = threading.Thread(target=lambda: reports.append(race.prune(pruner)))
    thread.start()
    watched = Interleaved(race.target)
    try:
        assert signals["at_delete"].wait(10)
        report = publish(race.rollback, on_plan=step("listed", "deleted"), target=watched)
    finally:
        signals["done"].set()
        thread.join(10)
    (pruned,) = reports
    assert pruned.plan.dropped[0].id == race.old.release
    assert {info.key for info in pruned.deleted} == race.at_risk
    assert report.plan.prune_running
    assert watched.finds == ["plan", "check"]
    assert report.uploaded == ()
    assert set(report.restored) == race.names_at_risk()
    assert "stored again after a concurrent prune" in report.summary()
    # The prune saw the record and the marker appear: it kept the release, lost nothing.
    assert pruned.ok
    assert pruned.late == (race.old.release,)
    assert pruned.records_deleted == ()
    assert_whole(race.settings, race.old, race.target)
    assert race.target.stat(PRUNE_LOCK_KEY) is None


def test_a_publish_that_begins_mid_prune_is_kept_from_the_next_batch(race: Rollback) -> None:
    """Its marker appears after the prune listed the records: the re-listing before the batch
    sees it, and the batch spares the release's objects."""

    def begin() -> None:
        race.target.put_record(pending_key(race.old.release), pending_marker(race.old))

    report = race.prune(Interleaved(race.target, after_listing=begin))
    assert report.ok
    assert report.late == (race.old.release,)
    assert set(report.spared) == race.at_risk
    assert report.deleted == ()
    assert report.records_deleted == ()
    assert race.target.stat(pending_key(race.old.release)) is not None


def test_a_crashed_publish_keeps_its_objects_for_a_day(tmp_path: Path) -> None:
    """A publish that stored its marker and objects but never its record: its objects are kept
    while the marker is younger than PENDING_GRACE, whatever D is, then pruned with it."""

    class Crashing(ClockedLocalTarget):
        def put_release(self, release: str, body: bytes) -> None:
            raise TargetError("simulated crash", operation="write")

    target = ClockedLocalTarget(tmp_path / "bucket", T0)
    settings = Settings(target=str(target.root))
    first = publish_release(settings, release_files(1), work=tmp_path, at=T0, target=target)
    src = make_tree(tmp_path / "src-crash", release_files(2))
    crashing = settings.with_changes(sources=(src,), manifest=tmp_path / "m.json")
    with pytest.raises(TargetError, match="simulated crash"):
        publish(crashing, target=Crashing(target.root, T0 + DAY))
    crashed = plan_publish(crashing, target).manifest
    assert keys_of(crashed) <= stored_keys(target)

    def prune_at(now: datetime) -> Any:
        return prune(settings, keep_releases=1, keep_days=0, dry_run=False, now=now, target=target)

    within = prune_at(T0 + DAY + PENDING_GRACE - timedelta(seconds=1))
    assert within.plan.reasons[crashed.release] == ("being published",)
    assert within.deleted == ()
    assert within.markers_deleted == (first.release,)  # superseded by its record
    assert keys_of(crashed) | {pending_key(crashed.release)} <= stored_keys(target)

    after = prune_at(T0 + DAY + PENDING_GRACE)
    assert crashed.release not in after.plan.reasons
    assert {info.key for info in after.deleted} == keys_of(crashed) - keys_of(first)
    assert after.markers_deleted == (crashed.release,)
    assert stored_keys(target) == keys_of(first) | {release_key(first.release)}


@pytest.mark.parametrize(
    ("age", "checks"),
    [(timedelta(0), True), (PENDING_GRACE - timedelta(seconds=1), True), (PENDING_GRACE, False)],
)
def test_only_a_recent_prune_lock_makes_publish_check_again(
    race: Rollback, age: timedelta, checks: bool
) -> None:
    """A lock older than PENDING_GRACE was left by a prune that crashed: ignored. Its age is
    measured against the publish's own marker, both on the store's clock."""
    race.target.now = T0 + 20 * DAY - age
    race.target.put_record(PRUNE_LOCK_KEY, b"{}")
    race.target.now = T0 + 20 * DAY
    watched = Interleaved(race.target)
    report = publish(race.rollback, target=watched)
    assert report.plan.prune_running is checks
    assert watched.finds == (["plan", "check"] if checks else ["plan"])
    assert report.restored == ()
    assert_whole(race.settings, race.old, race.target)


def test_a_prune_that_deletes_holds_the_lock_from_its_first_listing_to_its_end(
    tmp_path: Path,
) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    publish_release(settings, release_files(1), work=tmp_path, at=T0)
    publish_release(settings, release_files(2), work=tmp_path, at=T0 + DAY)
    for dry_run in (True, False):
        target = Interleaved(open_target(settings))
        prune(settings, keep_releases=1, keep_days=0, dry_run=dry_run, target=target)
        assert set(target.lock_seen) == {not dry_run}
        assert target.inner.stat(PRUNE_LOCK_KEY) is None


def test_a_prune_during_a_publish_over_http(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    """The same race against the S3 store, with its own clock: the old release's objects are a
    few seconds old, D is two seconds; the racing publish's marker keeps its uploads."""
    settings = s3_bucket.settings(jobs=1)
    old = publish_release(settings, release_files(1), work=tmp_path)
    kept = publish_release(
        settings, release_files(2), work=tmp_path, at=datetime.now(timezone.utc) + DAY
    )
    time.sleep(2.5)
    grace = 2 / 86400  # two seconds, in days
    reports = []

    src = make_tree(tmp_path / "src-3", release_files(3))
    # The prune's clock is the moment the racing publish starts: its uploads are then at most
    # the store's one-second timestamp resolution "old", whatever the machine's load, while the
    # old release's objects are older than the grace period by construction (the sleep).
    started = datetime.now(timezone.utc)

    def prune_now(_file: BuiltFile, _created: bool) -> None:
        if not reports:
            reports.append(
                prune(settings, keep_releases=1, keep_days=grace, dry_run=False, now=started)
            )

    racing = publish(
        settings.with_changes(sources=(src,), manifest=tmp_path / "m3.json"), on_file=prune_now
    )
    (report,) = reports
    assert {info.key for info in report.deleted} == keys_of(old) - keys_of(kept)
    assert report.plan.reasons[racing.manifest.release] == ("being published",)
    assert report.plan.young == ()
    assert verify(settings, racing.manifest, deep=True).ok


# -- the property -----------------------------------------------------------------------------

NAMES = ("css/a.css", "js/b.js", "img/c.png", "d.txt")


@dataclass(frozen=True)
class Publish:
    files: dict[str, int]
    """Logical name -> variant of its content."""
    hours: int


@dataclass(frozen=True)
class Prune:
    keep_releases: int
    keep_days: float
    hours: int


@dataclass(frozen=True)
class Pin:
    name: str
    which: int
    """Index into the releases the store holds, oldest first."""
    hours: int


@dataclass(frozen=True)
class Unpin:
    name: str
    hours: int


HOURS = st.sampled_from([0, 1, 12, 24, 30, 72, 240])
PIN_NAMES = st.sampled_from(["production", "staging"])
ACTIONS = st.lists(
    st.one_of(
        st.builds(
            Publish,
            files=st.dictionaries(st.sampled_from(NAMES), st.integers(0, 2), min_size=1),
            hours=HOURS,
        ),
        st.builds(
            Prune,
            keep_releases=st.integers(0, 3),
            keep_days=st.sampled_from([0, 0.5, 1, 2, 5]),
            hours=HOURS,
        ),
        st.builds(Pin, name=PIN_NAMES, which=st.integers(0, 5), hours=HOURS),
        st.builds(Unpin, name=PIN_NAMES, hours=HOURS),
    ),
    min_size=1,
    max_size=14,
)


def _contents(files: dict[str, int]) -> dict[str, str | bytes]:
    out: dict[str, str | bytes] = {}
    for name, variant in files.items():
        if name.endswith(".css"):  # a reference, so keys depend on other files' bytes
            out[name] = f".a{{background:url(../img/c.png)}} /* {variant} */"
        else:
            out[name] = f"{name} variant {variant}\n"
    return out


def _expected_kept(
    records: dict[str, tuple[datetime, frozenset[str]]], n: int, d: float, now: datetime
) -> set[str]:
    """The rule, written again from docs/retention.md, independently of the code."""
    ordered = sorted(records.items(), key=lambda item: (item[1][0], item[0]), reverse=True)
    nth_time = ordered[min(max(n, 1), len(ordered)) - 1][1][0]
    return {
        release
        for release, (published_at, _) in ordered
        if published_at >= nth_time or now - published_at < timedelta(days=d)
    }


def run_history(
    settings: Settings, target: Target, work: Path, actions: list[Any], start: datetime
) -> None:
    """Play publishes, pins, unpins and prunes; after each prune, check the store against the
    rule: the releases it keeps plus every pinned release, whatever its age or rank."""
    clock = start
    records: dict[str, tuple[datetime, frozenset[str]]] = {}
    pins: dict[str, str] = {}
    manifests: dict[str, Manifest] = {}
    objects: dict[str, datetime] = {}
    for action in actions:
        clock += timedelta(hours=action.hours)
        if isinstance(target, ClockedLocalTarget):
            target.now = clock
        if isinstance(action, Publish):
            manifest = publish_release(
                settings, _contents(action.files), work=work, at=clock, target=target
            )
            keys = frozenset(keys_of(manifest))
            records[manifest.release] = (clock, keys)
            manifests[manifest.release] = manifest
            for key in keys - objects.keys():
                info = target.stat(key)
                assert info is not None
                objects[key] = info.last_modified
            continue
        if isinstance(action, Pin):
            if records:
                release = sorted(records, key=lambda r: (records[r][0], r))[
                    action.which % len(records)
                ]
                pin_release(target, action.name, release)
                pins[action.name] = release
            continue
        if isinstance(action, Unpin):
            removed = unpin(target, action.name)
            assert (removed.release if removed else None) == pins.pop(action.name, None)
            continue
        report = prune(
            settings,
            keep_releases=action.keep_releases,
            keep_days=action.keep_days,
            dry_run=False,
            now=clock,
            target=target,
        )
        assert report.ok
        if not records:
            assert report.deleted == ()
            continue
        kept = _expected_kept(records, action.keep_releases, action.keep_days, clock)
        kept |= set(pins.values())
        assert {r.id for r in report.plan.kept} == kept
        assert {name: pin.release for name, pin in report.plan.pins.items()} == pins
        protected = set().union(*(records[r][1] for r in kept))
        old_before = clock - timedelta(days=action.keep_days)
        objects = {
            key: modified
            for key, modified in objects.items()
            if key in protected or (action.keep_days and modified > old_before)
        }
        records = {release: records[release] for release in kept}
        assert stored_keys(target) == set(objects) | {release_key(r) for r in records} | {
            pin_key(name) for name in pins
        }
        # No object a kept or pinned release references is gone or damaged.
        for release in kept:
            manifest = manifests[release]
            for entry in manifest.values():
                assert hashlib.sha256(target.read(entry.key)).hexdigest() == entry.sha256


@given(actions=ACTIONS)
@hypothesis_settings(max_examples=40, deadline=None)
def test_property_no_kept_object_is_ever_deleted(actions: list[Any]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        target = ClockedLocalTarget(work / "bucket", T0)
        settings = Settings(target=str(target.root), jobs=2)
        run_history(settings, target, work, actions, T0)


@given(actions=ACTIONS)
@hypothesis_settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_property_over_http(
    actions: list[Any], s3_bucket: S3Bucket, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The same property against the S3 store (LastModified is the store's clock here)."""
    settings = s3_bucket.settings(target=f"{s3_bucket.target}{uuid.uuid4().hex[:8]}/", jobs=4)
    target = open_target(settings)
    try:
        run_history(
            settings,
            target,
            tmp_path_factory.mktemp("history"),
            actions,
            datetime.now(timezone.utc),
        )
    finally:
        target.close()


def test_manage_py_hashstore_prune(tmp_path: Path) -> None:
    from io import StringIO

    from .django_support import collectstatic, setup_django, site, storages

    setup_django()
    from django.core.management import call_command

    static_root, public = tmp_path / "static", tmp_path / "public"
    older = publish_release(Settings(target=str(public)), release_files(1), work=tmp_path, at=T0)
    with site(static_root, STORAGES=storages(target=str(public), base_url="/assets/")):
        collectstatic()
        current = Manifest.load(static_root / "hashstore.json")
        out = StringIO()
        call_command("hashstore_prune", "--keep-releases", "1", "--keep-days", "0", stdout=out)
        assert "run again with --yes to delete" in out.getvalue()
        assert keys_of(older) <= stored_keys(LocalTarget(public))
        out = StringIO()
        call_command(
            "hashstore_prune", "--keep-releases", "1", "--keep-days", "0", "--yes", stdout=out
        )
        assert "and 1 release record(s)" in out.getvalue()
    assert stored_keys(LocalTarget(public)) == keys_of(current) | {release_key(current.release)}


def test_the_docs_and_the_code_state_the_same_rule() -> None:
    import re

    import hashstore.retention

    docs = (Path(__file__).parent.parent / "docs" / "retention.md").read_text(encoding="utf-8")
    documented = re.search(r"<!-- retention-rule:.*?-->\n(.*?)<!-- /retention-rule -->", docs, re.S)
    assert documented is not None
    docstring = hashstore.retention.__doc__ or ""
    coded = docstring.split("states it:\n\n", 1)[1].split("\n\n", 1)[0]

    def words(text: str) -> str:
        return " ".join(text.replace("``", "`").split())

    assert words(coded) == words(documented.group(1))
    assert words(coded).startswith("A prune keeps a release if")


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--keep-releases", "-1", "'-1' is not a whole number >= 0"),
        ("--keep-releases", "two", "'two' is not a whole number >= 0"),
        ("--keep-days", "-0.5", "'-0.5' is not a number of days >= 0"),
        ("--keep-days", "inf", "'inf' is not a number of days >= 0"),
    ],
)
def test_a_bad_policy_is_a_usage_error(
    flag: str, value: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["prune", "--to", str(tmp_path), flag, value])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
