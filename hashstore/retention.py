"""Prune: delete the objects no kept release needs, by a retention policy (N releases, D days).

Publish never deletes, so a target grows with every release; prune is the one place objects
go. The rule, exactly as ``docs/retention.md`` states it:

    A prune keeps a release if it is one of the newest N releases by ``published_at`` (releases
    published at the same moment as the N-th newest are kept with it), if it was published less
    than D days before now, if it is the newest, or if a pin ``.hashstore/pins/<name>`` names it
    (whatever its age or rank); every other release is dropped. A release being published is
    kept too: one whose pending marker ``.hashstore/pending/<release>.json`` is less than a day
    old (``PENDING_GRACE``, whatever D is) and was written after its release record, if it has
    one. It deletes an object only if all three hold: its key is under the target's prefix and
    not under ``.hashstore/``; no kept release references it; and its LastModified is at least D
    days before now (with D = 0, at any age). A prune that deletes writes
    ``.hashstore/prune.lock`` before its first listing and deletes it when it ends. Objects are
    deleted in batches of at most 1,000 keys; before each batch the release records, pending
    markers and pins are listed again, and a release whose record, marker or pin appeared or
    changed since the plan (a publish that finished or began meanwhile, an old release published
    again, or one a deploy pinned) is kept, so none of its objects is deleted. The records of
    dropped releases and the pending markers that no longer count (a newer record supersedes
    them, or they are a day old) are deleted last, after every object, and only if unchanged
    since the plan; the lock goes after them. Nothing else is ever deleted: not the records of
    kept releases, not pins, nothing else under ``.hashstore/``, nothing outside the prefix; a
    target without any release record is left alone, and a pin that names a release without a
    record stops the prune before anything is deleted.

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
import time
from datetime import datetime, timedelta, timezone

from .errors import TargetError
from .progress import Progress
from .prune_execute import PruneReport, execute_prune
from .prune_plan import PrunePlan, check_policy, days_text, plan_prune, select_releases
from .settings import Settings
from .targets import Target, open_target
from .targets.base import PENDING_GRACE, PRUNE_LOCK_KEY

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


def prune(
    settings: Settings,
    *,
    keep_releases: int,
    keep_days: float,
    dry_run: bool = True,
    now: datetime | None = None,
    target: Target | None = None,
    progress: Progress | None = None,
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
    :param progress: told of the listing and the deletes; when it asks to stop, the prune
        stops before its next batch and releases its lock (:class:`~hashstore.errors.
        Interrupted` says how far it got).
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
                progress=progress,
            )
            return PruneReport(plan, dry_run=True, seconds=time.perf_counter() - started)
        check_policy(keep_releases, keep_days)
        target.put_record(PRUNE_LOCK_KEY, _lock_body(keep_releases, keep_days))
        try:
            plan = plan_prune(
                target,
                keep_releases=keep_releases,
                keep_days=keep_days,
                now=now,
                jobs=settings.jobs,
                progress=progress,
            )
            report = execute_prune(target, plan, progress=progress)
        finally:
            _unlock(target)
    finally:
        if progress is not None:
            progress.done()
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
            days_text(PENDING_GRACE / timedelta(days=1)),
            exc,
        )
