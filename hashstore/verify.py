"""Verify a manifest against what is really stored (and served): before traffic switches.

For every entry of a manifest (a local manifest file, or a release record), the target must
hold the hashed key with the recorded size and SHA-256 digest:

- by default one ``HeadObject`` (``stat``) per key, with S3's checksum mode, compares the size
  and the SHA-256 the store recorded at upload. Where the store keeps no whole-object SHA-256
  (stores without flexible checksums, such as Ceph's radosgw; ``checksum`` other than
  ``sha256``), the same answer's ETag is compared with the MD5 the manifest records, when the
  ETag is a single-request upload's (the MD5 of its bytes: no ``-<parts>``, no SSE-KMS or
  SSE-C). The rest (multipart uploads, manifests without MD5s, a local directory) have their
  size checked and are counted as *digest not checked*;
- ``deep`` reads every body and hashes it, which also catches a store that accepted a body that
  did not match the checksum sent with it;
- ``via_cdn`` fetches every URL (``base_url`` + hashed key) as a browser would and checks the
  bytes, that ``Cache-Control`` says ``immutable`` and that ``Content-Type`` is the one the
  object was published with.

Checks run ``jobs`` at a time. Nothing is written.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import partial
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from .errors import ConfigError, HashstoreError, Interrupted
from .manifest import Manifest, ManifestEntry
from .media_types import content_type
from .progress import SILENT, Progress, until_stopped
from .publish import format_size
from .settings import Settings
from .targets import Target, open_target

__all__ = ["Problem", "VerifyReport", "expected_content_type", "verify"]

T = TypeVar("T")

_Checked = Literal["sha256", "md5", "multipart", "size"]
"""How far one object was checked: its SHA-256 (or it is missing or wrong), its ETag against
the recorded MD5, or its size alone (a multipart upload's ETag, or nothing to compare)."""

_CHUNK = 1024 * 1024
# Small enough that `jobs` objects read at once stay a few MB, large enough to hash at speed.
_DEEP_CHUNK = 256 * 1024
_USER_AGENT = "hashstore-verify"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one manifest entry.

    .. versionadded:: 0.1
    """

    name: str
    """Logical name."""
    key: str
    """Hashed key."""
    kind: str
    """``missing``, ``size``, ``sha256``, ``md5`` (the ETag), ``unreadable`` (the store), or
    ``http``, ``bytes``, ``cache-control``, ``content-type`` (through the CDN)."""
    detail: str
    where: str
    """The object (``s3://bucket/prefix/key`` or a path) or the URL that was fetched."""

    def __str__(self) -> str:
        return f"{self.kind:<13} {self.name} -> {self.where}: {self.detail}"

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "key": self.key,
            "kind": self.kind,
            "detail": self.detail,
            "where": self.where,
        }


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` found.

    .. versionadded:: 0.1
    """

    release: str
    target: str
    files: int
    size: int
    deep: bool
    via_cdn: bool
    problems: tuple[Problem, ...] = ()
    digest_unchecked: tuple[str, ...] = ()
    """Logical names whose bytes could not be compared: the store records no SHA-256 for them,
    their ETag is no MD5 (or the manifest records none) and ``deep`` was off. Their size was
    checked."""
    md5_checked: tuple[str, ...] = ()
    """Logical names whose bytes were confirmed by their ETag, the MD5 the store computed, equal
    to the one the manifest records (the store keeps no SHA-256 for them).

    .. versionadded:: 0.2
    """
    multipart_unchecked: tuple[str, ...] = ()
    """Those of ``digest_unchecked`` stored by a multipart upload (an ETag ending in
    ``-<parts>``, no MD5 of the bytes): only ``deep`` checks them.

    .. versionadded:: 0.2
    """
    seconds: float = 0.0
    urls: int = field(default=0)
    """URLs fetched (``via_cdn``)."""

    @property
    def ok(self) -> bool:
        """No entry is missing or mismatched."""
        return not self.problems

    def summary(self) -> str:
        """One line: what was checked and how many problems."""
        how = "read and hashed" if self.deep else "checked"
        text = (
            f"{how} {self.files} object(s) ({format_size(self.size)}) of release {self.release} "
            f"in {self.target}"
        )
        if self.via_cdn:
            text += f", fetched {self.urls} URL(s)"
        text += f" in {self.seconds:.2f}s: "
        if self.problems:
            names = {p.name for p in self.problems}
            text += f"{len(self.problems)} problem(s) in {len(names)} file(s)"
        else:
            text += "all present and intact"
        if self.md5_checked:
            text += (
                f"; {len(self.md5_checked)} object(s) confirmed by their ETag, the MD5 the store "
                "computed (it keeps no SHA-256 for them)"
            )
        if self.digest_unchecked:
            text += (
                f"; SHA-256 not checked for {len(self.digest_unchecked)} object(s) the store "
                "keeps no whole-object checksum for (size only; --deep reads and hashes them"
            )
            if self.multipart_unchecked:
                text += (
                    f"; {len(self.multipart_unchecked)} of them multipart upload(s), whose ETag "
                    "is no MD5 of their bytes: not checked without --deep"
                )
            text += ")"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready report (``--json``)."""
        return {
            "release": self.release,
            "target": self.target,
            "ok": self.ok,
            "files": self.files,
            "bytes": self.size,
            "deep": self.deep,
            "via_cdn": self.via_cdn,
            "urls": self.urls,
            "problems": [p.to_dict() for p in self.problems],
            "digest_unchecked": list(self.digest_unchecked),
            "md5_checked": list(self.md5_checked),
            "multipart_unchecked": list(self.multipart_unchecked),
            "seconds": round(self.seconds, 3),
        }


def expected_content_type(settings: Settings, name: str) -> str:
    """The ``Content-Type`` a logical name is published with.

    hashstore's media type table, unless ``object_parameters`` gives a ``ContentType`` for a
    glob matching the name (the last matching glob wins, as when uploading).
    """
    expected = content_type(name)
    for glob, parameters in settings.object_parameters.items():
        if fnmatchcase(name, glob) and "ContentType" in parameters:
            expected = str(parameters["ContentType"])
    return expected


def verify(
    settings: Settings,
    manifest: Manifest,
    *,
    deep: bool = False,
    via_cdn: bool = False,
    target: Target | None = None,
    timeout: float = 30.0,
    progress: Progress | None = None,
) -> VerifyReport:
    """Check that every object ``manifest`` names is stored intact (and served right).

    :param settings: where the objects are (``target``), ``jobs``, and ``object_parameters``
        (for the expected ``Content-Type``).
    :param manifest: what to check; URLs are built from its ``url_base`` (see
        :meth:`Manifest.load`), which must be absolute for ``via_cdn``.
    :param deep: read every object and hash it, rather than trusting the checksum the store
        recorded.
    :param via_cdn: also fetch every URL and check bytes, ``Cache-Control`` and
        ``Content-Type``.
    :param target: a target opened already (closed by the caller).
    :param timeout: seconds to wait for each URL.
    :param progress: told of each object checked; when it asks to stop, the checks not yet
        started are cancelled (nothing is written either way).
    :raises ConfigError: ``via_cdn`` without an absolute base URL.
    :raises HashstoreError: the target cannot be reached at all.
    :raises Interrupted: ``progress`` asked to stop.
    """
    if via_cdn:
        parts = urlsplit(manifest.url_base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"--via-cdn needs an absolute base URL, and the manifest's is "
                f"{manifest.url_base!r}: give --base-url https://cdn.example.com/static/"
            )
    started = time.perf_counter()
    own_target = target is None
    target = target if target is not None else open_target(settings)
    entries = list(manifest.items())
    progress = progress if progress is not None else SILENT
    try:
        with ThreadPoolExecutor(settings.jobs, thread_name_prefix="hashstore-verify") as pool:
            progress.phase("verifying", len(entries), unit="object")
            store_results = _all(
                pool,
                [partial(_check_stored, target, name, entry, deep=deep) for name, entry in entries],
                progress,
                "verify",
            )
            cdn_results: list[list[Problem]] = []
            if via_cdn:
                progress.phase("fetching", len(entries), unit="URL")
                cdn_results = _all(
                    pool,
                    [
                        partial(_check_served, settings, manifest, name, entry, timeout=timeout)
                        for name, entry in entries
                    ],
                    progress,
                    "verify --via-cdn",
                )
    finally:
        progress.done()
        if own_target:
            target.close()
    problems: list[Problem] = []
    unchecked: list[str] = []
    by_md5: list[str] = []
    multipart: list[str] = []
    for (name, _entry), (found, checked) in zip(entries, store_results, strict=True):
        problems += found
        if found:
            continue
        if checked == "md5":
            by_md5.append(name)
        elif checked != "sha256":
            unchecked.append(name)
            if checked == "multipart":
                multipart.append(name)
    for found in cdn_results:
        problems += found
    return VerifyReport(
        release=manifest.release,
        target=target.describe(),
        files=len(entries),
        size=sum(entry.size for _, entry in entries),
        deep=deep,
        via_cdn=via_cdn,
        problems=tuple(problems),
        digest_unchecked=tuple(unchecked),
        md5_checked=tuple(by_md5),
        multipart_unchecked=tuple(multipart),
        seconds=time.perf_counter() - started,
        urls=len(entries) if via_cdn else 0,
    )


def _all(
    pool: ThreadPoolExecutor, calls: list[Callable[[], T]], progress: Progress, doing: str
) -> list[T]:
    """The results of ``calls``, run in ``pool``, in order; stop between calls when asked.

    :raises Interrupted: ``progress`` asked to stop (calls not yet started are cancelled).
    """

    def unless_stopped(call: Callable[[], T]) -> T:
        # A worker may take the next queued call before the waiting thread sees a stop.
        progress.check("interrupted")
        return call()

    futures = [pool.submit(unless_stopped, call) for call in calls]
    done = 0
    try:
        for future in until_stopped(futures, progress, "interrupted"):
            skipped = future.exception()
            if isinstance(skipped, Interrupted):
                raise skipped
            done += 1
            progress.advance()
    except Interrupted as exc:
        raise Interrupted(
            f"interrupted: {doing} stopped after {done} of {len(calls)} object(s); nothing "
            "was written, run it again to check them all",
            signum=exc.signum,
        ) from None
    return [future.result() for future in futures]


def _check_stored(
    target: Target, name: str, entry: ManifestEntry, *, deep: bool
) -> tuple[list[Problem], _Checked]:
    """Problems of one stored object, and how far its bytes were compared (:data:`_Checked`).

    One ``stat``; the ETag is compared from that same answer (no further request).
    """
    where = target.url_for_key(entry.key)

    def problem(kind: str, detail: str) -> Problem:
        return Problem(name, entry.key, kind, detail, where)

    try:
        info = target.stat(entry.key)
        if info is None:
            return [problem("missing", "no such object")], "sha256"
        if info.size != entry.size:
            detail = f"{info.size:,} bytes stored, {entry.size:,} recorded"
            return [problem("size", detail)], "sha256"
        if deep:
            size, digest = _stream_digest(target, entry.key)
            if size != entry.size or digest != entry.sha256:
                detail = f"stored bytes ({size:,}) hash to {digest}, recorded {entry.sha256}"
                return [problem("sha256", detail)], "sha256"
            return [], "sha256"
        if info.sha256 is not None:
            if info.sha256 != entry.sha256:
                detail = f"the store's SHA-256 is {info.sha256}, recorded {entry.sha256}"
                return [problem("sha256", detail)], "sha256"
            return [], "sha256"
        if info.md5 is not None and entry.md5 is not None:
            if info.md5 != entry.md5:
                detail = (
                    f"stored bytes differ: ETag {info.md5} != MD5 {entry.md5} recorded (a "
                    "single-request upload's ETag is the MD5 of its bytes; --deep reads and "
                    "hashes them)"
                )
                return [problem("md5", detail)], "md5"
            return [], "md5"
        if info.etag is not None and "-" in info.etag:
            return [], "multipart"
        return [], "size"
    except HashstoreError as exc:
        return [problem("unreadable", str(exc))], "sha256"


def _stream_digest(target: Target, key: str) -> tuple[int, str]:
    """Size and SHA-256 of a stored object, read in chunks: memory stays bounded by
    ``jobs`` x :data:`_DEEP_CHUNK`, whatever the objects' sizes."""
    digest = hashlib.sha256()
    size = 0
    for chunk in target.iter_bytes(key, chunk_size=_DEEP_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _check_served(
    settings: Settings, manifest: Manifest, name: str, entry: ManifestEntry, *, timeout: float
) -> list[Problem]:
    """Problems of one URL: status, bytes, ``Cache-Control`` and ``Content-Type``."""
    url = manifest.url(name)

    def problem(kind: str, detail: str) -> Problem:
        return Problem(name, entry.key, kind, detail, url)

    import urllib.error  # only --via-cdn needs HTTP; keep it off every command's start-up
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    digest = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            headers = response.headers
            while block := response.read(_CHUNK):
                digest.update(block)
                size += len(block)
    except urllib.error.HTTPError as exc:
        exc.close()
        return [problem("http", f"{exc.code} {exc.reason}")]
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return [problem("http", f"cannot fetch: {reason}")]
    problems = []
    if size != entry.size or digest.hexdigest() != entry.sha256:
        problems.append(
            problem(
                "bytes",
                f"served {size:,} bytes hashing to {digest.hexdigest()}, recorded "
                f"{entry.size:,} bytes {entry.sha256}",
            )
        )
    cache_control = headers.get("Cache-Control", "")
    if "immutable" not in _tokens(cache_control):
        problems.append(
            problem(
                "cache-control",
                f"Cache-Control is {cache_control!r}, not immutable: browsers and the CDN will "
                "ask again for a file that never changes",
            )
        )
    served_type = headers.get("Content-Type", "")
    wanted = expected_content_type(settings, name)
    if _normal_type(served_type) != _normal_type(wanted):
        problems.append(
            problem("content-type", f"Content-Type is {served_type!r}, expected {wanted!r}")
        )
    return problems


def _tokens(header: str) -> set[str]:
    return {part.strip().split("=", 1)[0].lower() for part in header.split(",")}


def _normal_type(value: str) -> str:
    return ";".join(part.strip() for part in value.lower().split(";") if part.strip())


def manifest_for(
    settings: Settings,
    target: Target,
    *,
    release: str | None,
    url_base: str | None,
) -> Manifest:
    """The manifest ``hashstore verify`` checks: a release record, or the local manifest file.

    :param release: a release id to read from the target; ``None``: ``settings.manifest``.
    :param url_base: build URLs with this base instead of the manifest's.
    """
    if release is not None:
        from .releases import load_release

        manifest = load_release(target, release)
        if url_base is None:
            return manifest
        return Manifest(
            dict(manifest.items()),
            release=manifest.release,
            base_url=manifest.base_url,
            url_base=url_base,
            entries=manifest.entries,
        )
    return Manifest.load(settings.manifest, url_base=url_base)
