"""Bundler manifests: which files a bundler wrote under hashed names, and its entry points.

A bundler (Vite, Rollup, webpack) names its output by content already and builds chunk URLs at
run time from those names, so hashstore must publish that output whole: same names, same bytes.
The proof that a name is a bundler's hashed output is the bundler's own manifest, found in the
source root. Three formats are read:

``.vite/manifest.json`` (Vite 5 and later, ``build.manifest: true``)
    An object of chunks keyed by source name (``src/main.js``), each with ``file`` and
    optionally ``src``, ``name``, ``isEntry``, ``isDynamicEntry``, ``imports`` and
    ``dynamicImports`` (keys of other chunks), ``css`` and ``assets`` (output files). Paths
    are relative to the output directory, the parent of ``.vite/``. The same shape in a
    ``manifest.json`` (Vite 2 to 4, or ``build.manifest: "manifest.json"``) is read as well,
    relative to its own directory.
``manifest.json`` (webpack-manifest-plugin)
    An object of asset name -> URL (``"main.js": "/static/main.3f2a9c1b.js"``): the
    ``publicPath`` the URL starts with is recognised by finding the file it names in the
    manifest's directory. A ``manifest.json`` that has neither shape (a web app manifest,
    say) is not a bundler manifest and is left alone.
``assets-manifest.json`` (webpack-assets-manifest)
    The same object, whose values may also be ``{"src": ..., "integrity": ...}``
    (``integrity: true``), and an optional ``entrypoints`` section (``entrypoints: true``)
    listing the ``js`` and ``css`` files of each entry point in load order.

Every path is checked: it must stay inside the source root and name a file that exists, so a
stale manifest (output deleted, rebuilt elsewhere) is reported instead of trusted; only a
listed source map may be missing (maps are often stripped before a deploy). Source maps
written beside a listed file (``main-BfD3a9xq.js.map``) count as listed outputs too: the
bundled file refers to them by that name. A ``manifest.json`` that is not JSON, or whose keys
are not asset names, is not a bundler manifest.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal
from urllib.parse import unquote, urlsplit

from .errors import SourceError
from .keys import quote_path

__all__ = [
    "BundlerEntry",
    "BundlerManifest",
    "EntryFiles",
    "SourceBundle",
    "bundles_in",
    "development_entries",
    "entry_modules",
    "entry_points",
    "find_bundler_manifests",
    "read_bundler_manifest",
]

BundlerKind = Literal["vite", "webpack"]

# Directories never searched for manifests: dependencies hold other projects' manifests,
# and a bundler's own output never lives there.
_SKIPPED_DIRECTORIES = frozenset({"node_modules", "__pycache__"})
# A manifest is rewritten by every build under the same name: never a hashed output.
_MANIFEST_NAMES = frozenset({"manifest.json", "assets-manifest.json"})
_VITE_FIELDS = frozenset(
    {"file", "src", "name", "names", "isEntry", "isDynamicEntry", "imports", "dynamicImports"}
    | {"css", "assets", "integrity"}
)


@dataclass(frozen=True, slots=True)
class BundlerEntry:
    """One chunk or asset of a bundler manifest, under the name the bundler gives it.

    For Vite the name is the source path relative to Vite's root (``src/main.js``) or, for a
    shared chunk, ``_shared-B7PI925R.js``; for webpack it is the asset name (``main.js``) or
    the entry point's name (``main``).
    """

    name: str
    """The key in the bundler's manifest."""
    file: str
    """The output file, ``/``-separated and relative to the source root."""
    src: str | None = None
    """The source file the chunk came from, as the bundler names it."""
    is_entry: bool = False
    """An entry point: a page loads it with a tag."""
    is_dynamic_entry: bool = False
    """Loaded by ``import()`` from another chunk; never needs a tag."""
    module: bool = True
    """Loaded as an ES module (Vite); webpack's output is a classic script."""
    imports: tuple[str, ...] = ()
    """Names of the entries this one imports statically, in the bundler's order."""
    dynamic_imports: tuple[str, ...] = ()
    """Names of the entries this one loads with ``import()``."""
    css: tuple[str, ...] = ()
    """Stylesheets the chunk needs, relative to the source root."""
    assets: tuple[str, ...] = ()
    """Other files the chunk refers to (images, fonts), relative to the source root."""


