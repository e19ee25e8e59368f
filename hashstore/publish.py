"""Publish a build: upload what the target lacks, then the release record, then the manifest.

The order is the safety rule of the whole project. Every object a manifest names is in the
target before the manifest exists: objects first (in parallel, create-only), the release record
once all of them are confirmed, the local manifest last (atomically). A failure at any step
leaves the previous release record and manifest untouched, and a rerun uploads only what is
still missing.

Before it lists the target, a publish writes its pending marker
(``.hashstore/pending/<release>.json``), which a prune honours as a kept release; see
:func:`publish` for why that, and a second listing only while a prune holds its lock, keep a
publish racing a prune whole.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from .build import Build, BuiltFile, build
from .errors import (
    ChangedObject,
    HashstoreError,
    Interrupted,
    KeptNameChangedError,
    PublishError,
    TargetError,
)
from .manifest import Manifest
from .pins import check_pin_name, pin_body
from .preflight import check_not_empty, preflight, previous_manifest
from .progress import SILENT, Progress, until_stopped
from .settings import Settings
from .spelling import render
from .targets import ObjectInfo, Target, open_target
from .targets.base import PENDING_GRACE, PRUNE_LOCK_KEY, pending_key, pin_key

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted: nothing recorded; a rerun uploads only what is missing"
"""What an interrupted publish says (the CLI prints it as the one line)."""

FileCallback = Callable[[BuiltFile, bool], None]
"""Called once per uploaded file (``created`` False: another publisher stored it first)."""


@dataclass(frozen=True)
class Plan:
    """What a publish will do: which files the target lacks."""

    build: Build
    manifest: Manifest
    missing: tuple[BuiltFile, ...]
    present: tuple[BuiltFile, ...]
    strategy: str = "list"
    """How existence was established (``list``, ``head`` or ``stat``), for verbose output."""
    prune_running: bool = False
    """The prune lock was in the listing, younger than :data:`~.targets.base.PENDING_GRACE`:
    a prune was deleting, so publish checks again, after writing its record, that every object
    is still there."""


@dataclass(frozen=True)
class PublishReport:
    """What a publish did, for summaries, ``--json`` and Django's ``post_process``."""

    plan: Plan
    target: str
    manifest_path: str
    dry_run: bool
    uploaded: tuple[str, ...] = ()
    """Logical names this publish stored."""
    raced: tuple[str, ...] = ()
    """Logical names another publisher stored between the plan and the upload."""
    restored: tuple[str, ...] = ()
    """Logical names a concurrent prune deleted after the plan, stored again."""
    seconds: float = 0.0
    warnings: tuple[str, ...] = field(default=())
    pinned: tuple[str, ...] = ()
    """Pins set to this release, after its record (``--pin``)."""
    removed: tuple[str, ...] = ()
    """Logical names the previous manifest file had and this build lacks (a shrinking build:
    pages that still ask for them get errors once this manifest is live)."""
    store_notes: tuple[str, ...] = ()
    """What the store does not check, as ``hashstore doctor`` recorded it (uploads only): each
    is said once, after the summary line.

    .. versionadded:: 0.2
    """

    @property
    def build(self) -> Build:
        return self.plan.build

    @property
    def manifest(self) -> Manifest:
        return self.plan.manifest

    @property
    def bytes_uploaded(self) -> int:
        files = self.plan.build.files
        return sum(files[name].size for name in self.uploaded)

    def summary(self) -> str:
        """One line: new / already present / bytes / seconds."""
        verb = "would upload" if self.dry_run else "uploaded"
        count = len(self.plan.missing) if self.dry_run else len(self.uploaded)
        size = sum(f.size for f in self.plan.missing) if self.dry_run else self.bytes_uploaded
        present = len(self.plan.present) + len(self.raced)
        restored = (
            f", {len(self.restored)} stored again after a concurrent prune" if self.restored else ""
        )
        return (
            f"{verb} {count} new file(s) ({format_size(size)}), {present} already present"
            f"{restored}, {len(self.plan.build.files)} in release {self.manifest.release} "
            f"-> {self.target}{_pinned(self.pinned)} in {self.seconds:.2f}s"
            f"{self._removed_note()}"
        ) + "".join(f"\nnote: {note}" for note in self.store_notes)

    @property
    def notes(self) -> tuple[str, ...]:
        """The warnings other than missing references (the build's, the pending marker's)."""
        missing = {str(m) for m in self.plan.build.missing}
        return tuple(w for w in self.warnings if w not in missing)

    def _removed_note(self) -> str:
        if not self.removed:
            return ""
        shown = ", ".join(self.removed[:3])
        more = f" and {len(self.removed) - 3} more" if len(self.removed) > 3 else ""
        return f"; {len(self.removed)} name(s) of the previous manifest are gone: {shown}{more}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (``--json``)."""
        return {
            "release": self.manifest.release,
            "target": self.target,
            "manifest": self.manifest_path,
            "dry_run": self.dry_run,
            "files": len(self.plan.build.files),
            "uploaded": list(self.uploaded) if not self.dry_run else [],
            "would_upload": [f.name for f in self.plan.missing] if self.dry_run else [],
            "already_present": len(self.plan.present) + len(self.raced),
            "bytes_uploaded": self.bytes_uploaded,
            "seconds": round(self.seconds, 3),
            "missing_references": [str(m) for m in self.plan.build.missing],
            "pinned": list(self.pinned),
            "removed": list(self.removed),
            "warnings": list(self.notes),
            "store_notes": list(self.store_notes),
        }


