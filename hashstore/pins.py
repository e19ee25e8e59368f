"""Pins: the release a deploy declared live, under a name (``production``, ``staging``).

Retention by count and age follows publish history, not what is live: a CI that publishes every
commit while production deploys weekly would otherwise see production's release dropped. A pin
is a small record ``.hashstore/pins/<name>`` naming one release; prune never deletes an object
of a pinned release, whatever its age or rank, nor its record, and ``verify`` checks pinned
releases by default.

A pin is written only for a release whose record exists (``hashstore publish --pin`` writes it
right after the record). Pinning an old release while a prune deletes could race that prune, so
when the prune lock is there the release's objects are checked once the pin is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .errors import ConfigError, ManifestError
from .releases import Release, read_release
from .targets import ObjectInfo, Target, release_key
from .targets.base import PENDING_GRACE, PINS_PREFIX, PRUNE_LOCK_KEY, check_record_key, pin_key

__all__ = [
    "Pin",
    "check_pin_name",
    "list_pin_records",
    "list_pins",
    "pin_release",
    "pinned_releases",
    "read_pin",
    "unpin",
]

_PIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}")
# The same shape Settings accepts for ``release``: no '/', no leading '.', nothing a path treats
# specially, so a key built from a pin's release id stays a release record key.
_RELEASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}")


@dataclass(frozen=True)
class Pin:
    """One pin as stored in a target.

    .. versionadded:: 0.1
    """

    name: str
    """The pin's name, from its key (``.hashstore/pins/<name>``)."""
    release: str
    """The release id it names."""
    pinned_at: datetime | None
    """When it was written (``pinned_at`` in the record), timezone-aware."""
    record: ObjectInfo
    """The pin's own listing entry (key, size, LastModified, ETag)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (``--json``)."""
        return {
            "pin": self.name,
            "release": self.release,
            "pinned_at": self.pinned_at.isoformat() if self.pinned_at else None,
        }


def check_pin_name(name: str) -> str:
    """``name`` if it may name a pin: letters, digits, ``.``, ``_``, ``-`` (at most 64).

    :raises ConfigError: it may not; the message says what is allowed.
    """
    if not isinstance(name, str) or not _PIN_NAME.fullmatch(name):
        raise ConfigError(
            f"pin name {name!r} is invalid: letters, digits, '.', '_' and '-' (at most 64, "
            "starting with a letter or digit), e.g. production"
        )
    return name


def pin_name_of(key: str) -> str | None:
    """The pin name of a key under ``.hashstore/pins/``, or ``None`` for any other key."""
    if not key.startswith(PINS_PREFIX):
        return None
    name = key[len(PINS_PREFIX) :]
    return name if _PIN_NAME.fullmatch(name) else None


def pin_body(name: str, release: str, *, pinned_at: datetime | None = None) -> bytes:
    """The record of a pin: its name, the release and when."""
    moment = pinned_at or datetime.now(timezone.utc)
    body = {"pin": name, "release": release, "pinned_at": moment.isoformat(timespec="seconds")}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def list_pin_records(target: Target) -> dict[str, ObjectInfo]:
    """Every pin in ``target`` by name, from one listing (no bodies read)."""
    pins = {}
    for info in target.list_objects(PINS_PREFIX):
        name = pin_name_of(info.key)
        if name is not None:
            pins[name] = info
    return pins


def read_pin(target: Target, name: str, record: ObjectInfo) -> Pin:
    """Read one pin and check what it names before anything uses it as a key.

    :raises ManifestError: the record is not a pin, or names no valid release id.
    """
    raw = target.read(record.key)
    try:
        data = json.loads(raw)
        release = data["release"]
        if not isinstance(release, str) or not _RELEASE_ID.fullmatch(release):
            raise ValueError(f"release {release!r} is not a release id")
        check_record_key(release_key(release))
        pinned_at = _moment(data.get("pinned_at"))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = exc if isinstance(exc, ValueError) else "no release in it"
        raise ManifestError(
            f"pin {target.url_for_key(record.key)} is damaged ({reason}): set it again with "
            f"`hashstore releases pin {name} RELEASE`, or remove it with "
            f"`hashstore releases unpin {name}`"
        ) from None
    return Pin(name, release, pinned_at, record)


def list_pins(
    target: Target, *, jobs: int = 8, records: Mapping[str, ObjectInfo] | None = None
) -> dict[str, Pin]:
    """Every pin in ``target`` by name, read ``jobs`` at a time.

    :param records: pin name -> record entry, from a listing made already.
    :raises ManifestError: a pin is damaged.
    """
    found = dict(records) if records is not None else list_pin_records(target)
    if not found:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(found)))) as pool:
        futures = {name: pool.submit(read_pin, target, name, info) for name, info in found.items()}
        return {name: futures[name].result() for name in sorted(futures)}


def pinned_releases(target: Target, *, jobs: int = 8) -> dict[str, list[str]]:
    """Release id -> the names pinning it, for every pin in ``target`` (release ids sorted).

    :raises ManifestError: a pin is damaged.
    """
    pinned: dict[str, list[str]] = {}
    for name, pin in list_pins(target, jobs=jobs).items():
        pinned.setdefault(pin.release, []).append(name)
    return dict(sorted(pinned.items()))


def pin_release(target: Target, name: str, release: str) -> Release:
    """Pin ``release`` as ``name`` (replacing what ``name`` pinned before).

    The release's record must exist. If a prune holds its lock meanwhile, the release's objects
    are checked once the pin is written: a prune that planned before the pin existed may have
    deleted some of them.

    :returns: the release now pinned.
    :raises ConfigError: ``name`` or ``release`` is not valid.
    :raises ManifestError: ``release`` has no record in ``target``, or lost objects to a prune
        running meanwhile (publish it again, then pin it).
    """
    check_pin_name(name)
    if not isinstance(release, str) or not _RELEASE_ID.fullmatch(release):
        raise ConfigError(
            f"release {release!r} is not a release id (letters, digits, '.', '_', '-'); "
            "`hashstore releases` lists them"
        )
    record = target.stat(release_key(release))
    if record is None:
        raise ManifestError(
            f"cannot pin {name} to release {release}: it is not in {target.describe()} (no "
            f"{target.url_for_key(release_key(release))}); `hashstore releases` lists the "
            "releases it holds, or publish it first"
        )
    found = read_release(target, release, record)
    target.put_record(pin_key(name), pin_body(name, release))
    lock = target.stat(PRUNE_LOCK_KEY)
    if lock is not None and datetime.now(timezone.utc) - lock.last_modified < PENDING_GRACE:
        missing = sorted(found.keys - set(target.find_existing(sorted(found.keys))))
        if missing:
            shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
            raise ManifestError(
                f"pinned {name} to release {release}, but a prune running meanwhile deleted "
                f"{len(missing)} of its object(s) ({shown}): publish that release again "
                f"(hashstore publish ... --release {release} --pin {name})"
            )
    return found


def unpin(target: Target, name: str) -> Pin | None:
    """Remove the pin ``name``; its release is then kept or dropped by the policy alone.

    :returns: the pin removed, or ``None`` if there was none.
    :raises ConfigError: ``name`` is not a valid pin name.
    """
    check_pin_name(name)
    info = target.stat(pin_key(name))
    if info is None:
        return None
    try:
        pin = read_pin(target, name, info)
    except ManifestError:
        pin = Pin(name, "", None, info)  # a damaged pin is removed all the same
    target.delete([pin_key(name)])
    return pin


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