@dataclass(frozen=True, slots=True)
class EntryFiles:
    """What a page needs to load one entry point, every path relative to the source root."""

    file: str
    """The entry's own file: the ``<script>`` (or, for a CSS entry, the stylesheet)."""
    module: bool
    """``<script type="module">`` with ``modulepreload`` links, or classic scripts."""
    imports: tuple[str, ...]
    """Files the entry imports statically, transitively, dependencies first."""
    css: tuple[str, ...]
    """Stylesheets of the entry and of everything it imports statically, dependencies first."""
    lazy: tuple[str, ...] = ()
    """ES modules the entry may load later with ``import()`` (and what they import), which no
    tag names: the import map's ``integrity`` section covers them.

    .. versionadded:: 0.2
    """


@dataclass(frozen=True)
class BundlerManifest:
    """A bundler manifest found in a source root, with the outputs it proves hashed."""

    path: Path
    """The manifest file."""
    kind: BundlerKind
    """``"vite"`` or ``"webpack"``."""
    outputs: frozenset[str]
    """Every file the manifest lists (and their source maps), ``/``-separated, relative to the
    source root."""
    entries: Mapping[str, BundlerEntry]
    """Every chunk and asset the manifest names, by its name there."""
    directory: str = ""
    """The bundler's output directory, relative to the source root (``""``: the root)."""
    urls: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """webpack only: each URL as the manifest writes it (``publicPath`` + path) -> output."""

    def entry_points(self) -> Iterator[BundlerEntry]:
        """The entries a page loads with a tag: Vite's ``isEntry`` chunks, webpack's scripts,
        stylesheets and entry points."""
        return (entry for entry in self.entries.values() if entry.is_entry)

    def files_of(self, name: str) -> EntryFiles:
        """The files a page needs to load entry ``name``: its imports and stylesheets, followed
        transitively through static imports, as Vite's guide to back-end integration says.

        :raises KeyError: the manifest has no entry ``name``.
        """
        root = self.entries[name]
        imports: list[str] = []
        css: list[str] = []
        seen = {name}
        static = [name]  # the entry and its static imports, in a stable order

        def visit(entry: BundlerEntry) -> None:
            # Dependencies before dependants, as Vite orders the tags in its own HTML.
            for imported in entry.imports:
                if imported in seen:
                    continue
                seen.add(imported)
                static.append(imported)
                chunk = self.entries[imported]
                visit(chunk)
                imports.append(chunk.file)
            css.extend(sheet for sheet in entry.css if sheet not in css)

        visit(root)
        lazy: list[str] = []
        if root.module:
            # Everything reachable through import(), then through any import, not preloaded.
            loaded = {root.file, *imports}
            todo = [d for n in static for d in self.entries[n].dynamic_imports]
            reached: set[str] = set()
            while todo:
                key = todo.pop(0)
                if key in reached:
                    continue
                reached.add(key)
                chunk = self.entries[key]
                if chunk.file not in loaded and chunk.file.endswith((".js", ".mjs")):
                    loaded.add(chunk.file)
                    lazy.append(chunk.file)
                todo.extend(chunk.imports)
                todo.extend(chunk.dynamic_imports)
        return EntryFiles(root.file, root.module, tuple(imports), tuple(css), tuple(lazy))


