"""The manifest: logical name -> hashed key, digest, size and integrity, as one JSON file.

Written last by publish (atomically), loaded once at runtime, read-only afterwards. Every URL
and integrity value is computed at load time, so :meth:`Manifest.url` is one dict lookup.
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bundlers import EntryFiles
from .errors import ManifestError, UnknownAssetError
from .keys import check_key, integrity_of, quote_path, url_for_key
from .spelling import option

if TYPE_CHECKING:
    from .build import Build

__all__ = [
    "FORMAT_VERSION",
    "Manifest",
    "ManifestEntry",
    "integrity_of",
    "quote_path",
    "url_for_key",
]

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """What the manifest records for one logical name."""

    key: str
    sha256: str
    size: int
    integrity: str
    md5: str | None = None
    """Hex MD5 of the bytes, or ``None`` in manifests written before 0.2.

    What a single-request S3 upload's ETag is, so ``hashstore verify`` can confirm stored bytes
    from the ETag where the store keeps no SHA-256 (:mod:`hashstore.verify`).

    .. versionadded:: 0.2
    """


class Manifest(Mapping[str, ManifestEntry]):
    """A read-only mapping of logical name -> :class:`ManifestEntry` with URL lookups.

    :param files: the entries.
    :param release: the release id the manifest belongs to.
    :param base_url: the base URL the manifest was written for; URLs use ``url_base`` if given.
    :param url_base: the base URL to build URLs with at runtime (default: ``base_url``).
    :param path: where the manifest was loaded from, for error messages.
    :param entries: the entry points of the bundles in the build (see :meth:`entry_point`),
        by the name the bundler gives them; each file they name must be in ``files``.

    .. versionchanged:: 0.2
       ``entries``: the optional ``"entries"`` section.
    """

    __slots__ = ("_files", "_urls", "base_url", "entries", "path", "release", "url_base")

    def __init__(
        self,
        files: Mapping[str, ManifestEntry],
        *,
        release: str,
        base_url: str,
        url_base: str | None = None,
        path: Path | None = None,
        entries: Mapping[str, EntryFiles] | None = None,
    ) -> None:
        self._files = dict(sorted(files.items()))
        self.entries: Mapping[str, EntryFiles] = dict(sorted((entries or {}).items()))
        for entry_name, entry in self.entries.items():
            for name in (entry.file, *entry.imports, *entry.css, *entry.lazy):
                if name not in self._files:
                    where = str(path) if path is not None else "manifest"
                    raise ManifestError(
                        f"{where}: entry {entry_name!r} names {name!r}, which is not in "
                        "'files'; publish again"
                    )
        self.release = release
        self.base_url = base_url
        self.url_base = url_base if url_base is not None else base_url
        self.path = path
        self._urls = {name: url_for_key(self.url_base, e.key) for name, e in self._files.items()}

    # Mapping protocol
    def __getitem__(self, name: str) -> ManifestEntry:
        return self._files[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def url(self, name: str) -> str:
        """The URL of a logical name: ``base_url`` + hashed key.

        :raises UnknownAssetError: the name is not in the manifest (the message names close
            matches and the manifest file).
        """
        try:
            return self._urls[name]
        except KeyError:
            raise self.unknown(name) from None

    def entry(self, name: str) -> ManifestEntry:
        """The entry of a logical name, or :class:`UnknownAssetError`."""
        try:
            return self._files[name]
        except KeyError:
            raise self.unknown(name) from None

    def integrity(self, name: str) -> str:
        """The SRI ``integrity`` value of a logical name."""
        return self.entry(name).integrity

    def entry_point(self, name: str) -> EntryFiles:
        """The files a page loads for a bundler's entry point, by its source name
        (``src/main.js`` for Vite, ``main`` or ``main.js`` for webpack).

        :raises UnknownAssetError: no bundle in the build has that entry point.

        .. versionadded:: 0.2
        """
        try:
            return self.entries[name]
        except KeyError:
            pass
        where = f"manifest {self.path}" if self.path is not None else "the manifest"
        close = difflib.get_close_matches(name, self.entries, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        known = "" if self.entries else " It has none: no bundler manifest was in the sources."
        raise UnknownAssetError(
            f"'{name}' is not an entry point in {where} (release {self.release}).{hint}{known} "
            "Entry points are the names a bundler manifest gives them (src/main.js for Vite); "
            "build the front end and publish again."
        )

    def unknown(self, name: str) -> UnknownAssetError:
        """The error for a name that is not in the manifest, with close matches."""
        where = f"manifest {self.path}" if self.path is not None else "the manifest"
        close = difflib.get_close_matches(name, self._files, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return UnknownAssetError(
            f"'{name}' is not in {where} (release {self.release}).{hint} "
            "Add the file to a source directory and publish again."
        )

    @classmethod
    def from_build(cls, build: Build, *, release: str, base_url: str) -> Manifest:
        """The manifest describing ``build``."""
        files = {
            name: ManifestEntry(f.key, f.digest, f.size, f.integrity, f.md5)
            for name, f in build.files.items()
        }
        return cls(files, release=release, base_url=base_url, entries=build.entries)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document, as in DESIGN.md; ``entries`` only when there are some, a file's
        ``md5`` only when it is known."""
        document: dict[str, Any] = {
            "hashstore": FORMAT_VERSION,
            "release": self.release,
            "base_url": self.base_url,
            "files": {
                name: {
                    "key": e.key,
                    "sha256": e.sha256,
                    "size": e.size,
                    "integrity": e.integrity,
                    **({"md5": e.md5} if e.md5 is not None else {}),
                }
                for name, e in self._files.items()
            },
        }
        if self.entries:
            document["entries"] = {
                name: {
                    "file": e.file,
                    "module": e.module,
                    "imports": list(e.imports),
                    "css": list(e.css),
                    **({"lazy": list(e.lazy)} if e.lazy else {}),
                }
                for name, e in self.entries.items()
            }
        return document

    def to_json(self) -> bytes:
        """Deterministic JSON bytes: the same manifest always gives the same bytes."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)
        return (text + "\n").encode("utf-8")

    def save(self, path: Path) -> None:
        """Write the manifest atomically: a temporary file in the same directory, renamed.

        :raises ManifestError: the file cannot be written (naming the path and the fix); the
            previous manifest, if any, is left as it was.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise self._unwritable(path, exc) from exc
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(self.to_json())
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise self._unwritable(path, exc) from exc
            raise

    def _unwritable(self, path: Path, exc: OSError) -> ManifestError:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        return ManifestError(
            f"cannot write manifest {path}: {exc.strerror or exc}{where}. Make its directory "
            f"writable, or give {option('manifest')} another path, and publish again: release "
            f"{self.release} is stored, so the rerun uploads nothing and writes the manifest."
        )

    @classmethod
    def load(cls, path: Path | str, *, url_base: str | None = None) -> Manifest:
        """Read and validate a manifest file.

        :param url_base: build URLs with this base instead of the one recorded in the file.
        :raises ManifestError: the file is missing, not JSON, of another version or malformed.
        """
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ManifestError(
                f"manifest {path} does not exist: run `hashstore publish` (or collectstatic / "
                "`flask hashstore publish`) to write it, or fix the `manifest` setting"
            ) from None
        except OSError as exc:
            raise ManifestError(f"manifest {path} cannot be read: {exc.strerror}") from exc
        return cls.parse(raw, url_base=url_base, path=path)

    @classmethod
    def parse(
        cls, raw: bytes, *, url_base: str | None = None, path: Path | None = None
    ) -> Manifest:
        """Validate manifest JSON bytes (a file or a release record)."""
        where = str(path) if path is not None else "manifest"
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ManifestError(f"{where} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or "hashstore" not in data:
            raise ManifestError(f"{where} is not a hashstore manifest (no 'hashstore' version key)")
        if data["hashstore"] != FORMAT_VERSION:
            raise ManifestError(
                f"{where} has format version {data['hashstore']!r}; this hashstore reads "
                f"version {FORMAT_VERSION}. Publish again with this version."
            )
        release, base_url, files = data.get("release"), data.get("base_url"), data.get("files")
        if not isinstance(release, str) or not isinstance(base_url, str):
            raise ManifestError(f"{where}: 'release' and 'base_url' must be strings")
        if not isinstance(files, dict):
            raise ManifestError(f"{where}: 'files' must be an object")
        parsed: dict[str, ManifestEntry] = {}
        for name, item in files.items():
            try:
                parsed[name] = ManifestEntry(
                    key=check_key(_str(item["key"])),
                    sha256=_hex(item["sha256"]),
                    size=_int(item["size"]),
                    integrity=_str(item["integrity"]),
                    md5=_md5(item["md5"]) if "md5" in item else None,
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ManifestError(
                    f"{where}: entry {name!r} is malformed ({exc}); expected "
                    "{'key', 'sha256', 'size', 'integrity'} and an optional 'md5'"
                ) from None
        return cls(
            parsed,
            release=release,
            base_url=base_url,
            url_base=url_base,
            path=path,
            entries=_entry_points(data.get("entries", {}), where),
        )


def _entry_points(section: object, where: str) -> dict[str, EntryFiles]:
    """The optional ``entries`` section: ``{name: {"file", "module", "imports", "css"}}``, and
    ``"lazy"`` when the entry loads modules with ``import()``."""
    if not isinstance(section, dict):
        raise ManifestError(f"{where}: 'entries' must be an object")
    result = {}
    for name, item in section.items():
        try:
            if not isinstance(item, dict):
                raise TypeError(f"{item!r} is not an object")
            module = item["module"]
            if not isinstance(module, bool):
                raise TypeError(f"module {module!r} is not true or false")
            result[name] = EntryFiles(
                file=_str(item["file"]),
                module=module,
                imports=_names(item["imports"]),
                css=_names(item["css"]),
                lazy=_names(item.get("lazy", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(
                f"{where}: entry point {name!r} is malformed ({exc}); expected "
                "{'file', 'module', 'imports', 'css'}"
            ) from None
    return result


def _names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"{value!r} is not a list")
    return tuple(_str(item) for item in value)


def _str(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{value!r} is not a non-empty string")
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a size")
    return value


def _hex(value: object) -> str:
    text = _str(value)
    if len(text) != 64 or text.strip("0123456789abcdef"):
        raise ValueError(f"{value!r} is not a hex SHA-256 digest")
    return text


def _md5(value: object) -> str:
    text = _str(value)
    if len(text) != 32 or text.strip("0123456789abcdef"):
        raise ValueError(f"{value!r} is not a hex MD5 digest")
    return text
