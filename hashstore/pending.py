"""Pending markers: which publishes are running, and what their releases reference.

A publish writes ``.hashstore/pending/<release>.json`` (the manifest) before it lists the
target, and a prune keeps the release of every marker that counts (see
:mod:`hashstore.retention` for the rule).
"""

from __future__ import annotations

from datetime import datetime

from .errors import ManifestError
from .manifest import Manifest
from .releases import Release
from .targets import ObjectInfo, Target
from .targets.base import PENDING_GRACE, PENDING_PREFIX, pending_key

__all__ = ["marker_counts", "marker_id_of", "read_marker"]


def read_marker(target: Target, release: str, marker: ObjectInfo) -> Release:
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


def marker_id_of(key: str) -> str | None:
    """The release id of a pending marker's key, or ``None`` for any other key."""
    if not key.startswith(PENDING_PREFIX) or not key.endswith(".json"):
        return None
    name = key[len(PENDING_PREFIX) : -len(".json")]
    return name if name and pending_key(name) == key and "/" not in name else None


def marker_counts(marker: ObjectInfo, record: ObjectInfo | None, now: datetime) -> bool:
    """Whether a pending marker keeps its release: no record written at or after it (its
    publish has not finished) and younger than :data:`PENDING_GRACE` (it has not crashed)."""
    if record is not None and record.last_modified >= marker.last_modified:
        return False
    return now - marker.last_modified < PENDING_GRACE
