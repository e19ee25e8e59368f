"""The plan of a prune: which releases are kept, and which objects go.

Made from one listing of ``.hashstore/`` (release records and pending markers, then reading
them) and one listing of the objects; nothing is deleted here (:mod:`hashstore.prune_execute`
carries a plan out). The rule is :mod:`hashstore.retention`'s docstring.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from .errors import ConfigError, ManifestError
from .pending import marker_counts, marker_id_of, read_marker
from .pins import Pin, list_pins, pin_name_of
from .progress import SILENT, Progress
from .publish import format_size
from .releases import Release, list_releases, newest_first, release_id_of
from .targets import ObjectInfo, Target
from .targets.base import HASHSTORE_PREFIX

__all__ = [
    "BEING_PUBLISHED",
    "PINNED",
    "OwnRecords",
    "PrunePlan",
    "check_policy",
    "list_own_records",
    "plan_prune",
    "select_releases",
]

DELETE_BATCH = 1000
"""Keys per delete request: S3's ``DeleteObjects`` maximum (and a listing page)."""

BEING_PUBLISHED = "being published"
"""The reason a release is kept by its pending marker."""

PINNED = "pinned as"
"""The reason a release is kept by a pin (``pinned as production``)."""


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
    pins: Mapping[str, Pin] = field(default_factory=dict)
    """The pins honoured: pin name -> pin (each keeps its release).

    .. versionadded:: 0.1
    """

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
            f"{days_text(self.keep_days)})"
        ]
        if self.pins:
            honoured = ", ".join(f"{name} -> {pin.release}" for name, pin in self.pins.items())
            out.append(f"pins honoured: {honoured}")
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
            else f"last modified at least {days_text(self.keep_days)} ago"
        )
        young = (
            f"; {len(self.young)} referenced by no kept release but younger than "
            f"{days_text(self.keep_days)} kept"
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
            "pins": {name: pin.release for name, pin in self.pins.items()},
        }


def select_releases(
    releases: Iterable[Release], *, keep_releases: int, keep_days: float, now: datetime
) -> tuple[list[Release], list[Release], dict[str, tuple[str, ...]]]:
    """Split releases into kept and dropped by the rule (:mod:`hashstore.retention`).

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
            why.append(f"younger than {days_text(keep_days)}")
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
    progress: Progress | None = None,
) -> PrunePlan:
    """Decide what a prune deletes: records and markers are listed (and read) first, objects
    second.

    :param keep_releases: N, keep the newest N releases (the newest is kept even with 0).
    :param keep_days: D, keep releases younger than D days and objects last modified less than
        D days ago.
    :param now: the current time (tests); default: this machine's clock, in UTC.
    :param jobs: release records read at once.
    :param progress: told of the objects listed, and checked for a stop every 1,000.
    :raises ConfigError: a negative N or D.
    :raises ManifestError: a release record, a pin or a pending marker that counts is damaged,
        or a pin names a release without a record (prune cannot know what it references).
    :raises Interrupted: ``progress`` asked to stop (nothing was deleted).
    """
    progress = progress if progress is not None else SILENT
    check_policy(keep_releases, keep_days)
    listed_at = datetime.now(timezone.utc)
    now = now if now is not None else listed_at
    records, markers, pin_records = list_own_records(target)
    releases = list_releases(target, jobs=jobs, records=records)
    pins = list_pins(target, jobs=jobs, records=pin_records)
    kept, dropped, reasons = select_releases(
        releases, keep_releases=keep_releases, keep_days=keep_days, now=now
    )
    by_id = {release.id: release for release in releases}
    for name, pin in pins.items():
        pinned = by_id.get(pin.release)
        if pinned is None:
            raise ManifestError(
                f"pin {name} names release {pin.release}, which has no record in "
                f"{target.describe()}: prune cannot know which objects are live. Publish that "
                f"release again, or `hashstore releases unpin {name}`"
            )
        if pinned.id not in reasons:
            kept.append(pinned)
            dropped.remove(pinned)
        reasons[pinned.id] = (*reasons.get(pinned.id, ()), f"{PINNED} {name}")
    pending: list[Release] = []
    stale: list[str] = []
    if records:  # a target without release records is not pruned at all
        for release, info in sorted(markers.items()):
            if marker_counts(info, records.get(release), now):
                pending.append(read_marker(target, release, info))
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
        progress.phase("listing", unit="object")
        for listed, info in enumerate(target.list_objects(), 1):
            progress.advance()
            if listed % DELETE_BATCH == 0:
                progress.check("interrupted: prune stopped while listing; nothing was deleted")
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
        pins=pins,
    )


class OwnRecords(NamedTuple):
    """hashstore's own records in a target, from one listing of ``.hashstore/`` (no bodies)."""

    records: dict[str, ObjectInfo]
    """Release records by release id."""
    markers: dict[str, ObjectInfo]
    """Pending markers by release id."""
    pins: dict[str, ObjectInfo]
    """Pins by pin name."""


def list_own_records(target: Target) -> OwnRecords:
    """Release records, pending markers and pins, from one listing of ``.hashstore/``."""
    own = OwnRecords({}, {}, {})
    for info in target.list_objects(HASHSTORE_PREFIX):
        if (release := release_id_of(info.key)) is not None:
            own.records[release] = info
        elif (release := marker_id_of(info.key)) is not None:
            own.markers[release] = info
        elif (name := pin_name_of(info.key)) is not None:
            own.pins[name] = info
    return own


def check_policy(keep_releases: int, keep_days: float) -> None:
    """Refuse a policy that is not N >= 0 whole releases and D >= 0 finite days.

    :raises ConfigError: naming the value.
    """
    if isinstance(keep_releases, bool) or not isinstance(keep_releases, int) or keep_releases < 0:
        raise ConfigError(f"keep_releases = {keep_releases!r} is invalid: a whole number >= 0")
    if (
        isinstance(keep_days, bool)
        or not isinstance(keep_days, (int, float))
        or not math.isfinite(keep_days)
        or keep_days < 0
    ):
        raise ConfigError(f"keep_days = {keep_days!r} is invalid: a number of days >= 0")


def days_text(days: float) -> str:
    """``7`` -> ``7 days``, ``1`` -> ``1 day``."""
    value = f"{days:g}"
    return f"{value} day" if value == "1" else f"{value} days"
