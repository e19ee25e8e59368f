"""Prune: delete the objects no kept release needs, by a retention policy (N releases, D days).

Publish never deletes, so a target grows with every release; prune is the one place objects
go. The rule, exactly as ``docs/retention.md`` states it:

    A prune keeps a release if it is one of the newest N releases by ``published_at`` (releases
    published at the same moment as the N-th newest are kept with it), if it was published less
    than D days before now, or if it is the newest; every other release is dropped. A release
    being published is kept too: one whose pending marker ``.hashstore/pending/<release>.json``
    is less than a day old (``PENDING_GRACE``, whatever D is) and was written after its release
    record, if it has one. It deletes an object only if all three hold: its key is under the
    target's prefix and not under ``.hashstore/``; no kept release references it; and its
    LastModified is at least D days before now (with D = 0, at any age). A prune that deletes
    writes ``.hashstore/prune.lock`` before its first listing and deletes it when it ends.
    Objects are deleted in batches of at most 1,000 keys; before each batch the release records
    and pending markers are listed again, and a release whose record or marker appeared or
    changed since the plan (a publish that finished or began meanwhile, or an old release
    published again) is kept, so none of its objects is deleted. The records of dropped
    releases and the pending markers that no longer count (a newer record supersedes them, or
    they are a day old) are deleted last, after every object, and only if unchanged since the
    plan; the lock goes after them. Nothing else is ever deleted: not the records of kept
    releases, nothing else under ``.hashstore/``, nothing outside the prefix; and a target
    without any release record is left alone.

Why a publish is safe beside a prune: it writes its pending marker before it lists the target,
so its objects (new ones, and old ones it reuses) are referenced by a kept release from then
until its release record takes over; a prune already deleting when it lists holds the lock, and
publish then checks its objects again after writing its record (:func:`hashstore.publish.publish`
gives the whole argument). The age rule (D days) protects what the markers cannot: publishes of
hashstore versions without markers, and HTML cached for old releases.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import ConfigError, ManifestError, TargetError
from .manifest import Manifest
from .publish import format_size
from .releases import Release, list_releases, newest_first, read_release, release_id_of
from .settings import Settings
from .targets import ObjectInfo, Target, open_target, release_key
from .targets.base import (
    HASHSTORE_PREFIX,
    PENDING_GRACE,
    PENDING_PREFIX,
    PRUNE_LOCK_KEY,
    pending_key,
)

__all__ = [
    "PENDING_GRACE",
    "PrunePlan",
    "PruneReport",
    "execute_prune",
    "plan_prune",
    "prune",
    "select_releases",
]

log = logging.getLogger(__name__)

DELETE_BATCH = 1000
"""Keys per delete request: S3's ``DeleteObjects`` maximum."""

BEING_PUBLISHED = "being published"
"""The reason a release is kept by its pending marker."""

CLOCK_SKEW = timedelta(minutes=15)
"""How far a store's clock may be from this machine's: S3 refuses requests signed more than
15 minutes off its own clock."""


