"""Which files keep their own name: trusted as already named by their content, by proof only.

A file keeps its name (no hashstore hash) only when one of these says its name changes
whenever its bytes do:

1. a bundler manifest in its source root lists it (:mod:`hashstore.bundlers`): Vite's
   ``.vite/manifest.json``, webpack's ``manifest.json`` or ``assets-manifest.json``, and the
   source map beside a listed output (``assets/main-BfD3a9xq.js.map``);
2. the ``prehashed`` setting declares it: a source directory given there declares every file of
   that root, any other item is a glob of logical names (``*`` also matches ``/``);
3. its file name matches the ``hashed_pattern`` regular expression the user set.

A name that merely looks hashed proves nothing: ``app-20240115.css`` carries a date, and a
kept name whose bytes change serves the old bytes under the old URL (S3 keeps them; a CDN
caches them for a year). So there is no pattern by default, and a kept name is "present" in a
target only with the same bytes (:mod:`hashstore.publish`).

A listed bundler output also keeps its bytes: its runtime builds chunk URLs itself, so its
references are not rewritten. A file kept by rule 2 or 3 is scanned and rewritten like any other
CSS or JavaScript, and keeps its name only if rewriting leaves it unchanged.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import translate
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from .bundlers import SourceBundle, bundles_in
from .errors import ConfigError

if TYPE_CHECKING:
    from .scan import ScanResult, SourceFile
    from .settings import Settings

__all__ = ["TrustRules"]


@dataclass(frozen=True)
class TrustRules:
    """The trust rules of one build: ask :meth:`bundler_output` and :meth:`declared`.

    Make one with :meth:`from_settings`.
    """

    outputs: Mapping[str, str]
    """Logical name of each listed bundler output (and its source map) -> the manifest's path."""
    roots: frozenset[Path]
    """Source roots (absolute) the ``prehashed`` setting declares whole."""
    globs: re.Pattern[str] | None
    """The ``prehashed`` items that are globs, as one pattern."""
    pattern: re.Pattern[str] | None
    """``hashed_pattern``, searched in the file name."""

    @classmethod
    def none(cls) -> TrustRules:
        """Rules that trust no name."""
        return cls(outputs=MappingProxyType({}), roots=frozenset(), globs=None, pattern=None)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        scanned: ScanResult,
        bundles: Sequence[SourceBundle] | None = None,
    ) -> TrustRules:
        """Read the bundler manifests of every source root and the trust settings.

        :param settings: ``sources``, ``prehashed`` and ``hashed_pattern`` are used.
        :param scanned: the scan of ``settings.sources``; an output counts only when the file
            under its logical name comes from the root whose manifest lists it.
        :param bundles: the bundler manifests of the sources, if read already
            (:func:`~hashstore.bundlers.bundles_in`).
        """
        directories: dict[Path, str] = {}
        for spec in settings.sources:
            prefix, directory = spec if isinstance(spec, tuple) else ("", spec)
            directories.setdefault(Path(os.path.abspath(directory)), prefix)
        outputs: dict[str, str] = {}
        files = scanned.files
        if bundles is None:
            bundles = bundles_in(settings.sources)
        for bundle in bundles:
            for output in sorted(bundle.manifest.outputs):
                logical = bundle.logical(output)
                source = files.get(logical)
                if source is not None and source.root == bundle.root:
                    outputs.setdefault(logical, str(bundle.manifest.path))
        roots = frozenset(
            root
            for item in settings.prehashed
            if (root := Path(os.path.abspath(item))) in directories
        )
        globs = [
            item for item in settings.prehashed if Path(os.path.abspath(item)) not in directories
        ]
        for item in globs:
            if not any(mark in item for mark in "*?[") and os.path.isdir(item):
                # A directory that is not a source: as a glob it would match nothing, silently.
                raise ConfigError(
                    f"prehashed = {item!r} is invalid: a directory that is none of the "
                    "sources; give one of the source directories, or a glob of logical names "
                    f"such as '{posixpath.basename(os.path.normpath(item))}/*'"
                )
        return cls(
            outputs=MappingProxyType(outputs),
            roots=roots,
            globs=re.compile("|".join(translate(g) for g in globs)) if globs else None,
            pattern=re.compile(settings.hashed_pattern) if settings.hashed_pattern else None,
        )

    def bundler_output(self, source: SourceFile) -> str | None:
        """Why ``source`` keeps its name and bytes, if a bundler manifest lists it."""
        manifest = self.outputs.get(source.name)
        return f"listed by {manifest}" if manifest is not None else None

    def declared(self, source: SourceFile) -> str | None:
        """Why ``source`` may keep its name, if ``prehashed`` or ``hashed_pattern`` says so."""
        if source.root in self.roots:
            return f"its source root {source.root} is in `prehashed`"
        if self.globs is not None and self.globs.match(source.name):
            return "it matches `prehashed`"
        if self.pattern is not None and self.pattern.search(posixpath.basename(source.name)):
            return "its name matches `hashed_pattern`"
        return None