def find_bundler_manifests(root: Path) -> list[BundlerManifest]:
    """Every bundler manifest under ``root``, sorted by path.

    ``node_modules`` and directories whose name starts with ``.`` are not searched, except
    ``.vite``, where Vite writes its manifest. Symbolic links to directories are not followed.

    :param root: a source root; the outputs are given relative to it.
    :raises SourceError: a manifest that cannot be read, is malformed or lists a file that is
        not there (the message names the manifest and what is wrong).
    """
    root = Path(root)
    found = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(
            name
            for name in subdirectories
            if name not in _SKIPPED_DIRECTORIES and (name == ".vite" or not name.startswith("."))
        )
        here = Path(directory)
        for filename in ("manifest.json", "assets-manifest.json"):
            if filename in files:
                manifest = read_bundler_manifest(here / filename, root)
                if manifest is not None:
                    found.append(manifest)
    return sorted(found, key=lambda manifest: manifest.path)


def read_bundler_manifest(path: Path, root: Path) -> BundlerManifest | None:
    """Read one bundler manifest; ``None`` for a ``manifest.json`` that is not a bundler's.

    :param path: ``.vite/manifest.json``, ``manifest.json`` or ``assets-manifest.json``.
    :param root: the source root the outputs are made relative to; ``path`` is inside it.
    :raises SourceError: the manifest is unreadable, malformed or lists missing files.
    """
    if path.name == "manifest.json" and path.parent.name == ".vite":
        return _Reader(path, root, path.parent.parent).vite(_load_json(path))
    if path.name == "assets-manifest.json":
        return _Reader(path, root, path.parent).webpack(_load_json(path), required=True)
    # Any JSON file may be called manifest.json: it is a bundler's only if it has the shape.
    try:
        data = _load_json(path)
    except SourceError:
        return None
    if not isinstance(data, dict) or not data:
        return None
    reader = _Reader(path, root, path.parent)
    if all(isinstance(value, dict) and "file" in value for value in data.values()):
        return reader.vite(data)
    if not all(_is_asset_name(key) for key in data):
        return None  # a web app manifest: "name", "short_name", "start_url"...
    return reader.webpack(data, required=False)


def _is_asset_name(key: str) -> bool:
    """webpack's asset names have an extension (``main.js``); other JSON keys seldom do."""
    return "." in key.rsplit("/", 1)[-1].strip(".")


def _load_json(path: Path) -> object:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(
            f"cannot read the bundler manifest: {exc.strerror}", path=str(path)
        ) from exc
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise SourceError(
            f"is not valid JSON ({exc}); build the front end again, or leave the file out "
            "with the 'ignore' setting if it is not a bundler manifest",
            path=str(path),
        ) from None


