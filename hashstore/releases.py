"""Release history: the release records a target holds, newest first, and one record by id.

Every publish writes ``.hashstore/releases/<release>.json`` after all of its objects are stored:
the manifest plus ``published_at``. Those records are the history that ``hashstore releases``
lists, that ``hashstore verify --release`` checks and that ``hashstore prune`` keeps or drops.
A release published again (a rollback publishes the same content, so the same release id) gets
a fresh ``published_at`` and so becomes the newest again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .errors import ManifestError
from .manifest import Manifest
from .targets import ObjectInfo, Target, release_key
from .targets.base import RELEASES_PREFIX

__all__ = ["Release", "list_records", "list_releases", "load_release", "read_release"]


@dataclass(frozen=True)
class Release:
    """One release record as stored in a target.

    .. versionadded:: 0.1
    """

    id: str
    """The release id, from the record's key (``.hashstore/releases/<id>.json``)."""
    published_at: datetime
    """When it was published (``published_at`` in the record; the record's LastModified for a
    record without one). Always timezone-aware."""
    manifest: Manifest
    record: ObjectInfo
    """The record's own listing entry (key, size, LastModified)."""

    @property
    def files(self) -> int:
        """How many files the release has."""
        return len(self.manifest)

    @property
    def size(self) -> int:
        """Total bytes of the release's files."""
        return sum(entry.size for entry in self.manifest.values())

    @property
    def keys(self) -> frozenset[str]:
        """The hashed keys the release references."""
        return frozenset(entry.key for entry in self.manifest.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (``--json``)."""
        return {
            "release": self.id,
            "published_at": self.published_at.isoformat(),
            "files": self.files,
            "size": self.size,
        }


def release_id_of(key: str) -> str | None:
    """The release id of a record key, or ``None`` for a key that is not a release record."""
    if not key.startswith(RELEASES_PREFIX) or not key.endswith(".json"):
        return None
    name = key[len(RELEASES_PREFIX) : -len(".json")]
    return name if name and "/" not in name else None


def list_records(target: Target) -> dict[str, ObjectInfo]:
    """Every release record in ``target`` by release id, from one listing (no bodies read)."""
    records = {}
    for info in target.list_objects(RELEASES_PREFIX):
        release = release_id_of(info.key)
        if release is not None:
            records[release] = info
    return records


def read_release(target: Target, release: str, record: ObjectInfo) -> Release:
    """Read and parse one release record.

    :raises ManifestError: the record is not a valid manifest; the message names it.
    """
    raw = target.read(record.key)
    where = target.url_for_key(record.key)
    try:
        manifest = Manifest.parse(raw, path=None)
    except ManifestError as exc:
        raise ManifestError(
            f"release record {where} is damaged: {exc}. Delete it (its release can no longer "
            "be verified or kept by prune) or publish that release again."
        ) from None
    data = json.loads(raw)  # valid JSON: Manifest.parse accepted it
    return Release(release, _published_at(data, record), manifest, record)


def list_releases(
    target: Target,
    *,
    jobs: int = 8,
    records: Mapping[str, ObjectInfo] | None = None,
) -> list[Release]:
    """Every release in ``target``, newest first.

    Records are listed once and read ``jobs`` at a time. Releases published in the same second
    are ordered by id, so the order is the same on every run.

    :param records: release id -> record entry, from :func:`list_records` already called.
    :raises ManifestError: a record is damaged (prune must not guess what it references).
    """
    found = dict(records) if records is not None else list_records(target)
    if not found:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(found)))) as pool:
        futures = [pool.submit(read_release, target, rel, info) for rel, info in found.items()]
        releases = [future.result() for future in futures]
    return newest_first(releases)


def newest_first(releases: Iterable[Release]) -> list[Release]:
    """Releases sorted newest first (by ``published_at``, then id)."""
    return sorted(releases, key=lambda r: (r.published_at, r.id), reverse=True)


def load_release(target: Target, release: str) -> Manifest:
    """The manifest of one release, from its record in ``target``.

    :raises ManifestError: there is no such release, or its record is damaged.
    """
    if release_id_of(release_key(release)) != release:
        raise ManifestError(f"{release!r} is not a release id (letters, digits, '.', '_', '-')")
    info = target.stat(release_key(release))
    if info is None:
        raise ManifestError(
            f"release {release} is not in {target.describe()} (no "
            f"{target.url_for_key(release_key(release))}); `hashstore releases` lists the "
            "releases it holds"
        )
    return read_release(target, release, info).manifest


def _published_at(data: Mapping[str, Any], record: ObjectInfo) -> datetime:
    value = data.get("published_at")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    return record.last_modified
