"""Every error hashstore raises on purpose, in one tree::

    HashstoreError                 anything hashstore reports to a user
    ├── ConfigError                an invalid setting: names the field, value and what is allowed
    ├── SourceError                a source file that cannot be used: names the file (and line)
    │   └── MissingReferenceError  references to files that are in no source root (strict mode)
    ├── ManifestError              a manifest that is missing, malformed or of another version
    │   └── UnknownAssetError      a logical name the manifest does not hold (also a ValueError)
    ├── TargetError                the store refused or failed: names the bucket/key and operation
    │   ├── PublishError           some objects could not be stored; nothing was recorded
    │   └── KeptNameChangedError   a name kept as already hashed is stored with other bytes
    └── Interrupted                SIGINT/SIGTERM stopped a command at a safe point

Foreign errors (botocore, OSError) are translated at one boundary each and chained with
``raise ... from exc`` so the original traceback stays available.

A message that names a setting does so with :func:`~hashstore.spelling.option`; each adapter
shows it in its own spelling (``--checksum md5``, ``OPTIONS["checksum"]``,
``HASHSTORE_CHECKSUM``) with :meth:`HashstoreError.render` or :meth:`HashstoreError.spelled`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from .spelling import Spelling, option, render

_E = TypeVar("_E", bound="HashstoreError")


class HashstoreError(Exception):
    """Root of every error hashstore raises on purpose.

    ``str(error)`` names settings in the spelling given to :meth:`spelled` (``Settings`` field
    names until an adapter gives its own).
    """

    spelling: Spelling | None = None

    def __str__(self) -> str:
        return self.render(self.spelling)

    def render(self, spelling: Spelling | None) -> str:
        """The message, naming settings as ``spelling`` writes them."""
        return render(super().__str__(), spelling)

    def spelled(self: _E, spelling: Spelling) -> _E:
        """This error, with ``str()`` naming settings as ``spelling`` writes them.

        Adapters call it where an error leaves them (a traceback, Django's ``CommandError``),
        so the message reads in the user's own terms.
        """
        self.spelling = spelling
        return self


class ConfigError(HashstoreError):
    """A setting is invalid or missing.

    :param message: what is wrong and what is allowed.
    :param problems: each problem on its own, when several settings are invalid at once
        (Django's system checks report one message per problem); default: the message.
    """

    def __init__(self, message: str, *, problems: Sequence[str] = ()) -> None:
        self.problems = tuple(problems) or (message,)
        super().__init__(message)


class SourceError(HashstoreError):
    """A source file cannot be scanned, read or built.

    :param message: what went wrong and what to do.
    :param path: the file, as the user wrote or sees it.
    :param line: the 1-based line, for an error inside a file.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


@dataclass(frozen=True, slots=True)
class MissingReference:
    """A reference in a source file to a file that no source root holds."""

    source: str
    """Logical name of the file that holds the reference."""
    line: int
    reference: str
    """The reference as written (``url(...)`` argument, ``@import`` string, source map URL)."""
    resolved: str
    """The logical name the reference resolves to; starting with ``../`` when it climbs above
    the root of the logical names."""

    def __str__(self) -> str:
        if self.resolved.startswith("../"):
            return (
                f"{self.source}:{self.line}: {self.reference} -> '{self.resolved}' is outside "
                "the source root"
            )
        return f"{self.source}:{self.line}: {self.reference} -> '{self.resolved}' not found"


class MissingReferenceError(SourceError):
    """One or more references point at files that are in no source root (strict mode)."""

    def __init__(self, missing: Sequence[MissingReference]) -> None:
        self.missing = tuple(missing)
        lines = "\n".join(f"  {item}" for item in self.missing)
        super().__init__(
            f"{len(self.missing)} reference(s) point at files in no source root:\n{lines}\n"
            "Fix the paths, add the files, or exempt the referring files with "
            f"{option('allow_missing')}."
        )


class ManifestError(HashstoreError):
    """A manifest file is missing, unreadable, malformed or of another version."""


class UnknownAssetError(ManifestError, ValueError):
    """A logical name is not in the manifest.

    Also a :class:`ValueError`, which is what Django's storages raise for a missing file.
    """


class TargetError(HashstoreError):
    """The target store refused or failed an operation.

    :param message: what went wrong and what to do.
    :param operation: the store operation (``PutObject``, ``ListObjectsV2``, ``write``...).
    :param bucket: the bucket, for S3.
    :param key: the object key, when one object is concerned.
    :param reason: the message without the object's key or URL, so that failures of many
        objects for one cause read as one (:class:`PublishError` groups by it); the whole
        message when not given.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.reason = reason if reason is not None else message
        super().__init__(message)


class PublishError(TargetError):
    """Some objects of a build could not be stored; no release record or manifest was written.

    :param failures: ``(key, reason)`` for every object that failed.
    :param marker: ``(key, reason)`` of the publish's pending marker, if it could not be written
        either; it joins the objects' line of the same reason, so a cause is told once.
    """

    def __init__(
        self, failures: Sequence[tuple[str, str]], *, marker: tuple[str, str] | None = None
    ) -> None:
        self.failures = tuple(sorted(failures))
        self.marker = marker
        by_reason: dict[str, list[str]] = {}
        for key, reason in self.failures:
            by_reason.setdefault(reason, []).append(key)
        lines = []
        for reason, keys in by_reason.items():
            shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
            if marker is not None and marker[1] == reason:
                shown += f"; and the pending marker {marker[0]}"
            lines.append(f"  {reason}\n    ({len(keys)} object(s): {shown})")
        if marker is not None and marker[1] not in by_reason:
            lines.append(f"  the pending marker {marker[0]} could not be written: {marker[1]}")
        super().__init__(
            f"{len(self.failures)} object(s) could not be published; no release record or "
            "manifest was written and the previous ones are still in place. Rerun to upload "
            "only what is still missing.\n" + "\n".join(lines)
        )


@dataclass(frozen=True, slots=True)
class ChangedObject:
    """A file that keeps its own name, stored under that name with other bytes."""

    name: str
    """Logical name."""
    source: str
    """The file on disk."""
    where: str
    """The stored object (``s3://bucket/prefix/key`` or a path)."""
    difference: str
    """What differs (``holds other bytes of the same size``...)."""
    why_kept: str
    """Why the name is kept (``listed by .../manifest.json``...)."""

    def __str__(self) -> str:
        return (
            f"{self.name} ({self.source}): {self.where} {self.difference} "
            f"(name kept: {self.why_kept})"
        )


class KeptNameChangedError(TargetError):
    """Files that keep their own name are stored under it with other bytes; nothing was published.

    A kept name must always name the same bytes: publishing would leave the old bytes under the
    URL (S3 keeps them, CDNs cache them) while the manifest records the new integrity value.

    :param changed: every such file.
    """

    def __init__(self, changed: Sequence[ChangedObject]) -> None:
        self.changed = tuple(sorted(changed, key=lambda c: c.name))
        lines = "\n".join(f"  {item}" for item in self.changed)
        super().__init__(
            f"{len(self.changed)} file(s) keep their own name, but the target already holds "
            f"other bytes under it; nothing was uploaded or recorded:\n{lines}\n"
            "A kept name must always name the same bytes. Give each changed file a new name "
            "(build it again with its bundler, or give it a new date or version), or stop "
            "declaring it hashed (`prehashed`, `hashed_pattern`) so that hashstore names it by "
            "its content.",
            operation="compare",
            key=self.changed[0].name if self.changed else None,
        )


class Interrupted(HashstoreError):
    """A command was asked to stop (SIGINT, SIGTERM) and stopped at a safe point.

    Raised by the core when its :class:`~hashstore.progress.Progress` says to stop: a publish
    before its release record (nothing recorded), a prune between batches (its lock released),
    a verify between objects. The message starts ``interrupted:`` and says what was done.

    :param signum: the signal that asked, if one did; it decides :attr:`exit_code`.
    """

    def __init__(self, message: str, *, signum: int | None = None) -> None:
        self.signum = signum
        super().__init__(message)

    @property
    def exit_code(self) -> int:
        """What a shell expects of a process its signal stopped: 128 + the signal number
        (130 for SIGINT, 143 for SIGTERM); 130 without a signal."""
        return 128 + (self.signum if self.signum is not None else 2)