def _pinned(pins: tuple[str, ...]) -> str:
    return f", pinned as {', '.join(pins)}" if pins else ""


def format_size(size: int) -> str:
    """``1536`` -> ``1.5 kB``."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def release_record(manifest: Manifest, *, published_at: datetime | None = None) -> bytes:
    """The release record stored beside the objects: the manifest plus when it was published."""
    moment = published_at or datetime.now(timezone.utc)
    record = manifest.to_dict()
    record["published_at"] = moment.isoformat(timespec="microseconds")
    return _compact(record)


def pending_marker(manifest: Manifest) -> bytes:
    """The pending marker a publish writes before it lists the target: the manifest alone.

    A prune reads it to learn which keys the release references; without ``published_at``, the
    marker's LastModified stands for when the publish began.
    """
    return _compact(manifest.to_dict())


def _compact(data: dict[str, Any]) -> bytes:
    # Compact: read by programs only, and json's C encoder is used only without indent.
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def plan(settings: Settings, target: Target, *, built: Build | None = None) -> Plan:
    """Build (unless given) and ask the target which hashed keys it lacks.

    The same listing tells whether a prune holds its lock (:attr:`Plan.prune_running`).
    """
    built = built if built is not None else build(settings)
    return _plan(settings, target, built, _manifest_of(settings, built))


def _manifest_of(settings: Settings, built: Build) -> Manifest:
    return Manifest.from_build(
        built, release=settings.release or built.release, base_url=settings.base_url
    )


def _plan(settings: Settings, target: Target, built: Build, manifest: Manifest) -> Plan:
    marker = pending_key(manifest.release)
    # The lock and this publish's own marker ride along in the listing of the objects: free.
    found = target.find_objects([*(f.key for f in built.files.values()), PRUNE_LOCK_KEY, marker])
    missing, present, damaged = [], [], []
    kept: list[tuple[BuiltFile, ObjectInfo]] = []
    for f in built.files.values():
        info = found.get(f.key)
        if info is None:
            missing.append(f)
        elif f.key == f.name:  # a kept name: present only with the same bytes
            kept.append((f, info))
            present.append(f)
        elif info.size == f.size:
            present.append(f)
        else:
            damaged.append(
                (
                    f.key,
                    f"exists with {info.size} bytes, expected {f.size}: the stored object is "
                    "damaged; delete it and publish again (`hashstore verify` lists all such)",
                )
            )
    if damaged:
        raise PublishError(damaged)
    changed = target.find_changed(kept) if kept else []
    if changed:
        raise KeptNameChangedError(
            [
                ChangedObject(
                    f.name,
                    str(f.source),
                    target.url_for_key(f.key),
                    why,
                    built.kept.get(f.name, ""),
                )
                for f, why in changed
            ]
        )
    strategy = str(getattr(target, "last_plan_strategy", "stat" if not settings.is_s3 else "list"))
    running = _prune_running(found.get(PRUNE_LOCK_KEY), found.get(marker))
    return Plan(built, manifest, tuple(missing), tuple(present), strategy, running)


def _prune_running(lock: ObjectInfo | None, marker: ObjectInfo | None) -> bool:
    """Whether the prune lock is recent enough to be a prune that is running.

    Its age is measured against this publish's marker, just written: both times are the store's
    clock, so this machine's clock does not matter (a dry run, which writes no marker, uses it).
    A lock dated after the marker (clocks of a store's nodes) counts as running.
    """
    if lock is None:
        return False
    now = marker.last_modified if marker is not None else datetime.now(timezone.utc)
    return now - lock.last_modified < PENDING_GRACE


def execute(
    the_plan: Plan,
    target: Target,
    *,
    jobs: int,
    on_file: FileCallback | None = None,
    progress: Progress | None = None,
) -> tuple[list[str], list[str]]:
    """Upload the plan's missing files in parallel.

    :param progress: told of each upload; when it asks to stop, queued uploads are cancelled,
        multipart uploads in flight are aborted (:meth:`Target.cancel`), and the uploads
        already sending finish.
    :returns: ``(uploaded, raced)`` logical names.
    :raises PublishError: listing every file that failed, after all others finished.
    :raises Interrupted: ``progress`` asked to stop.
    """
    progress = progress if progress is not None else SILENT
    uploaded: list[str] = []
    raced: list[str] = []
    failures: list[tuple[str, str]] = []
    lock = threading.Lock()

    def upload(f: BuiltFile) -> bool:
        # A worker may take the next queued file before the waiting thread sees a stop and
        # cancels the queue: look again here, so that a stop starts nothing new.
        progress.check(INTERRUPTED)
        return target.put_if_absent(f)

    if not the_plan.missing:
        return uploaded, raced
    progress.phase("uploading", len(the_plan.missing))
    workers = target.upload_workers(jobs)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hashstore-upload") as pool:
        futures = {pool.submit(upload, f): f for f in the_plan.missing}
        try:
            for future in until_stopped(futures, progress, INTERRUPTED):
                f = futures[future]
                progress.advance()
                try:
                    created = future.result()
                except Interrupted:
                    raise
                except (HashstoreError, OSError) as exc:
                    # A TargetError's reason leaves the key out, so one cause reads once for all.
                    reason = exc.reason if isinstance(exc, TargetError) else str(exc)
                    failures.append((f.key, reason))
                    continue
                with lock:
                    (uploaded if created else raced).append(f.name)
                if on_file is not None:
                    on_file(f, created)
        except BaseException:
            # Leaving the pool waits for running uploads only; multipart ones stop at their
            # next part and are aborted.
            pool.shutdown(wait=False, cancel_futures=True)
            target.cancel()
            raise
    if failures:
        raise PublishError(failures)
    return sorted(uploaded), sorted(raced)


def _restore_pruned(
    the_plan: Plan, target: Target, jobs: int, on_file: FileCallback | None
) -> list[str]:
    """Check, after the release record exists, that every object is still there.

    Called only when the plan saw a prune running (see :func:`publish`): that prune may have
    deleted objects this publish found present. Once the record exists every later prune keeps
    the release; one more listing catches what the running one removed, and it is stored again
    before the manifest is written.

    :returns: the logical names stored again.
    """
    files = the_plan.build.files.values()
    existing = target.find_existing([f.key for f in files])
    lost = tuple(f for f in files if f.key not in existing)
    if not lost:
        return []
    uploaded, _ = execute(replace(the_plan, missing=lost), target, jobs=jobs, on_file=on_file)
    return uploaded


def publish(
    settings: Settings,
    *,
    dry_run: bool = False,
    on_file: FileCallback | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    built: Build | None = None,
    target: Target | None = None,
    pins: Sequence[str] = (),
    progress: Progress | None = None,
) -> PublishReport:
    """Build the sources, upload what is missing, then write the release record and manifest.

    This is the one call every adapter makes (``hashstore publish``, ``collectstatic``,
    ``flask hashstore publish``).

    A prune may run meanwhile. The danger is a publish that finds objects already stored (a
    rollback to an old release uploads nothing) while a prune deletes them because no kept
    release references them yet. Three steps close every interleaving:

    1. Before it lists the target, publish writes its pending marker
       ``.hashstore/pending/<release>.json`` (the manifest). A prune keeps the release of a
       marker that no newer release record supersedes and that is younger than
       :data:`~.targets.base.PENDING_GRACE`.
    2. A prune that deletes writes ``.hashstore/prune.lock`` before its first listing and
       deletes it when it ends. Publish asks for the lock in the same listing as its objects.
    3. Only if the lock was there (and younger than ``PENDING_GRACE``) does publish list the
       target once more after writing its record, and store again what is missing.

    Take the moment publish lists the target. (a) A prune running then holds the lock, so
    publish checks again once its record exists, when every later prune keeps the release:
    whatever that prune deleted is stored again, even by a delete request already in flight
    when the marker was written. (b) A prune that ended before then has finished deleting, so
    the listing shows what it deleted as missing and it is uploaded. (c) A prune that starts
    after then lists the records after the marker was written and keeps the release; once
    the record is written it supersedes the marker and keeps the release by the usual rule
    (a republished release is the newest). So a publish costs, besides its uploads, one
    request for the marker, the listing and one for the record; the second listing only while
    a prune runs.

    If the marker cannot be written, publish goes on as though a prune were running (checking
    again after the record), so the upload errors are the ones reported.

    :param settings: what to build and where to publish.
    :param dry_run: plan only: nothing is uploaded or written.
    :param on_file: called after each upload (from worker threads).
    :param on_plan: called once the plan is known, before any upload (progress bars).
    :param built: a build made already.
    :param target: a target opened already (tests, benchmarks); closed by the caller.
    :param pins: pin names (``production``) to set to this release once its record is written
        and before the manifest (see :mod:`hashstore.pins`); a dry run sets none.
    :param progress: told of each phase (hashing, listing, uploading) and checked for a stop
        until the release record is written: an interrupted publish records nothing, writes
        no manifest and leaves its pending marker as any failure does.
    :raises HashstoreError: any failure; nothing is recorded then (a failure to pin happens
        after the record: the manifest is then not written).
    :raises Interrupted: ``progress`` asked to stop before the record was written.
    """
    progress = progress if progress is not None else SILENT
    for name in pins:
        check_pin_name(name)
    started = time.perf_counter()
    preflight(settings, dry_run=dry_run)
    own_target = target is None
    target = target if target is not None else open_target(settings)
    marker_failure: TargetError | None = None
    try:
        built = built if built is not None else build(settings, progress=progress)
        progress.check(INTERRUPTED)
        check_not_empty(settings, built)
        manifest = _manifest_of(settings, built)
        previous = previous_manifest(settings.manifest)
        if not dry_run:
            try:
                target.put_record(pending_key(manifest.release), pending_marker(manifest))
            except TargetError as exc:
                # Not fatal (publish checks again after its record instead), and reported
                # once: with the error that follows, or as a warning of a publish that worked.
                marker_failure = exc
        progress.phase("listing")
        the_plan = _plan(settings, target, built, manifest)
        progress.check(INTERRUPTED)
        if on_plan is not None:
            on_plan(the_plan)
        uploaded: list[str] = []
        raced: list[str] = []
        restored: list[str] = []
        notes: list[str] = []
        if not dry_run:
            uploaded, raced = execute(
                the_plan, target, jobs=settings.jobs, on_file=on_file, progress=progress
            )
            progress.check(INTERRUPTED)  # the last moment to stop: the record makes it live
            progress.done()
            store_notes = getattr(target, "store_notes", None)  # S3: what doctor recorded
            if uploaded and store_notes is not None:
                notes = store_notes()
            target.put_release(manifest.release, release_record(manifest))
            if the_plan.prune_running or marker_failure is not None:
                restored = _restore_pruned(the_plan, target, settings.jobs, on_file)
            for name in pins:
                target.put_record(pin_key(name), pin_body(name, manifest.release))
            manifest.save(settings.manifest)
    except PublishError as exc:
        if marker_failure is None:
            raise
        # The marker failed for the same reason as the uploads, as a rule: one message.
        marker = (marker_failure.key or pending_key(manifest.release), marker_failure.reason)
        raise PublishError(exc.failures, marker=marker) from exc
    except Interrupted as exc:
        raise Interrupted(INTERRUPTED, signum=exc.signum) from None
    finally:
        progress.done()
        if own_target:
            target.close()
    warnings = [str(m) for m in the_plan.build.missing] + list(the_plan.build.warnings)
    if marker_failure is not None:
        warnings.append(
            f"the pending marker could not be written ({render(marker_failure.reason)}), so "
            "the objects were checked again after the release record"
        )
    return PublishReport(
        plan=the_plan,
        target=target.describe(),
        manifest_path=str(settings.manifest),
        dry_run=dry_run,
        uploaded=tuple(uploaded),
        raced=tuple(raced),
        restored=tuple(restored),
        seconds=time.perf_counter() - started,
        warnings=tuple(warnings),
        removed=tuple(sorted(set(previous or ()) - set(built.files))),
        pinned=tuple(pins) if not dry_run else (),
        store_notes=tuple(notes),
    )
