"""Carry out a prune plan: objects in batches, each batch sparing what appeared meanwhile.

A publish may run beside a prune; before each batch the records and pending markers are listed
again (see :func:`execute_prune`). The rule is :mod:`hashstore.retention`'s docstring.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .pending import read_marker
from .pins import read_pin
from .progress import SILENT, Progress
from .prune_plan import DELETE_BATCH, PrunePlan, list_own_records
from .publish import format_size
from .releases import Release, read_release
from .targets import ObjectInfo, Target, release_key
from .targets.base import pending_key

__all__ = ["CLOCK_SKEW", "PruneReport", "execute_prune"]

CLOCK_SKEW = timedelta(minutes=15)
"""How far a store's clock may be from this machine's: S3 refuses requests signed more than
15 minutes off its own clock."""


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


def execute_prune(
    target: Target, plan: PrunePlan, *, progress: Progress | None = None
) -> PruneReport:
    """Delete what ``plan`` says, objects first in batches, dropped records and stale markers last.

    A publish may run meanwhile. Before each batch the records, pending markers and pins are
    listed again; a record, marker or pin that appeared or changed since the plan is read and
    its release kept, so the batch spares every key it references (a publish that finished or
    began, a rollback that published an old release again, a deploy that pinned one). After the
    last batch they are listed once more: a release whose record (or pin) appeared during that
    batch and references a key just deleted and still missing is reported in
    :attr:`PruneReport.damaged` (publish it again to restore it). Dropped records are deleted
    only if they are unchanged; one written within the last seconds (S3 keeps LastModified to
    the second, so a rewrite in the same second lists the same) is read again to tell. Stale
    markers are deleted only if they are unchanged.

    Call it through :func:`prune`, which holds the prune lock around the plan and this: a
    publish that saw the lock checks its objects again after writing its record, which covers
    a delete request already sent when its marker was written.
    """
    started = time.perf_counter()
    progress = progress if progress is not None else SILENT
    seen = dict(plan.records)
    seen_markers = dict(plan.markers)
    seen_pins = {name: pin.record for name, pin in plan.pins.items()}
    protected = set(plan.protected)
    dropped = {release.id: release for release in plan.dropped}
    late: dict[str, Release] = {}
    began: set[str] = set()
    # S3 keeps LastModified to the second, so a record written again within the second it was
    # first written lists the same. Dropped records that recent are read again to compare.
    recent = plan.listed_at - CLOCK_SKEW - timedelta(seconds=1)
    unsure = {r.id for r in plan.dropped if r.record.last_modified >= recent}

    def catch_up() -> tuple[dict[str, ObjectInfo], dict[str, ObjectInfo]]:
        current, markers, pins = list_own_records(target)
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
            protected.update(read_marker(target, release, info).keys)
            dropped.pop(release, None)
        for name, info in pins.items():
            before = seen_pins.get(name)
            if before is not None and _same(before, info):
                continue
            # Pinned since the plan (a deploy declared an old release live): keep it.
            seen_pins[name] = info
            pinned = dropped.pop(read_pin(target, name, info).release, None)
            if pinned is not None:
                late[pinned.id] = pinned
                protected.update(pinned.keys)
        return current, markers

    deleted: list[ObjectInfo] = []
    spared: list[str] = []
    progress.phase("deleting", len(plan.delete), unit="object")
    for start in range(0, len(plan.delete), DELETE_BATCH):
        progress.check(
            f"interrupted: prune stopped after deleting {len(deleted)} of {len(plan.delete)} "
            "object(s), between batches; no release record was deleted. Run it again to finish"
        )
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
        progress.advance(len(plan.delete[start : start + DELETE_BATCH]))
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


def _same(a: ObjectInfo, b: ObjectInfo) -> bool:
    """Whether two listings show the same write of an object.

    S3 lists LastModified to the second, so a record rewritten within the second at the same
    size lists the same; its ETag differs, so it is compared whenever both listings carry one.
    """
    if a.etag is not None and b.etag is not None and a.etag != b.etag:
        return False
    return a.size == b.size and a.last_modified == b.last_modified


def _markers(count: int) -> str:
    return f" and {count} pending marker(s)" if count else ""
