"""Publish a build: upload what the target lacks, then the release record, then the manifest.

The order is the safety rule of the whole project. Every object a manifest names is in the
target before the manifest exists: objects first (in parallel, create-only), the release record
once all of them are confirmed, the local manifest last (atomically). A failure at any step
leaves the previous release record and manifest untouched, and a rerun uploads only what is
still missing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from .build import Build, BuiltFile, build
from .errors import HashstoreError, PublishError, TargetError
from .manifest import Manifest
from .settings import Settings
from .targets import Target, open_target

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
    seconds: float = 0.0
    warnings: tuple[str, ...] = field(default=())

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
        return (
            f"{verb} {count} new file(s) ({format_size(size)}), {present} already present, "
            f"{len(self.plan.build.files)} in release {self.manifest.release} "
            f"-> {self.target} in {self.seconds:.2f}s"
        )

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
        }


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
    # Compact: read by programs only, and json's C encoder is used only without indent.
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def plan(settings: Settings, target: Target, *, built: Build | None = None) -> Plan:
    """Build (unless given) and ask the target which hashed keys it lacks."""
    built = built if built is not None else build(settings)
    manifest = Manifest.from_build(
        built, release=settings.release or built.release, base_url=settings.base_url
    )
    existing = target.find_existing([f.key for f in built.files.values()])
    missing, present, damaged = [], [], []
    for f in built.files.values():
        size = existing.get(f.key)
        if size is None:
            missing.append(f)
        elif size == f.size:
            present.append(f)
        else:
            damaged.append(
                (
                    f.key,
                    f"exists with {size} bytes, expected {f.size}: the stored object is "
                    "damaged; delete it and publish again (`hashstore verify` lists all such)",
                )
            )
    if damaged:
        raise PublishError(damaged)
    strategy = str(getattr(target, "last_plan_strategy", "stat" if not settings.is_s3 else "list"))
    return Plan(built, manifest, tuple(missing), tuple(present), strategy)


def execute(
    the_plan: Plan, target: Target, *, jobs: int, on_file: FileCallback | None = None
) -> tuple[list[str], list[str]]:
    """Upload the plan's missing files in parallel.

    :returns: ``(uploaded, raced)`` logical names.
    :raises PublishError: listing every file that failed, after all others finished.
    """
    uploaded: list[str] = []
    raced: list[str] = []
    failures: list[tuple[str, str]] = []
    lock = threading.Lock()

    def upload(f: BuiltFile) -> bool:
        return target.put_if_absent(f)

    if not the_plan.missing:
        return uploaded, raced
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="hashstore-upload") as pool:
        futures = {pool.submit(upload, f): f for f in the_plan.missing}
        for future in as_completed(futures):
            f = futures[future]
            try:
                created = future.result()
            except (HashstoreError, OSError) as exc:
                # A TargetError's reason leaves the key out, so one cause reads once for all.
                reason = exc.reason if isinstance(exc, TargetError) else str(exc)
                failures.append((f.key, reason))
                continue
            with lock:
                (uploaded if created else raced).append(f.name)
            if on_file is not None:
                on_file(f, created)
    if failures:
        raise PublishError(failures)
    return sorted(uploaded), sorted(raced)


def _restore_pruned(
    the_plan: Plan, target: Target, jobs: int, on_file: FileCallback | None
) -> None:
    """Check, after the release record exists, that every object is still there.

    A prune that planned before this release's record appeared may have deleted objects this
    publish found present (a rollback to an old release reuses old objects and uploads nothing,
    so the prune's age rule cannot protect them). Once the record exists every later prune keeps
    the release; one more listing catches what an earlier prune removed, and it is stored again
    before the manifest is written.
    """
    files = the_plan.build.files.values()
    existing = target.find_existing([f.key for f in files])
    lost = tuple(f for f in files if f.key not in existing)
    if lost:
        execute(replace(the_plan, missing=lost), target, jobs=jobs, on_file=on_file)


def publish(
    settings: Settings,
    *,
    dry_run: bool = False,
    on_file: FileCallback | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    built: Build | None = None,
    target: Target | None = None,
) -> PublishReport:
    """Build the sources, upload what is missing, then write the release record and manifest.

    This is the one call every adapter makes (``hashstore publish``, ``collectstatic``,
    ``flask hashstore publish``).

    :param settings: what to build and where to publish.
    :param dry_run: plan only: nothing is uploaded or written.
    :param on_file: called after each upload (from worker threads).
    :param on_plan: called once the plan is known, before any upload (progress bars).
    :param built: a build made already.
    :param target: a target opened already (tests, benchmarks); closed by the caller.
    :raises HashstoreError: any failure; nothing is recorded then.
    """
    started = time.perf_counter()
    own_target = target is None
    target = target if target is not None else open_target(settings)
    try:
        the_plan = plan(settings, target, built=built)
        if on_plan is not None:
            on_plan(the_plan)
        uploaded: list[str] = []
        raced: list[str] = []
        if not dry_run:
            uploaded, raced = execute(the_plan, target, jobs=settings.jobs, on_file=on_file)
            target.put_release(the_plan.manifest.release, release_record(the_plan.manifest))
            _restore_pruned(the_plan, target, settings.jobs, on_file)
            the_plan.manifest.save(settings.manifest)
    finally:
        if own_target:
            target.close()
    return PublishReport(
        plan=the_plan,
        target=target.describe(),
        manifest_path=str(settings.manifest),
        dry_run=dry_run,
        uploaded=tuple(uploaded),
        raced=tuple(raced),
        seconds=time.perf_counter() - started,
        warnings=tuple(str(m) for m in the_plan.build.missing),
    )
