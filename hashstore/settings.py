"""One frozen, typed ``Settings`` object: every option hashstore has, validated once.

Each adapter (command line, Django, Flask) turns its own configuration into a ``Settings`` with
:meth:`Settings.from_mapping` and passes it down; nothing below reads framework settings or the
environment. Field names are the public option names: ``--base-url`` on the command line,
``OPTIONS["base_url"]`` in Django and ``HASHSTORE_BASE_URL`` in Flask all set ``base_url``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from .errors import ConfigError

ChecksumMode = Literal["sha256", "md5", "none"]

DEFAULT_IGNORE = ("CVS", ".*", "*~")
DEFAULT_CACHE_CONTROL = "public, max-age=31536000, immutable"
MIB = 1024 * 1024


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything hashstore needs to build, publish and resolve assets.

    Construct it with keyword arguments (values of the right type) or with
    :meth:`from_mapping` (values as they come from configuration files, environment or command
    line). Every field is validated at construction; an invalid one raises
    :class:`~hashstore.errors.ConfigError` naming the field, the value and what is allowed.
    """

    target: str | None = field(
        default=None,
        metadata=_doc(
            "Where hashed files go: `s3://bucket/prefix/` or a local directory. "
            "Required to publish; not needed to resolve URLs."
        ),
    )
    sources: tuple[Path | tuple[str, Path], ...] = field(
        default=(),
        metadata=_doc(
            "Source directories, searched in order; when two hold the same logical name the "
            "first wins. An item `(prefix, directory)` puts the directory's files under "
            "`prefix/`, as Django's STATICFILES_DIRS does."
        ),
    )
    base_url: str = field(
        default="/static/",
        metadata=_doc(
            "Prefix of every asset URL, e.g. `https://cdn.example.com/static/`. "
            "URLs are absolute whenever this is."
        ),
    )
    manifest: Path = field(
        default=Path("hashstore.json"),
        metadata=_doc("Path of the local manifest file written last by publish, read at runtime."),
    )
    release: str | None = field(
        default=None,
        metadata=_doc(
            "Release id recorded with the manifest. Default: derived from the build's content, "
            "so the same files always make the same release."
        ),
    )
    endpoint_url: str | None = field(
        default=None,
        metadata=_doc("S3 endpoint for S3-compatible stores (MinIO, R2, B2) or tests."),
    )
    region: str | None = field(default=None, metadata=_doc("AWS region of the bucket."))
    profile: str | None = field(
        default=None, metadata=_doc("AWS credentials profile; default: the standard chain.")
    )
    jobs: int = field(default=32, metadata=_doc("Parallel uploads (and HTTP connections) at most."))
    strict: bool = field(
        default=False,
        metadata=_doc("Make references to missing files an error instead of a warning."),
    )
    ignore: tuple[str, ...] = field(
        default=DEFAULT_IGNORE,
        metadata=_doc("Glob patterns of file and directory names to leave out (as Django's)."),
    )
    allow_missing: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "Glob patterns of logical names whose missing references are neither warned about "
            "nor an error (vendored files)."
        ),
    )
    hash_length: int = field(
        default=12,
        metadata=_doc("Hex digits of the SHA-256 digest put into hashed names (8 to 64)."),
    )
    hashed_pattern: str | None = field(
        default=None,
        metadata=_doc(
            "Regular expression searched in file names (the last part) that you know carry a "
            "content hash; such files keep their name. Default: none, because a name that "
            "only looks hashed (`app-20240115.css` is a date) proves nothing. Bundler output "
            "listed in a Vite or webpack manifest keeps its name without it."
        ),
    )
    prehashed: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "Source directories, or glob patterns of logical names (`*` also matches `/`), "
            "whose files already carry a content hash in their name (a bundler's output "
            "without a manifest hashstore reads); they keep their names. Publish refuses one "
            "whose name the target holds with other bytes."
        ),
    )
    static_url_path: str | None = field(
        default=None,
        metadata=_doc(
            "URL path under which root-relative references (`/static/img/x.png`) are resolved. "
            "Default: the path of `base_url` when it has no host, else `/static/`."
        ),
    )
    cache_control: str = field(
        default=DEFAULT_CACHE_CONTROL,
        metadata=_doc("Cache-Control of hashed objects: they never change, so cache them forever."),
    )
    acl: str | None = field(
        default=None,
        metadata=_doc(
            "Canned ACL sent with each object. Default: none (new buckets reject ACLs; "
            "use CloudFront Origin Access Control)."
        ),
    )
    object_parameters: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({}),
        metadata=_doc(
            "Extra PutObject parameters per glob of logical names, "
            'e.g. `{"*.pdf": {"ContentDisposition": "attachment"}}`.'
        ),
    )
    conditional_writes: bool = field(
        default=True,
        metadata=_doc(
            "Send `If-None-Match: *` so the store never overwrites an object. Turn off for "
            "stores that reject it (older MinIO, some S3-compatible services)."
        ),
    )
    checksum: ChecksumMode = field(
        default="sha256",
        metadata=_doc(
            "Upload checksum the store verifies: `sha256` (from the build's digest), `md5` "
            "(Content-MD5, for stores without flexible checksums) or `none`."
        ),
    )
    multipart_threshold: int = field(
        default=64 * MIB,
        metadata=_doc("Files of this many bytes or more are uploaded in parallel parts."),
    )
    multipart_chunksize: int = field(
        default=16 * MIB, metadata=_doc("Size of each part of a multipart upload (>= 5 MiB).")
    )
    retries: int = field(
        default=5, metadata=_doc("Attempts per request for failures that are safe to retry.")
    )
    import_map: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}),
        metadata=_doc(
            "Bare module specifiers the import map tag maps to hashed URLs, each to a logical "
            'name, e.g. `{"lit": "vendor/lit/index.js"}`.'
        ),
    )

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The option names, in definition order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_mapping(
        cls,
        values: Mapping[str, Any],
        *,
        describe: Callable[[str], str] = str,
        base: Settings | None = None,
    ) -> Settings:
        """Build settings from configuration values, converting strings where needed.

        :param values: option name -> value; strings are accepted for every field (``"true"``,
            ``"32"``, ``"a,b"``), so environment variables and command-line text work as is.
        :param describe: how the user spells an option, e.g. ``lambda n: f"HASHSTORE_{n.upper()}"``;
            used in error messages.
        :param base: settings whose values the given ones override.
        """
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            allowed = ", ".join(describe(name) for name in known)
            raise ConfigError(
                f"unknown option(s) {', '.join(describe(u) for u in unknown)}; allowed: {allowed}"
            )
        converted = {
            name: _convert(name, known[name].type, value, describe)
            for name, value in values.items()
        }
        start = base if base is not None else cls()
        try:
            return dataclasses.replace(start, **converted)
        except ConfigError as exc:
            raise ConfigError(_rename(str(exc), describe)) from None

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some fields changed (and validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def is_s3(self) -> bool:
        """Whether the target is an S3 bucket."""
        return self.target is not None and self.target.startswith("s3://")

    @property
    def root_url_path(self) -> str:
        """The URL path under which root-relative references are resolved."""
        if self.static_url_path is not None:
            return self.static_url_path
        parts = urlsplit(self.base_url)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/"):
            return parts.path
        return "/static/"


def _rename(message: str, describe: Callable[[str], str]) -> str:
    # Validation messages start with the field name; show it as the user spells it.
    name, sep, rest = message.partition(" ")
    if sep and name in Settings.field_names():
        return f"{describe(name)} {rest}"
    return message


def _fail(name: str, value: object, allowed: str) -> ConfigError:
    return ConfigError(f"{name} = {value!r} is invalid: {allowed}")


def _validate(s: Settings) -> None:
    if s.target is not None:
        if not s.target.strip():
            raise _fail("target", s.target, "give `s3://bucket/prefix/` or a directory path")
        if s.target.startswith("s3://"):
            bucket = s.target[5:].split("/", 1)[0]
            if not re.fullmatch(r"[a-z0-9][a-z0-9.\-_]{1,254}", bucket):
                raise _fail("target", s.target, "the bucket name after s3:// is missing or invalid")
        elif "://" in s.target:
            raise _fail("target", s.target, "only s3:// URLs and local directories are supported")
    if not s.base_url:
        raise _fail("base_url", s.base_url, "give a URL or path such as /static/")
    if not s.base_url.endswith("/"):
        object.__setattr__(s, "base_url", s.base_url + "/")
    if s.static_url_path is not None and not (
        s.static_url_path.startswith("/") and s.static_url_path.endswith("/")
    ):
        raise _fail("static_url_path", s.static_url_path, "a URL path starting and ending with /")
    if s.release is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}", s.release):
        raise _fail("release", s.release, "letters, digits, '.', '_' and '-' (at most 128)")
    if isinstance(s.jobs, bool) or not isinstance(s.jobs, int) or not 1 <= s.jobs <= 512:
        raise _fail("jobs", s.jobs, "a whole number from 1 to 512")
    if (
        isinstance(s.hash_length, bool)
        or not isinstance(s.hash_length, int)
        or not (8 <= s.hash_length <= 64)
    ):
        raise _fail("hash_length", s.hash_length, "a whole number from 8 to 64")
    if not isinstance(s.retries, int) or not 1 <= s.retries <= 20:
        raise _fail("retries", s.retries, "a whole number from 1 to 20")
    if s.checksum not in get_args(ChecksumMode):
        raise _fail("checksum", s.checksum, "one of 'sha256', 'md5', 'none'")
    if s.multipart_chunksize < 5 * MIB:
        raise _fail("multipart_chunksize", s.multipart_chunksize, "at least 5 MiB (S3's minimum)")
    if s.multipart_threshold < s.multipart_chunksize:
        raise _fail("multipart_threshold", s.multipart_threshold, "at least multipart_chunksize")
    if s.hashed_pattern is not None:
        try:
            re.compile(s.hashed_pattern)
        except re.error as exc:
            raise _fail(
                "hashed_pattern", s.hashed_pattern, f"a regular expression ({exc})"
            ) from None
    if not isinstance(s.object_parameters, Mapping) or not all(
        isinstance(v, Mapping) for v in s.object_parameters.values()
    ):
        raise _fail(
            "object_parameters", s.object_parameters, "a mapping of glob -> {parameter: value}"
        )
    object.__setattr__(
        s,
        "object_parameters",
        MappingProxyType({g: MappingProxyType(dict(p)) for g, p in s.object_parameters.items()}),
    )
    _validate_import_map(s.import_map)
    object.__setattr__(s, "import_map", MappingProxyType(dict(s.import_map)))
    object.__setattr__(s, "sources", tuple(_source_root(item) for item in s.sources))
    object.__setattr__(s, "manifest", Path(s.manifest))


