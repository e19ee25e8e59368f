"""Build: hash every source file by its final bytes, rewriting references in dependency order.

Files that can hold references (CSS, JavaScript) are read and scanned; every other file is
hashed as a stream. References form a graph; its strongly connected components are hashed
deps-first (Tarjan's algorithm emits them in that order), so changing an image changes the hash
of every stylesheet that refers to it, transitively, and an ES module's relative imports point at
the hashed keys of the modules it imports. A cycle (``a.css`` <-> ``b.css``) is hashed as one
group: each member's name comes from a digest of the whole group, its integrity from its own
final bytes. The same input always gives the same keys and bytes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import posixpath
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from .bundlers import EntryFiles, SourceBundle, base_mismatches, bundles_in, entry_points
from .errors import MissingReference, MissingReferenceError, SourceError
from .keys import integrity_of, quote_path
from .progress import SILENT, Progress
from .references import Reference, finder_for, format_url, locate, split_suffix
from .references_js import SPECIFIER_KINDS
from .scan import ScanResult, SourceFile, scan
from .settings import Settings
from .text import Encoding, decode
from .trust import TrustRules

_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class BuiltFile:
    """One file of a build: its logical name, hashed key and final bytes."""

    name: str
    """Logical name, ``/``-separated (``css/app.css``)."""
    key: str
    """Hashed name, relative to the target's root (``css/app.3f2a9c1b7d4e.css``)."""
    digest: str
    """Hex SHA-256 of the final bytes."""
    size: int
    source: Path
    """The file on disk the bytes come from."""
    content: bytes | None = None
    """The final bytes when they differ from the source file (references rewritten)."""
    md5: str | None = None
    """Hex MD5 of the final bytes, computed in the same read as ``digest``: the manifest records
    it, for ``hashstore verify`` to compare with a single-request upload's ETag. ``None`` for a
    file of ``multipart_threshold`` bytes or more (uploaded in parts, its ETag is no MD5 of its
    bytes, so the MD5 would never be compared: not computing it saves about a second of CPU
    per 500 MB), and for files built by hand."""

    def open(self) -> BinaryIO:
        """The final bytes as a binary stream; the source file is opened only now."""
        if self.content is not None:
            return io.BytesIO(self.content)
        return self.source.open("rb")

    @property
    def integrity(self) -> str:
        """The Subresource Integrity value, ``sha256-<base64 digest>``."""
        return integrity_of(self.digest)


@dataclass(frozen=True)
class Build:
    """The result of :func:`build`: every file with its hashed key, in logical-name order."""

    files: Mapping[str, BuiltFile]
    missing: tuple[MissingReference, ...] = ()
    """References to files in no source root (left as written)."""
    scanned: ScanResult | None = None
    """The scan the build came from (shadowed names, for verbose output)."""
    kept: Mapping[str, str] = field(default_factory=dict)
    """Logical names that keep their own name as their key, each with why (:mod:`.trust`)."""
    entries: Mapping[str, EntryFiles] = field(default_factory=dict)
    """Entry points of the bundles in the sources, by the bundler's name (:mod:`.bundlers`)."""
    warnings: tuple[str, ...] = ()
    """Other problems to show (bundler output built for another base URL)."""

    @property
    def release(self) -> str:
        """A release id derived from the content: the same files always give the same id."""
        h = hashlib.sha256()
        for name, f in self.files.items():
            h.update(f"{name}\0{f.key}\0{f.digest}\n".encode("utf-8", "surrogateescape"))
        for name, e in self.entries.items():  # none: the id is as it was before entries
            h.update(f"entry\0{name}\0{e}\n".encode("utf-8", "surrogateescape"))
        return h.hexdigest()[:12]

    @property
    def total_size(self) -> int:
        """Bytes of all files."""
        return sum(f.size for f in self.files.values())


