"""Every error hashstore raises on purpose, in one tree::

    HashstoreError                 anything hashstore reports to a user
    ├── ConfigError                an invalid setting: names the field, value and what is allowed
    ├── SourceError                a source file that cannot be used: names the file (and line)
    │   └── MissingReferenceError  references to files that are in no source root (strict mode)
    ├── ManifestError              a manifest that is missing, malformed or of another version
    │   └── UnknownAssetError      a logical name the manifest does not hold (also a ValueError)
    └── TargetError                the store refused or failed: names the bucket/key and operation
        └── PublishError           some objects could not be stored; nothing was recorded

Foreign errors (botocore, OSError) are translated at one boundary each and chained with
``raise ... from exc`` so the original traceback stays available.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class HashstoreError(Exception):
    """Root of every error hashstore raises on purpose."""


class ConfigError(HashstoreError):
    """A setting is invalid or missing."""


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
            "Fix the paths, add the files, or exempt the referring files with the "
            "'allow_missing' setting."
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
    """

    def __init__(self, failures: Sequence[tuple[str, str]]) -> None:
        self.failures = tuple(sorted(failures))
        by_reason: dict[str, list[str]] = {}
        for key, reason in self.failures:
            by_reason.setdefault(reason, []).append(key)
        lines = []
        for reason, keys in by_reason.items():
            shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
            lines.append(f"  {reason}\n    ({len(keys)} object(s): {shown})")
        super().__init__(
            f"{len(self.failures)} object(s) could not be published; no release record or "
            "manifest was written and the previous ones are still in place. Rerun to upload "
            "only what is still missing.\n" + "\n".join(lines)
        )