class _Reader:
    """Validates one manifest's paths against the output directory and the source root."""

    def __init__(self, path: Path, root: Path, output_directory: Path) -> None:
        self.path = path
        self.root = os.path.abspath(root)
        self.output_directory = os.path.abspath(output_directory)
        self.outputs: set[str] = set()
        self.urls: dict[str, str] = {}

    def fail(self, what: str) -> SourceError:
        return SourceError(what, path=str(self.path))

    def output(self, relative: str, where: str) -> str:
        """An output path of the manifest, checked, relative to the source root."""
        if not relative or relative.startswith("/") or "\\" in relative or "\0" in relative:
            raise self.fail(f"{where}: {relative!r} is not a relative output path")
        full = os.path.normpath(os.path.join(self.output_directory, *relative.split("/")))
        inside = os.path.relpath(full, self.root).replace(os.sep, "/")
        if inside == ".." or inside.startswith("../"):
            raise self.fail(f"{where}: {relative!r} is outside the source root {self.root}")
        if not os.path.isfile(full):
            raise self.fail(
                f"{where}: lists {relative!r}, which is not in {self.output_directory}; "
                "build the front end again (the manifest is stale)"
            )
        self.outputs.add(inside)
        if os.path.isfile(full + ".map"):
            self.outputs.add(inside + ".map")
        return inside

    def finish(self, kind: BundlerKind, entries: dict[str, BundlerEntry]) -> BundlerManifest:
        directory = os.path.relpath(self.output_directory, self.root).replace(os.sep, "/")
        return BundlerManifest(
            path=self.path,
            kind=kind,
            outputs=frozenset(self.outputs),
            entries=MappingProxyType(dict(sorted(entries.items()))),
            directory="" if directory == "." else directory,
            urls=MappingProxyType(dict(sorted(self.urls.items()))),
        )

    # -- Vite -------------------------------------------------------------------------------

    def vite(self, data: object) -> BundlerManifest:
        if not isinstance(data, dict):
            raise self.fail("is not a Vite manifest: expected an object of chunks by source name")
        entries = {}
        for name, chunk in data.items():
            where = f"chunk {name!r}"
            if not isinstance(chunk, dict):
                raise self.fail(f"{where}: expected an object with 'file', not {chunk!r}")
            unknown = sorted(set(chunk) - _VITE_FIELDS)
            if unknown:
                raise self.fail(f"{where}: unknown field(s) {', '.join(unknown)}")
            file = chunk.get("file")
            if not isinstance(file, str):
                raise self.fail(f"{where}: 'file' must be a path, not {file!r}")
            imports = self._keys(chunk, "imports", where, data)
            dynamic_imports = self._keys(chunk, "dynamicImports", where, data)
            entries[name] = BundlerEntry(
                name=name,
                file=self.output(file, f"{where} 'file'"),
                src=self._optional_str(chunk, "src", where),
                is_entry=self._flag(chunk, "isEntry", where),
                is_dynamic_entry=self._flag(chunk, "isDynamicEntry", where),
                module=True,
                imports=imports,
                dynamic_imports=dynamic_imports,
                css=self._outputs(chunk, "css", where),
                assets=self._outputs(chunk, "assets", where),
            )
            self._optional_str(chunk, "name", where)
        return self.finish("vite", entries)

    def _strings(self, chunk: Mapping[str, object], field: str, where: str) -> tuple[str, ...]:
        value = chunk.get(field, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(f"{where}: '{field}' must be a list of strings, not {value!r}")
        return tuple(value)

    def _keys(
        self, chunk: Mapping[str, object], field: str, where: str, data: Mapping[str, object]
    ) -> tuple[str, ...]:
        keys = self._strings(chunk, field, where)
        for key in keys:
            if key not in data:
                raise self.fail(f"{where}: '{field}' names {key!r}, which is not in the manifest")
        return keys

    def _outputs(self, chunk: Mapping[str, object], field: str, where: str) -> tuple[str, ...]:
        return tuple(
            self.output(item, f"{where} '{field}'") for item in self._strings(chunk, field, where)
        )

    def _optional_str(self, chunk: Mapping[str, object], field: str, where: str) -> str | None:
        value = chunk.get(field)
        if value is not None and not isinstance(value, str):
            raise self.fail(f"{where}: '{field}' must be a string, not {value!r}")
        return value

    def _flag(self, chunk: Mapping[str, object], field: str, where: str) -> bool:
        value = chunk.get(field, False)
        if not isinstance(value, bool):
            raise self.fail(f"{where}: '{field}' must be true or false, not {value!r}")
        return value

    # -- webpack ----------------------------------------------------------------------------

    def webpack(self, data: object, *, required: bool) -> BundlerManifest | None:
        """webpack-manifest-plugin or webpack-assets-manifest.

        :param required: the file's name says it is a webpack manifest; otherwise (a plain
            ``manifest.json``) ``None`` when it does not have the shape or names no file here.
        """
        if not isinstance(data, dict):
            if not required:
                return None
            raise self.fail("is not a webpack assets manifest: expected an object")
        data = dict(data)
        entrypoints = data.pop("entrypoints", None) if required else None
        urls: dict[str, str] = {}
        for name, value in data.items():
            url = value.get("src") if isinstance(value, dict) else value
            if not isinstance(url, str):
                if not required:
                    return None
                raise self.fail(
                    f"asset {name!r}: expected a URL or an object with 'src', not {value!r}"
                )
            if posixpath.basename(urlsplit(url).path) in _MANIFEST_NAMES:
                continue  # webpack-manifest-plugin lists the other plugin's manifest
            urls[name] = url
        located = {name: self._locate(url) for name, url in urls.items()}
        if not required and not any(located.values()):
            return None  # a web app manifest or some other JSON named manifest.json
        entries: dict[str, BundlerEntry] = {}
        by_file: dict[str, str] = {}
        for name, relative in located.items():
            if relative is None:
                if urlsplit(urls[name]).path.endswith(".map"):
                    continue  # source maps are often left out of a deploy on purpose
                raise self.fail(
                    f"asset {name!r}: {urls[name]!r} names no file in {self.output_directory}; "
                    "build the front end again (the manifest is stale)"
                )
            file = self.output(relative, f"asset {name!r}")
            self.urls[urls[name]] = file
            by_file.setdefault(file, name)
            loadable = posixpath.splitext(file)[1].lower() in (".js", ".mjs", ".css")
            entries[name] = BundlerEntry(name=name, file=file, is_entry=loadable, module=False)
        if entrypoints is not None:
            self._entrypoints(entrypoints, entries, by_file)
        return self.finish("webpack", entries)

    def _locate(self, url: str) -> str | None:
        """The file a webpack URL names, relative to the output directory, if there is one.

        The URL is ``publicPath`` + the output path; ``publicPath`` may be a path, a full URL,
        ``auto`` (webpack's default, resolved in the browser) or empty, so the longest tail of
        the URL's path that names a file in the output directory is taken.
        """
        parts = urlsplit(url)
        path = unquote(parts.path)
        if path.startswith("auto") and not os.path.isfile(
            os.path.join(self.output_directory, *path.split("/"))
        ):
            path = path[len("auto") :]
        pieces = [piece for piece in path.split("/") if piece]
        if any(piece in (".", "..") for piece in pieces):
            return None
        for start in range(len(pieces)):
            candidate = "/".join(pieces[start:])
            if os.path.isfile(os.path.join(self.output_directory, *pieces[start:])):
                return candidate
        return None

    def _entrypoints(
        self, section: object, entries: dict[str, BundlerEntry], by_file: Mapping[str, str]
    ) -> None:
        """webpack-assets-manifest's ``entrypoints``: ``{name: {"assets": {"js": [...],
        "css": [...]}}}`` (older versions leave out the ``assets`` level)."""
        if not isinstance(section, dict):
            raise self.fail(f"'entrypoints' must be an object, not {section!r}")
        for name, value in section.items():
            where = f"entry point {name!r}"
            assets = value.get("assets", value) if isinstance(value, dict) else None
            if not isinstance(assets, dict):
                raise self.fail(f"{where}: expected an object with 'assets', not {value!r}")
            scripts = [self._entry_file(url, where) for url in self._strings(assets, "js", where)]
            sheets = [self._entry_file(url, where) for url in self._strings(assets, "css", where)]
            if not scripts and not sheets:
                raise self.fail(f"{where}: lists no 'js' or 'css' file")
            imports = []
            for file in scripts[:-1]:
                key = by_file.get(file, file)
                if key not in entries:
                    entries[key] = BundlerEntry(name=key, file=file, module=False)
                imports.append(key)
            file = scripts[-1] if scripts else sheets[0]
            css = tuple(sheets) if scripts else tuple(sheets[1:])
            if name in entries and entries[name].file != file:
                raise self.fail(f"{where}: its name is also an asset's, for another file")
            entries[name] = BundlerEntry(
                name=name,
                file=file,
                is_entry=True,
                module=False,
                imports=tuple(imports),
                css=css,
            )

    def _entry_file(self, url: str, where: str) -> str:
        relative = self._locate(url)
        if relative is None:
            raise self.fail(
                f"{where}: {url!r} names no file in {self.output_directory}; "
                "build the front end again (the manifest is stale)"
            )
        file = self.output(relative, where)
        self.urls[url] = file
        return file


# -- what a build takes from the bundler manifests ------------------------------------------------


@dataclass(frozen=True)
class SourceBundle:
    """A bundler manifest found in one source root, with the root's logical prefix."""

    prefix: str
    """The root's logical prefix (``""`` or ``"vendor/"``): logical name = prefix + output."""
    root: Path
    """The source root (absolute)."""
    manifest: BundlerManifest

    def logical(self, output: str) -> str:
        """The logical name of one of the manifest's outputs."""
        return self.prefix + output


def bundles_in(sources: Sequence[Path | str | tuple[str, Path | str]]) -> list[SourceBundle]:
    """Every bundler manifest in the source roots, in root order (each root read once).

    :param sources: the ``sources`` setting: directories or ``(prefix, directory)`` pairs.
    :raises SourceError: a malformed or stale bundler manifest.
    """
    seen: set[tuple[str, str]] = set()
    found = []
    for spec in sources:
        prefix, directory = spec if isinstance(spec, tuple) else ("", spec)
        root = os.path.abspath(directory)
        if (prefix, root) in seen or not os.path.isdir(root):
            continue
        seen.add((prefix, root))
        for manifest in find_bundler_manifests(Path(root)):
            found.append(SourceBundle(prefix + "/" if prefix else "", Path(root), manifest))
    return found


def entry_points(bundles: Sequence[SourceBundle], names: Container[str]) -> dict[str, EntryFiles]:
    """The entry points a page can load, by the name the bundler gives them, with every file
    as a logical name.

    :param bundles: from :func:`bundles_in`.
    :param names: the logical names of the build; every file an entry needs must be one.
    :raises SourceError: an entry needs a file the build leaves out (the ``ignore`` setting),
        or two manifests give the same entry name different files.
    """
    result: dict[str, EntryFiles] = {}
    origin: dict[str, Path] = {}
    for bundle in bundles:
        manifest = bundle.manifest
        for entry in manifest.entry_points():
            files = manifest.files_of(entry.name)
            logical = EntryFiles(
                file=bundle.logical(files.file),
                module=files.module,
                imports=tuple(bundle.logical(name) for name in files.imports),
                css=tuple(bundle.logical(name) for name in files.css),
                lazy=tuple(bundle.logical(name) for name in files.lazy),
            )
            for name in (logical.file, *logical.imports, *logical.css, *logical.lazy):
                if name not in names:
                    raise SourceError(
                        f"entry {entry.name!r} needs {name!r}, which is not in the build; "
                        "check the 'ignore' setting (and that no other root shadows it)",
                        path=str(manifest.path),
                    )
            known = result.get(entry.name)
            if known is not None and known != logical:
                raise SourceError(
                    f"entry {entry.name!r} is also in {origin[entry.name]}, for other files; "
                    "give the bundles different entry names or publish them separately",
                    path=str(manifest.path),
                )
            result[entry.name] = logical
            origin.setdefault(entry.name, manifest.path)
    return dict(sorted(result.items()))


def entry_modules(entries: Mapping[str, EntryFiles]) -> list[str]:
    """Every ES module of the entry points, loaded by a tag or by ``import()``, sorted: the
    modules an import map gives integrity to.

    .. versionadded:: 0.2
    """
    names = {
        name
        for entry in entries.values()
        if entry.module and not entry.file.endswith(".css")
        for name in (entry.file, *entry.imports, *entry.lazy)
    }
    return sorted(names)


class _Anything:
    """A container holding every name: development has no build to check against."""

    def __contains__(self, name: object) -> bool:
        return True


def development_entries(
    sources: Sequence[Path | str | tuple[str, Path | str]],
) -> dict[str, EntryFiles]:
    """The entry points of the bundles in ``sources``, read afresh, for development without a
    published manifest (``vite build --watch`` rewrites the bundler's manifest as it goes).

    .. versionadded:: 0.2
    """
    return entry_points(bundles_in(sources), _Anything())


# Characters that end a URL in JavaScript and CSS source: quotes, brackets, spaces, separators.
_URL_BOUNDARY = frozenset("\"'`()[]{}<>,;= \t\r\n\\")
_SCANNED_FOR_BASE = (".js", ".mjs", ".cjs", ".css")
_MAX_LISTED = 10


def base_mismatches(
    bundles: Sequence[SourceBundle],
    keys: Mapping[str, str],
    paths: Mapping[str, Path],
    base_url: str,
) -> list[str]:
    """References in bundler output to its own files under another base URL than hashstore's.

    A bundle built for ``base: "/"`` (Vite's default) or ``publicPath: "/static/"`` writes
    root-relative URLs such as ``/assets/logo-DSY_3KWA.png`` into its CSS and JavaScript; once
    published under ``base_url`` the files are elsewhere and the browser gets 404s. Relative
    references (``./logo-DSY_3KWA.png``, Vite's ``base: "./"``, webpack's ``publicPath:
    "auto"``) and URLs equal to where hashstore publishes the file are fine.

    Found two ways: the URLs a webpack manifest gives (they start with ``publicPath``), and the
    references to listed outputs written in the listed ``.js`` and ``.css`` files. Chunk URLs a
    runtime builds from pieces (``"/" + name``) cannot be seen; the listed CSS and
    ``new URL(..., import.meta.url)`` references usually give such a build away.

    :param bundles: from :func:`bundles_in`.
    :param keys: logical name -> the key it is published under (the build's).
    :param paths: logical name -> the file to read, for the outputs to scan.
    :param base_url: the ``base_url`` setting.
    :returns: one line per file with problems, ``file: refers to URL, but it is published at
        URL (and N more like it)``.
    """
    base_path = urlsplit(base_url).path if "//" in base_url else base_url
    problems: dict[str, list[str]] = {}  # by the file that refers

    def check(where: str, url: str, logical: str) -> None:
        key = keys.get(logical)
        if key is None:
            return
        expected = base_url + quote_path(key)
        if url.startswith("/") and not url.startswith("//"):
            fine = url == base_path + quote_path(key)
        else:
            fine = url.split(":", 1)[-1] == expected.split(":", 1)[-1]  # any scheme
        if not fine:
            problems.setdefault(where, []).append(
                f"refers to {url}, but it is published at {expected}"
            )

    for bundle in bundles:
        manifest = bundle.manifest
        directory = manifest.directory + "/" if manifest.directory else ""
        if manifest.kind == "webpack":
            for url, output in manifest.urls.items():
                if _is_rooted(url):
                    check(str(manifest.path), url, bundle.logical(output))
        by_tail: dict[str, list[str]] = {}
        for output in manifest.outputs:
            tail = output[len(directory) :] if output.startswith(directory) else output
            by_tail.setdefault(posixpath.basename(tail), []).append(tail)
        if not by_tail:
            continue
        pattern = re.compile("|".join(re.escape(b) for b in sorted(by_tail, key=len, reverse=True)))
        for output in sorted(manifest.outputs):
            if not output.endswith(_SCANNED_FOR_BASE):
                continue
            logical = bundle.logical(output)
            path = paths.get(logical)
            if path is None:
                continue
            try:
                text = path.read_bytes().decode("utf-8", "surrogateescape")
            except OSError as exc:
                raise SourceError(f"cannot read the file: {exc.strerror}", path=str(path)) from exc
            for match in pattern.finditer(text):
                start = match.start()
                while start > 0 and text[start - 1] not in _URL_BOUNDARY:
                    start -= 1
                url = text[start : match.end()]
                if not _is_rooted(url):
                    continue
                for tail in by_tail[match.group()]:
                    if url.endswith("/" + tail):
                        check(logical, url, bundle.logical(directory + tail))
                        break
    lines = []
    for where, found in problems.items():
        unique = list(dict.fromkeys(found))
        more = f" (and {len(unique) - 1} more like it)" if len(unique) > 1 else ""
        lines.append(f"{where}: {unique[0]}{more}")
    if len(lines) > _MAX_LISTED:
        lines[_MAX_LISTED:] = [f"... and {len(lines) - _MAX_LISTED} more files"]
    return lines


def _is_rooted(url: str) -> bool:
    """A root-relative (``/assets/x.js``) or absolute (``https://cdn/x.js``) URL."""
    return url.startswith("/") or "://" in url