@dataclass(frozen=True)
class PrunePlan:
    """What a prune will delete and keep, decided from one listing of records and objects.

    .. versionadded:: 0.1
    """

    target: str
    now: datetime
    keep_releases: int
    keep_days: float
    kept: tuple[Release, ...]
    """Kept releases, newest first."""
    dropped: tuple[Release, ...]
    """Dropped releases, newest first."""
    reasons: Mapping[str, tuple[str, ...]]
    """Release id -> why it is kept (``newest``, ``newest 3``, ``younger than 7 days``)."""
    delete: tuple[ObjectInfo, ...]
    """Objects to delete, in key order."""
    young: tuple[ObjectInfo, ...]
    """Objects no kept release references, kept because they are younger than D days."""
    referenced: int
    """Objects kept because a kept release references them."""
    records: Mapping[str, ObjectInfo] = field(repr=False)
    """The release records the plan was made from (release id -> listing entry)."""
    protected: frozenset[str] = field(repr=False)
    """Keys referenced by kept releases."""
    listed_at: datetime = field(repr=False)
    """This machine's clock when the records were listed (``now`` may be given)."""
    markers: Mapping[str, ObjectInfo] = field(default_factory=dict, repr=False)
    """The pending markers the plan was made from (release id -> listing entry)."""
    pending: tuple[Release, ...] = ()
    """Releases being published (their pending markers count), as their markers describe them.

    .. versionadded:: 0.1
    """
    stale_markers: tuple[str, ...] = ()
    """Release ids whose pending markers no longer count, deleted with the dropped records."""

    @property
    def delete_bytes(self) -> int:
        return sum(info.size for info in self.delete)

    def lines(self) -> list[str]:
        """The plan for people: every release with its fate, then the objects."""
        if not self.records:
            return [f"no release records in {self.target}: nothing to prune"]
        out = [
            f"releases: {len(self.kept)} kept, {len(self.dropped)} dropped "
            f"(keep the newest {self.keep_releases} and those younger than "
            f"{_days(self.keep_days)})"
        ]
        for release in sorted(
            (*self.kept, *self.dropped), key=lambda r: (r.published_at, r.id), reverse=True
        ):
            why = self.reasons.get(release.id)
            state = f"kept ({', '.join(why)})" if why else "dropped"
            out.append(
                f"  {release.id}  {release.published_at:%Y-%m-%d %H:%M:%S %Z}  "
                f"{release.files} file(s), {format_size(release.size)}  {state}"
            )
        age = (
            "of any age"
            if not self.keep_days
            else f"last modified at least {_days(self.keep_days)} ago"
        )
        young = (
            f"; {len(self.young)} referenced by no kept release but younger than "
            f"{_days(self.keep_days)} kept"
            if self.keep_days
            else ""
        )
        out.append(
            f"objects: {len(self.delete)} to delete ({format_size(self.delete_bytes)}), "
            f"referenced by no kept release and {age}; {self.referenced} kept for kept "
            f"releases{young}"
        )
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready plan (``--json``)."""
        return {
            "target": self.target,
            "now": self.now.isoformat(),
            "keep_releases": self.keep_releases,
            "keep_days": self.keep_days,
            "kept": [{**r.to_dict(), "reasons": list(self.reasons[r.id])} for r in self.kept],
            "dropped": [r.to_dict() for r in self.dropped],
            "delete": {
                "objects": len(self.delete),
                "bytes": self.delete_bytes,
                "keys": [info.key for info in self.delete],
            },
            "kept_referenced": self.referenced,
            "kept_young": len(self.young),
            "being_published": [r.id for r in self.pending],
            "stale_markers": list(self.stale_markers),
        }


@dataclass(frozen=True)
class PruneReport:
    """What a prune did (or, for a dry run, would do).

    .. versionadded:: 0.1
    """

    plan: PrunePlan
    dry_run: bool
    deleted: tuple[ObjectInfo, ...] = ()
    records_deleted: tuple[str, ...] = ()
    """Release ids whose records were deleted."""
    markers_deleted: tuple[str, ...] = ()
    """Release ids whose pending markers were deleted (superseded, or a day old)."""
    spared: tuple[str, ...] = ()
    """Keys the plan would delete but a release that appeared meanwhile references."""
    late: tuple[str, ...] = ()
    """Releases whose record or pending marker appeared or changed while the prune ran (kept)."""
    damaged: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Release id -> keys it references that are missing: its record appeared while the last
    batch was being deleted, and they were not stored again since. Publish that release again
    to upload them again."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No release lost an object."""
        return not self.damaged

    def lines(self) -> list[str]:
        """The plan, then what was done, for people."""
        out = self.plan.lines()
        if self.dry_run:
            if self.plan.delete or self.plan.dropped or self.plan.stale_markers:
                out.append(
                    f"dry run: would delete {len(self.plan.delete)} object(s) "
                    f"({format_size(self.plan.delete_bytes)}), then "
                    f"{len(self.plan.dropped)} release record(s)"
                    f"{_markers(len(self.plan.stale_markers))}; run again with --yes to delete"
                )
            else:
                out.append("nothing to delete")
            return out
        if self.spared:
            out.append(
                f"spared {len(self.spared)} object(s) referenced by release(s) published while "
                f"pruning: {', '.join(self.late)}"
            )
        for release, keys in sorted(self.damaged.items()):
            shown = ", ".join(keys[:3]) + (" ..." if len(keys) > 3 else "")
            out.append(
                f"error: release {release} was published while the last batch was deleted and "
                f"lost {len(keys)} object(s) ({shown}): publish it again to upload them again"
            )
        size = format_size(sum(info.size for info in self.deleted))
        out.append(
            f"deleted {len(self.deleted)} object(s) ({size}) and "
            f"{len(self.records_deleted)} release record(s){_markers(len(self.markers_deleted))} "
            f"from {self.plan.target} in {self.seconds:.2f}s"
        )
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready report (``--json``)."""
        return {
            **self.plan.to_dict(),
            "dry_run": self.dry_run,
            "ok": self.ok,
            "deleted": {
                "objects": len(self.deleted),
                "bytes": sum(info.size for info in self.deleted),
                "records": list(self.records_deleted),
                "markers": list(self.markers_deleted),
            },
            "spared": list(self.spared),
            "late_releases": list(self.late),
            "damaged": {release: list(keys) for release, keys in self.damaged.items()},
            "seconds": round(self.seconds, 3),
        }


def select_releases(
    releases: Iterable[Release], *, keep_releases: int, keep_days: float, now: datetime
) -> tuple[list[Release], list[Release], dict[str, tuple[str, ...]]]:
    """Split releases into kept and dropped by the rule (see the module docstring).

    :returns: ``(kept, dropped, reasons)``, releases newest first.
    """
    ordered = sorted(releases, key=lambda r: (r.published_at, r.id), reverse=True)
    if not ordered:
        return [], [], {}
    newest = ordered[0].published_at
    # Releases published at the same moment as the N-th newest are kept with it, so which of
    # two releases stamped in the same second is "newer" never decides what is deleted.
    nth = ordered[min(max(keep_releases, 1), len(ordered)) - 1].published_at
    young_after = now - timedelta(days=keep_days)
    kept, dropped, reasons = [], [], {}
    for release in ordered:
        why = []
        if release.published_at >= newest:
            why.append("newest")
        elif keep_releases and release.published_at >= nth:
            why.append(f"newest {keep_releases}")
        if release.published_at > young_after:
            why.append(f"younger than {_days(keep_days)}")
        if why:
            kept.append(release)
            reasons[release.id] = tuple(why)
        else:
            dropped.append(release)
    return kept, dropped, reasons


def plan_prune(
    target: Target,
    *,
    keep_releases: int,
    keep_days: float,
    now: datetime | None = None,
    jobs: int = 8,
) -> PrunePlan:
    """Decide what a prune deletes: records and markers are listed (and read) first, objects
    second.

    :param keep_releases: N, keep the newest N releases (the newest is kept even with 0).
    :param keep_days: D, keep releases younger than D days and objects last modified less than
        D days ago.
    :param now: the current time (tests); default: this machine's clock, in UTC.
    :param jobs: release records read at once.
    :raises ConfigError: a negative N or D.
    :raises ManifestError: a release record or a pending marker that counts is damaged (prune
        cannot know what it references).
    """
    _check_policy(keep_releases, keep_days)
    listed_at = datetime.now(timezone.utc)
    now = now if now is not None else listed_at
    records, markers = _list_own(target)
    releases = list_releases(target, jobs=jobs, records=records)
    kept, dropped, reasons = select_releases(
        releases, keep_releases=keep_releases, keep_days=keep_days, now=now
    )
    pending: list[Release] = []
    stale: list[str] = []
    if records:  # a target without release records is not pruned at all
        for release, info in sorted(markers.items()):
            if _marker_counts(info, records.get(release), now):
                pending.append(_read_marker(target, release, info))
            else:
                stale.append(release)
    rescued = {r.id: r for r in dropped if r.id in {p.id for p in pending}}
    for marked in pending:
        if marked.id not in reasons:
            kept.append(rescued.get(marked.id, marked))
        reasons[marked.id] = (*reasons.get(marked.id, ()), BEING_PUBLISHED)
    dropped = [r for r in dropped if r.id not in rescued]
    protected = frozenset().union(*(release.keys for release in (*kept, *pending)))
    delete: list[ObjectInfo] = []
    young: list[ObjectInfo] = []
    referenced = 0
    if records:
        old_before = now - timedelta(days=keep_days)
        for info in target.list_objects():
            if info.key.startswith(HASHSTORE_PREFIX):
                continue
            if info.key in protected:
                referenced += 1
            elif keep_days and info.last_modified > old_before:
                young.append(info)
            else:
                delete.append(info)
    return PrunePlan(
        target=target.describe(),
        now=now,
        keep_releases=keep_releases,
        keep_days=keep_days,
        kept=tuple(newest_first(kept)),
        dropped=tuple(dropped),
        reasons=reasons,
        delete=tuple(delete),
        young=tuple(young),
        referenced=referenced,
        records=records,
        protected=protected,
        listed_at=listed_at,
        markers=markers,
        pending=tuple(pending),
        stale_markers=tuple(stale),
    )


def _list_own(target: Target) -> tuple[dict[str, ObjectInfo], dict[str, ObjectInfo]]:
    """Release records and pending markers by release id, from one listing of ``.hashstore/``.

    :returns: ``(records, markers)``; no bodies are read.
    """
    records: dict[str, ObjectInfo] = {}
    markers: dict[str, ObjectInfo] = {}
    for info in target.list_objects(HASHSTORE_PREFIX):
        release = release_id_of(info.key)
        if release is not None:
            records[release] = info
        elif (release := _marker_id_of(info.key)) is not None:
            markers[release] = info
    return records, markers


def _read_marker(target: Target, release: str, marker: ObjectInfo) -> Release:
    """The release a pending marker describes, published (for now) at the marker's LastModified.

    :raises ManifestError: the marker is not a valid manifest; the message names it.
    """
    raw = target.read(marker.key)
    try:
        manifest = Manifest.parse(raw, path=None)
    except ManifestError as exc:
        raise ManifestError(
            f"pending marker {target.url_for_key(marker.key)} is damaged: {exc}. Delete it if "
            f"no publish of release {release} is running (a publish writes it when it starts)."
        ) from None
    return Release(release, marker.last_modified, manifest, marker)


def _marker_id_of(key: str) -> str | None:
    if not key.startswith(PENDING_PREFIX) or not key.endswith(".json"):
        return None
    name = key[len(PENDING_PREFIX) : -len(".json")]
    return name if name and pending_key(name) == key and "/" not in name else None


def _marker_counts(marker: ObjectInfo, record: ObjectInfo | None, now: datetime) -> bool:
    """Whether a pending marker keeps its release: no record written at or after it (its
    publish has not finished) and younger than :data:`PENDING_GRACE` (it has not crashed)."""
    if record is not None and record.last_modified >= marker.last_modified:
        return False
    return now - marker.last_modified < PENDING_GRACE


def execute_prune(target: Target, plan: PrunePlan) -> PruneReport:
    """Delete what ``plan`` says, objects first in batches, dropped records and stale markers last.

    A publish may run meanwhile. Before each batch the records and pending markers are listed
    again; a record or marker that appeared or changed since the plan is read and its release
    kept, so the batch spares every key it references (a publish that finished or began, or a
    rollback that published an old release again). After the last batch they are listed once
    more: a release whose record appeared during that batch and references a key just deleted
    and still missing is reported in :attr:`PruneReport.damaged` (publish it again to restore
    it). Dropped records are deleted only if they are unchanged; one written within the last
    seconds (S3 keeps LastModified to the second, so a rewrite in the same second lists the
    same) is read again to tell. Stale markers are deleted only if they are unchanged.

    Call it through :func:`prune`, which holds the prune lock around the plan and this: a
    publish that saw the lock checks its objects again after writing its record, which covers
    a delete request already sent when its marker was written.
    """
    started = time.perf_counter()
    seen = dict(plan.records)
    seen_markers = dict(plan.markers)
    protected = set(plan.protected)
    dropped = {release.id: release for release in plan.dropped}
    late: dict[str, Release] = {}
    began: set[str] = set()
    # S3 keeps LastModified to the second, so a record written again within the second it was
    # first written lists the same. Dropped records that recent are read again to compare.
    recent = plan.listed_at - CLOCK_SKEW - timedelta(seconds=1)
    unsure = {r.id for r in plan.dropped if r.record.last_modified >= recent}

    def catch_up() -> tuple[dict[str, ObjectInfo], dict[str, ObjectInfo]]:
        current, markers = _list_own(target)
        for release, info in current.items():
            before = seen.get(release)
            if before is None or not _same(before, info):
                fresh = read_release(target, release, info)
            elif release in unsure and release in dropped:
                fresh = read_release(target, release, info)
                old = dropped[release]
                if fresh.published_at == old.published_at and fresh.keys == old.keys:
                    continue
            else:
                continue
            seen[release] = info
            late[release] = fresh
            protected.update(fresh.keys)
            dropped.pop(release, None)
        for release, info in markers.items():
            before = seen_markers.get(release)
            if before is not None and _same(before, info):
                continue
            # A publish began since the plan: whatever its age, it is running now.
            seen_markers[release] = info
            began.add(release)
            protected.update(_read_marker(target, release, info).keys)
            dropped.pop(release, None)
        return current, markers

    deleted: list[ObjectInfo] = []
    spared: list[str] = []
    for start in range(0, len(plan.delete), DELETE_BATCH):
        catch_up()
        batch = []
        for info in plan.delete[start : start + DELETE_BATCH]:
            if info.key in protected:
                spared.append(info.key)
            else:
                batch.append(info)
        if batch:
            target.delete([info.key for info in batch])
            deleted += batch
    current, markers = catch_up()
    gone = {info.key for info in deleted}
    damaged = {}
    for release, record in late.items():
        # A publish that saw the lock stores again what this prune deleted: only what is still
        # missing is lost.
        lost = sorted(key for key in record.keys & gone if target.stat(key) is None)
        if lost:
            damaged[release] = tuple(lost)
    records = sorted(
        release
        for release in dropped
        if release in current and _same(current[release], plan.records[release])
    )
    stale = sorted(
        release
        for release in plan.stale_markers
        if release in markers and _same(markers[release], plan.markers[release])
    )
    if records or stale:
        target.delete([*(release_key(release) for release in records), *map(pending_key, stale)])
    return PruneReport(
        plan=plan,
        dry_run=False,
        deleted=tuple(deleted),
        records_deleted=tuple(records),
        markers_deleted=tuple(stale),
        spared=tuple(spared),
        late=tuple(sorted({*late, *began})),
        damaged=damaged,
        seconds=time.perf_counter() - started,
    )


def prune(
    settings: Settings,
    *,
    keep_releases: int,
    keep_days: float,
    dry_run: bool = True,
    now: datetime | None = None,
    target: Target | None = None,
) -> PruneReport:
    """Plan a prune of ``settings.target`` and, unless ``dry_run``, carry it out.

    The one call every adapter makes (``hashstore prune``, ``manage.py hashstore_prune``,
    ``flask hashstore prune``). See the module docstring for the rule.

    Unless ``dry_run``, the prune lock ``.hashstore/prune.lock`` is written before anything is
    listed and deleted at the end, also when the prune fails (as far as the store lets it): a
    publish that lists the target meanwhile checks its objects again once its record exists.
    Run one prune at a time: the first to end removes the lock of both.

    :param keep_releases: N: keep the newest N releases (and always the newest).
    :param keep_days: D: keep releases younger than D days and objects last modified less than
        D days ago.
    :param dry_run: only plan (the default); nothing is written or deleted.
    :param now: the current time (tests); default: now, in UTC.
    :param target: a target opened already (closed by the caller).
    """
    started = time.perf_counter()
    own_target = target is None
    target = target if target is not None else open_target(settings)
    try:
        if dry_run:
            plan = plan_prune(
                target,
                keep_releases=keep_releases,
                keep_days=keep_days,
                now=now,
                jobs=settings.jobs,
            )
            return PruneReport(plan, dry_run=True, seconds=time.perf_counter() - started)
        _check_policy(keep_releases, keep_days)
        target.put_record(PRUNE_LOCK_KEY, _lock_body(keep_releases, keep_days))
        try:
            plan = plan_prune(
                target,
                keep_releases=keep_releases,
                keep_days=keep_days,
                now=now,
                jobs=settings.jobs,
            )
            report = execute_prune(target, plan)
        finally:
            _unlock(target)
    finally:
        if own_target:
            target.close()
    return dataclasses.replace(report, seconds=time.perf_counter() - started)


def _lock_body(keep_releases: int, keep_days: float) -> bytes:
    body = {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "keep_releases": keep_releases,
        "keep_days": keep_days,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _unlock(target: Target) -> None:
    """Delete the prune lock; a failure only costs publishes a second listing for a while."""
    try:
        target.delete([PRUNE_LOCK_KEY])
    except TargetError as exc:
        log.warning(
            "could not delete %s (publishes list the target twice until it is %s old): %s",
            target.url_for_key(PRUNE_LOCK_KEY),
            PENDING_GRACE,
            exc,
        )


def _same(a: ObjectInfo, b: ObjectInfo) -> bool:
    """Whether two listings show the same write of an object.

    S3 lists LastModified to the second, so a record rewritten within the second at the same
    size lists the same; its ETag differs, so it is compared whenever both listings carry one.
    """
    if a.etag is not None and b.etag is not None and a.etag != b.etag:
        return False
    return a.size == b.size and a.last_modified == b.last_modified


def _check_policy(keep_releases: int, keep_days: float) -> None:
    if isinstance(keep_releases, bool) or not isinstance(keep_releases, int) or keep_releases < 0:
        raise ConfigError(f"keep_releases = {keep_releases!r} is invalid: a whole number >= 0")
    if (
        isinstance(keep_days, bool)
        or not isinstance(keep_days, (int, float))
        or not math.isfinite(keep_days)
        or keep_days < 0
    ):
        raise ConfigError(f"keep_days = {keep_days!r} is invalid: a number of days >= 0")


def _markers(count: int) -> str:
    return f" and {count} pending marker(s)" if count else ""


def _days(days: float) -> str:
    value = f"{days:g}"
    return f"{value} day" if value == "1" else f"{value} days"