def _validate_import_map(value: object) -> None:
    allowed = "a mapping of bare specifier -> logical name, e.g. {'lit': 'vendor/lit/index.js'}"
    if not isinstance(value, Mapping):
        raise _fail("import_map", value, allowed)
    for specifier, name in value.items():
        if not isinstance(specifier, str) or not isinstance(name, str) or not specifier or not name:
            raise _fail("import_map", value, allowed)
        if specifier.startswith(("/", "./", "../")) or "://" in specifier:
            raise _fail(
                "import_map",
                value,
                f"{specifier!r} is not a bare specifier (relative imports are "
                "rewritten by the build and need no mapping)",
            )
        if specifier.endswith("/"):
            raise _fail(
                "import_map",
                value,
                f"{specifier!r} maps a prefix; hashed names need one entry per module",
            )


def _source_root(item: object) -> Path | tuple[str, Path]:
    if isinstance(item, (str, Path)):
        return Path(item)
    if (
        isinstance(item, (tuple, list))
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], (str, Path))
    ):
        return (item[0].strip("/"), Path(item[1]))
    raise _fail("sources", item, "each item is a directory or a (prefix, directory) pair")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(name: str, annotation: object, value: Any, describe: Callable[[str], str]) -> Any:
    """Turn a configuration value (often a string) into the field's type."""
    kind = str(annotation)
    label = describe(name)
    if value is None:
        if "None" in kind:
            return None
        raise ConfigError(f"{label} cannot be empty")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{label} = {value!r} is invalid: true or false")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigError(f"{label} = {value!r} is invalid: a whole number") from None
    if kind.startswith("tuple"):
        items: Iterable[Any]
        if isinstance(value, str):
            items = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, Iterable):
            items = list(value)
        else:
            raise ConfigError(f"{label} = {value!r} is invalid: a list")
        if "Path" in kind:
            return tuple(items)  # checked and converted by _source_root
        return tuple(str(item) for item in items)
    if kind == "Path":
        return Path(value)
    if kind.startswith("Mapping"):
        if isinstance(value, str):
            import json

            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ConfigError(f"{label} is not valid JSON: {exc}") from None
        if not isinstance(value, Mapping):
            raise ConfigError(f"{label} = {value!r} is invalid: a mapping")
        return value
    if isinstance(value, (str, Path)):
        text = str(value)
        return text if text or "None" not in kind else None
    raise ConfigError(f"{label} = {value!r} is invalid: text expected")