def hashed_name(name: str, digest: str, length: int) -> str:
    """``css/app.css`` -> ``css/app.<digest[:length]>.css`` (extension-less names get a suffix)."""
    directory, base = posixpath.split(name)
    stem, ext = posixpath.splitext(base)
    if not stem:  # ".htaccess"-like names: splitext gives no extension
        stem, ext = base, ""
    return posixpath.join(directory, f"{stem}.{digest[:length]}{ext}")


def file_digest(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (never whole into memory)."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                h.update(chunk)
    except OSError as exc:
        raise SourceError(f"cannot read the file: {exc.strerror}", path=str(path)) from exc
    return h.hexdigest()


def file_digests(path: Path) -> tuple[str, str]:
    """Hex SHA-256 and MD5 of a file, both from one read in chunks."""
    sha256 = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                sha256.update(chunk)
                md5.update(chunk)
    except OSError as exc:
        raise SourceError(f"cannot read the file: {exc.strerror}", path=str(path)) from exc
    return sha256.hexdigest(), md5.hexdigest()


def _md5(data: bytes, threshold: int) -> str | None:
    """The MD5 of bytes a single request uploads (fewer than ``threshold``), else ``None``."""
    if len(data) >= threshold:
        return None
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@dataclass(slots=True)
class _Parsed:
    """A file whose references may need rewriting."""

    source: SourceFile
    text: str
    links: list[tuple[Reference, str]]
    """References that resolve to a logical name, with that name."""
    encoding: Encoding
    declared: bool
    """The trust rules let it keep its name, if rewriting leaves it unchanged."""

    @property
    def encoded(self) -> bytes:
        """The original bytes (decoding with surrogateescape is lossless)."""
        return self.encoding.encode(self.text)


def build(
    settings: Settings, *, scanned: ScanResult | None = None, progress: Progress | None = None
) -> Build:
    """Scan the settings' sources and build them.

    :param settings: ``sources``, ``ignore``, ``hash_length``, ``hashed_pattern``,
        ``prehashed``, ``static_url_path``/``base_url``, ``strict``, ``allow_missing`` and
        ``jobs`` are used.
    :param scanned: a scan made already (adapters that scanned once to report on it).
    :param progress: told of the ``scanning`` and ``hashing`` phases, and checked for a stop
        before each file is read.
    :raises SourceError: an unreadable or invalid source file.
    :raises MissingReferenceError: ``strict`` is set and some references point nowhere.
    :raises Interrupted: ``progress`` asked to stop.
    """
    progress = progress if progress is not None else SILENT
    if scanned is None:
        progress.phase("scanning")
        scanned = scan(settings.sources, ignore=settings.ignore)
    progress.phase("hashing", len(scanned.files))
    bundles = bundles_in(settings.sources)  # read once: for trust and for the entry points
    result = _Builder(settings, bundles, progress).run(scanned)
    return _with_bundles(result, settings, bundles)


def _with_bundles(result: Build, settings: Settings, bundles: Sequence[SourceBundle]) -> Build:
    """The build with its bundles' entry points, checked for another base URL."""
    if not bundles:
        return result
    files = result.files
    problems = base_mismatches(
        bundles,
        {name: f.key for name, f in files.items()},
        {name: f.source for name, f in files.items() if f.content is None},
        settings.base_url,
    )
    if problems and settings.strict:
        raise SourceError(
            "bundler output was built for another base URL:\n  "
            + "\n  ".join(problems)
            + f"\n{_BASE_HINT}"
        )
    warnings = tuple(problems) + ((_BASE_HINT,) if problems else ())
    return replace(
        result, entries=entry_points(bundles, files), warnings=result.warnings + warnings
    )


_BASE_HINT = (
    "build the front end with a relative base (Vite: base: './'; webpack: publicPath: 'auto') "
    "or with base_url as its base, so that its files find each other where they are published"
)


class _Builder:
    def __init__(
        self, settings: Settings, bundles: Sequence[SourceBundle], progress: Progress
    ) -> None:
        self.settings = settings
        self.bundles = bundles
        self.progress = progress
        self.trust = TrustRules.none()
        self.root_url_path = settings.root_url_path
        self.built: dict[str, BuiltFile] = {}
        self.missing: list[MissingReference] = []

    def run(self, scanned: ScanResult) -> Build:
        files = scanned.files
        self.trust = trust = TrustRules.from_settings(self.settings, scanned, self.bundles)
        with ThreadPoolExecutor(max_workers=min(self.settings.jobs, 8)) as pool:
            results = list(pool.map(self._load_counted, files.values()))
        parsed: dict[str, _Parsed] = {}
        for item in results:
            if isinstance(item, BuiltFile):
                self.built[item.name] = item
            else:
                parsed[item.source.name] = item
        self._link(parsed, files)
        for group in _components(parsed):
            self._hash_group(group, parsed)
        missing = tuple(self.missing)
        if missing and self.settings.strict:
            raise MissingReferenceError(missing)
        kept = {
            name: trust.bundler_output(files[name]) or trust.declared(files[name]) or ""
            for name, f in self.built.items()
            if f.key == name
        }
        return Build(
            files=dict(sorted(self.built.items())), missing=missing, scanned=scanned, kept=kept
        )

    def _load_counted(self, source: SourceFile) -> BuiltFile | _Parsed:
        # Checked before reading: once stopped, every file still queued returns at once.
        self.progress.check("interrupted while hashing")
        loaded = self._load(source)
        self.progress.advance()
        return loaded

    def _load(self, source: SourceFile) -> BuiltFile | _Parsed:
        finder = finder_for(source.name)
        # A bundler's output keeps its bytes too: its runtime builds chunk URLs itself.
        output = self.trust.bundler_output(source) is not None
        declared = not output and self.trust.declared(source) is not None
        if finder is None or output:
            md5: str | None = None
            if source.size < self.settings.multipart_threshold:
                digest, md5 = file_digests(source.path)
            else:
                digest = file_digest(source.path)
            key = source.name if output or declared else self._key(source.name, digest)
            return BuiltFile(source.name, key, digest, source.size, source.path, md5=md5)
        try:
            raw = source.path.read_bytes()
        except OSError as exc:
            raise SourceError(
                f"cannot read the file: {exc.strerror}", path=str(source.path)
            ) from exc
        text, encoding = decode(raw, path=str(source.path))
        links = []
        for ref in finder(text):
            # A name climbing above the root (``../x``) is in no root: _link reports it.
            target = locate(ref.url, source.name, self.root_url_path)
            if target is not None:
                links.append((ref, target))
        if not links:  # nothing to rewrite: upload streams the file from disk
            digest = hashlib.sha256(raw).hexdigest()
            key = source.name if declared else self._key(source.name, digest)
            return BuiltFile(
                source.name,
                key,
                digest,
                len(raw),
                source.path,
                md5=_md5(raw, self.settings.multipart_threshold),
            )
        return _Parsed(source, text, links, encoding, declared)

    def _key(self, name: str, digest: str) -> str:
        return hashed_name(name, digest, self.settings.hash_length)

    def _link(self, parsed: dict[str, _Parsed], files: Mapping[str, SourceFile]) -> None:
        """Drop references to missing files, recording them."""
        exempt = self.settings.allow_missing
        for name, node in parsed.items():
            kept = []
            for ref, target in node.links:
                if target in files:
                    kept.append((ref, target))
                elif not any(fnmatch.fnmatchcase(name, pattern) for pattern in exempt):
                    self.missing.append(MissingReference(name, ref.line, _shown(ref), target))
            node.links = kept

    def _key_of(self, name: str) -> str | None:
        built = self.built.get(name)
        return built.key if built is not None else None

    def _hash_group(self, group: Sequence[str], parsed: Mapping[str, _Parsed]) -> None:
        first = parsed[group[0]]
        if len(group) == 1 and all(target != first.source.name for _, target in first.links):
            self._finish(first, self._rewrite(first, self._key_of))
            return
        # A cycle: name every member from one digest of the group, computed with the
        # references inside the group left as written, then rewrite those too.
        members = set(group)
        group_hash = hashlib.sha256()
        for name in group:
            provisional = self._rewrite(
                parsed[name], lambda t: None if t in members else self._key_of(t)
            )
            group_hash.update(name.encode("utf-8", "surrogateescape") + b"\0")
            group_hash.update(hashlib.sha256(provisional or parsed[name].encoded).digest())
        keys = {
            name: self._key(name, hashlib.sha256(group_hash.digest() + name.encode()).hexdigest())
            for name in group
        }
        for name in group:
            final = self._rewrite(parsed[name], lambda t: keys.get(t) or self._key_of(t))
            self._finish(parsed[name], final, key=keys[name])

    def _rewrite(self, node: _Parsed, key_of: Callable[[str], str | None]) -> bytes | None:
        """The bytes with every reference pointing at its target's key; ``None``: unchanged."""
        text, pieces, position = node.text, [], 0
        directory = posixpath.dirname(node.source.name)
        for ref, target in node.links:
            key = key_of(target)
            if key is None or key == target:
                continue
            _, suffix = split_suffix(ref.url)
            relative = _relative(key, directory)
            if ref.kind in SPECIFIER_KINDS and not relative.startswith("../"):
                relative = "./" + relative  # "x.js" alone would be a bare specifier
            pieces.append(text[position : ref.start])
            new_url = quote_path(relative) + suffix
            pieces.append(format_url(new_url, ref.quote, kind=ref.kind))
            position = ref.end
        if not pieces:
            return None
        pieces.append(text[position:])
        return node.encoding.encode("".join(pieces))

    def _finish(self, node: _Parsed, final: bytes | None, key: str | None = None) -> None:
        data = final if final is not None else node.encoded
        digest = hashlib.sha256(data).hexdigest()
        name = node.source.name
        if key is None:
            # A declared name is kept only for the bytes it was declared with.
            key = name if node.declared and final is None else self._key(name, digest)
        self.built[name] = BuiltFile(
            name,
            key,
            digest,
            len(data),
            node.source.path,
            final,
            md5=_md5(data, self.settings.multipart_threshold),
        )


def _relative(key: str, directory: str) -> str:
    """``key`` relative to ``directory``; both are normalised logical paths (no ``.``/``..``).

    ``posixpath.relpath`` would do, but it asks the OS for the working directory twice a call.
    """
    target = key.split("/")
    base = directory.split("/") if directory else []
    common = 0
    for a, b in zip(base, target[:-1], strict=False):
        if a != b:
            break
        common += 1
    return "/".join([".."] * (len(base) - common) + target[common:])


def _shown(ref: Reference) -> str:
    """The reference as a message shows it, in the syntax it was written in."""
    if ref.kind == "import":
        return f'@import "{ref.url}"'
    if ref.kind == "sourcemap":
        return f"sourceMappingURL={ref.url}"
    if ref.kind == "module":
        return f'import "{ref.url}"'
    if ref.kind == "dynamic-import":
        return f'import("{ref.url}")'
    if ref.kind == "import-meta-resolve":
        return f'import.meta.resolve("{ref.url}")'
    if ref.kind == "new-url":
        return f'new URL("{ref.url}", import.meta.url)'
    return f"url({ref.url})"


def _components(parsed: Mapping[str, _Parsed]) -> list[list[str]]:
    """Strongly connected components of the reference graph, dependencies first (Tarjan).

    Iterative, so deep chains cannot overflow the stack; nodes and edges are visited in sorted
    order so the result is deterministic.
    """
    edges = {
        name: sorted({t for _, t in node.links if t in parsed}) for name, node in parsed.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in sorted(parsed):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for j in range(i, len(edges[node])):
                nxt = edges[node][j]
                if nxt not in index:
                    work.append((node, j + 1))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result
