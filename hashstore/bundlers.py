"""Bundler manifests: which files in a source root a bundler named by their content.

Vite, Rollup and webpack put a content hash into the names of their outputs and write a
manifest listing them. A file such a manifest lists is proven hashed: it keeps its name and its
bytes (its runtime builds chunk URLs from those names). This module finds and reads those
manifests; :mod:`hashstore.trust` decides from them which names are kept.

Formats read:

- Vite's ``.vite/manifest.json`` (Vite 5 and later) and a Vite-format ``manifest.json`` (Vite 4
  and earlier): an object of chunks, each with ``file`` and optional ``css`` and ``assets``
  lists, relative to the build's output directory (the parent of ``.vite/``).
- webpack-manifest-plugin's ``manifest.json`` and webpack-assets-manifest's
  ``assets-manifest.json``: a flat object of asset name -> URL (or ``{"src": URL}``), the URL
  possibly starting with webpack's ``publicPath``. The URL is resolved against the manifest's
  directory by its longest tail that names a file there.

A JSON file of either name in another shape (a web app manifest, say) is not a bundler
manifest and is ignored.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["BundlerEntry", "BundlerManifest", "find_bundler_manifests"]

_MANIFEST_NAMES = frozenset({"manifest.json", "assets-manifest.json"})
# Where bundlers never put their output, and which can be large.
_SKIP_DIRS = frozenset({"node_modules", ".git"})


@dataclass(frozen=True)
class BundlerEntry:
    """An entry point a bundler manifest names (its source name, as Vite writes it)."""

    name: str
    """The entry's source name, e.g. ``src/main.js``."""
    file: str
    """Its output, a posix path relative to the source root."""


@dataclass(frozen=True)
class BundlerManifest:
    """One bundler manifest found in a source root, with the outputs it lists."""

    path: Path
    """The manifest file."""
    kind: str
    """``"vite"`` or ``"webpack"``."""
    outputs: frozenset[str]
    """The files it lists that exist, as posix paths relative to the source root."""
    entries: Mapping[str, BundlerEntry] = field(default_factory=lambda: MappingProxyType({}))
    """Entry points by source name (empty in this minimal reader)."""


def find_bundler_manifests(root: Path) -> list[BundlerManifest]:
    """Every bundler manifest under ``root``, in path order.

    Only listed files that exist under ``root`` count as outputs; a manifest that lists none is
    still returned (an empty or stale build is for the caller to judge).

    :param root: a source root directory.
    """
    root = Path(root)
    found = []
    for path in _candidates(root):
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        if path.parent.name == ".vite" or _is_vite(data):
            out_dir = path.parent.parent if path.parent.name == ".vite" else path.parent
            if _is_vite(data):
                found.append(BundlerManifest(path, "vite", _vite_outputs(root, out_dir, data)))
        elif _is_webpack(data):
            found.append(
                BundlerManifest(path, "webpack", _webpack_outputs(root, path.parent, data))
            )
    return found


def _candidates(root: Path) -> Iterator[Path]:
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        here = Path(directory)
        if here.name == ".vite":
            if "manifest.json" in files:
                yield here / "manifest.json"
            continue
        for name in sorted(_MANIFEST_NAMES.intersection(files)):
            yield here / name


def _is_vite(data: Mapping[str, Any]) -> bool:
    return bool(data) and all(
        isinstance(chunk, dict) and isinstance(chunk.get("file"), str) for chunk in data.values()
    )


def _is_webpack(data: Mapping[str, Any]) -> bool:
    if not data:
        return False
    for key, value in data.items():
        if key == "entrypoints" and isinstance(value, dict):
            continue
        if "." not in key.rsplit("/", 1)[-1]:
            return False  # asset names have extensions; a web app manifest's keys do not
        if not isinstance(value, str) and not (
            isinstance(value, dict) and isinstance(value.get("src"), str)
        ):
            return False
    return True


def _vite_outputs(root: Path, out_dir: Path, data: Mapping[str, Any]) -> frozenset[str]:
    names: set[str] = set()
    for chunk in data.values():
        names.add(chunk["file"])
        for group in ("css", "assets"):
            items = chunk.get(group)
            if isinstance(items, list):
                names.update(item for item in items if isinstance(item, str))
    return frozenset(
        found for name in names if (found := _existing(root, out_dir, name)) is not None
    )


def _webpack_outputs(root: Path, directory: Path, data: Mapping[str, Any]) -> frozenset[str]:
    outputs = set()
    for key, value in data.items():
        if key == "entrypoints" and isinstance(value, dict):
            continue
        url = value if isinstance(value, str) else value["src"]
        path = unquote(urlsplit(url).path).lstrip("/")
        parts = [part for part in path.split("/") if part not in {"", "."}]
        # publicPath ("/static/dist/", "auto/", a CDN URL) is not part of the file's path:
        # the longest tail that names a file under the manifest's directory is.
        for start in range(len(parts)):
            found = _existing(root, directory, "/".join(parts[start:]))
            if found is not None:
                outputs.add(found)
                break
    return frozenset(outputs)


def _existing(root: Path, directory: Path, name: str) -> str | None:
    """``directory/name`` relative to ``root`` as a posix path, if it is a file inside ``root``."""
    relative = posixpath.normpath(posixpath.join(directory.relative_to(root).as_posix(), name))
    if relative.startswith(("../", "/")) or relative in {".", ".."}:
        return None
    return relative if (root / relative).is_file() else None
