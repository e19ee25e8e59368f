"""One frozen, typed ``Settings`` object: every option hashstore has, validated once.

Each adapter (command line, Django, Flask) turns its own configuration into a ``Settings`` with
:meth:`Settings.from_mapping` and passes it down; nothing below reads framework settings or the
environment. Field names are the public option names: ``--base-url`` on the command line,
``OPTIONS["base_url"]`` in Django and ``HASHSTORE_BASE_URL`` in Flask all set ``base_url``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from .errors import ConfigError
from .spelling import Spelling, option

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
    jobs: int = field(
        default=32,
        metadata=_doc(
            "Parallel uploads (and HTTP connections) at most. A directory target copies on at "
            "most 4 threads per core, fewer when this is lower."
        ),
    )
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
    allow_empty: bool = field(
        default=False,
        metadata=_doc(
            "Publish a build that has no files. Off by default: an empty build is usually a "
            "front-end build that failed, and its empty manifest would replace the live one."
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
        spelling: Spelling | None = None,
        base: Settings | None = None,
        describe: Callable[[str], str] | None = None,
    ) -> Settings:
        """Build settings from configuration values, converting strings where needed.

        :param values: option name -> value; strings are accepted for every field (``"true"``,
            ``"32"``, ``"a,b"``), so environment variables and command-line text work as is.
        :param spelling: how the user writes options (``HASHSTORE_JOBS``, ``--jobs``); errors
            name them so (see :mod:`hashstore.spelling`).
        :param base: settings whose values the given ones override.
        :param describe: the name alone, as a function (``lambda n: f"HASHSTORE_{n.upper()}"``),
            when no ``spelling`` is given.
        :raises ConfigError: an unknown or invalid option.
        """
        if spelling is None and describe is not None:
            spelling = _NameSpelling(describe)
        try:
            known = {f.name: f for f in dataclasses.fields(cls)}
            unknown = sorted(set(values) - set(known))
            if unknown:
                raise ConfigError(
                    f"unknown option(s) {', '.join(option(u) for u in unknown)}; allowed: "
                    + ", ".join(option(name) for name in known)
                )
            converted = {
                name: _convert(name, known[name].type, value) for name, value in values.items()
            }
            start = base if base is not None else cls()
            return dataclasses.replace(start, **converted)
        except ConfigError as exc:
            if spelling is not None:
                exc.spelled(spelling)
            raise

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


class _NameSpelling(Spelling):
    def __init__(self, describe: Callable[[str], str]) -> None:
        self.describe = describe

    def name(self, field: str) -> str:
        return self.describe(field)

    def assign(self, field: str, value: object) -> str:
        return f"{self.describe(field)} = {value!r}"


def _fail(name: str, value: object, allowed: str) -> ConfigError:
    return ConfigError(_problem(name, value, allowed))


def _problem(name: str, value: object, allowed: str) -> str:
    return f"{option(name)} = {value!r} is invalid: {allowed}"


S3_ONLY = ("endpoint_url", "region", "profile", "conditional_writes", "checksum", "acl")
"""Settings that only an S3 target uses: with a directory target they are an error."""

CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)
_S3_URL = re.compile(r"s3://([^/]*)(/.*)?", re.DOTALL)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-_]{1,254}")
# AWS (`eu-west-1`, `us-gov-west-1`) and S3-compatible stores (`auto`, `garage`, `ru-1`).
_REGION = re.compile(r"[a-z0-9]+(-[a-z0-9]+){0,5}")
_RELEASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}")


def _validate(s: Settings) -> None:
    """Check every field, then raise one :class:`ConfigError` listing every problem."""
    problems: list[str] = []
    for check in (_check_target, _check_s3_only, _check_urls, _check_numbers, _check_others):
        problems.extend(check(s))
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise ConfigError(f"{len(problems)} settings are invalid:\n{lines}", problems=problems)
    if not s.base_url.endswith("/"):
        object.__setattr__(s, "base_url", s.base_url + "/")
    object.__setattr__(
        s,
        "object_parameters",
        MappingProxyType({g: MappingProxyType(dict(p)) for g, p in s.object_parameters.items()}),
    )
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


def _check_target(s: Settings) -> Iterator[str]:
    target = s.target
    if target is None:
        return
    if not target.strip():
        yield _problem("target", target, "give `s3://bucket/prefix/` or a directory path")
    elif target[:3].lower() == "s3:":
        match = _S3_URL.fullmatch(target)
        if match is None:
            rest = target[3:].lstrip("/")
            yield _problem(
                "target",
                target,
                f"an S3 target is written s3://bucket/prefix/ (two slashes): s3://{rest}; "
                "a directory whose name starts with 's3:' is written ./" + target,
            )
        elif not _BUCKET.fullmatch(match.group(1)):
            yield _problem("target", target, "the bucket name after s3:// is missing or invalid")
    elif "://" in target:
        yield _problem("target", target, "only s3:// URLs and local directories are supported")


def _check_s3_only(s: Settings) -> Iterator[str]:
    if s.target is None or s.is_s3 or not s.target.strip() or s.target[:3].lower() == "s3:":
        return
    defaults = {"conditional_writes": True, "checksum": "sha256"}
    for name in S3_ONLY:
        value = getattr(s, name)
        if value != defaults.get(name):
            yield (
                f"{option(name)} applies to S3 targets only, but {option('target')} = "
                f"{s.target!r} is a directory: remove {option(name)}, or publish to "
                "s3://bucket/prefix/"
            )


def _check_urls(s: Settings) -> Iterator[str]:
    if not s.base_url:
        yield _problem("base_url", s.base_url, "give a URL or path such as /static/")
    elif not _is_absolute_or_rooted(s.base_url):
        yield _problem(
            "base_url",
            s.base_url,
            "a URL (https://cdn.example.com/static/, //cdn.example.com/static/) or a path "
            f"starting with / (/static/); did you mean 'https://{s.base_url.lstrip('/')}'?",
        )
    if s.endpoint_url is not None:
        parts = urlsplit(s.endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            hint = ""
            if "://" not in s.endpoint_url:
                # A local store (MinIO, moto) is plain http; anything else is https.
                local = re.match(r"(localhost|\d+\.\d+\.\d+\.\d+|\[)", s.endpoint_url)
                hint = f"; did you mean '{'http' if local else 'https'}://{s.endpoint_url}'?"
            yield _problem(
                "endpoint_url",
                s.endpoint_url,
                f"a URL with a scheme and a host, e.g. http://127.0.0.1:9000{hint}",
            )
    if s.region is not None and not (len(s.region) <= 64 and _REGION.fullmatch(s.region)):
        yield _problem(
            "region", s.region, "a region name such as eu-west-1 (lower case letters, digits, -)"
        )
    if s.static_url_path is not None and not (
        s.static_url_path.startswith("/") and s.static_url_path.endswith("/")
    ):
        yield _problem(
            "static_url_path", s.static_url_path, "a URL path starting and ending with /"
        )


def _is_absolute_or_rooted(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme:
        return parts.scheme in ("http", "https") and bool(parts.netloc)
    if url.startswith("//"):
        return bool(parts.netloc)
    return url.startswith("/")


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_numbers(s: Settings) -> Iterator[str]:
    if not _whole(s.jobs, 1, 512):
        yield _problem("jobs", s.jobs, "a whole number from 1 to 512")
    if not _whole(s.hash_length, 8, 64):
        yield _problem("hash_length", s.hash_length, "a whole number from 8 to 64")
    if not _whole(s.retries, 1, 20):
        yield _problem("retries", s.retries, "a whole number from 1 to 20")
    if not _whole(s.multipart_chunksize, 5 * MIB, 5 * 1024 * MIB):
        yield _problem(
            "multipart_chunksize", s.multipart_chunksize, "from 5 MiB to 5 GiB (S3's limits)"
        )
    elif not _whole(s.multipart_threshold, s.multipart_chunksize, 2**63):
        yield _problem("multipart_threshold", s.multipart_threshold, "at least multipart_chunksize")


def _check_others(s: Settings) -> Iterator[str]:
    if s.release is not None and not _RELEASE.fullmatch(s.release):
        yield _problem("release", s.release, "letters, digits, '.', '_' and '-' (at most 128)")
    if s.checksum not in get_args(ChecksumMode):
        yield _problem("checksum", s.checksum, "one of 'sha256', 'md5', 'none'")
    if s.acl is not None and s.acl not in CANNED_ACLS:
        yield _problem("acl", s.acl, f"a canned ACL: {', '.join(CANNED_ACLS)}")
    if not str(s.manifest).strip() or Path(s.manifest) == Path("."):
        yield _problem("manifest", str(s.manifest), "give the path of the manifest file to write")
    if not s.cache_control.strip():
        yield _problem("cache_control", s.cache_control, "a Cache-Control header value")
    if s.hashed_pattern is not None:
        try:
            re.compile(s.hashed_pattern)
        except re.error as exc:
            yield _problem("hashed_pattern", s.hashed_pattern, f"a regular expression ({exc})")
    if not isinstance(s.object_parameters, Mapping) or not all(
        isinstance(v, Mapping) for v in s.object_parameters.values()
    ):
        yield _problem(
            "object_parameters", s.object_parameters, "a mapping of glob -> {parameter: value}"
        )
    for item in s.sources:
        try:
            _source_root(item)
        except ConfigError as exc:
            yield str(exc.args[0])
    try:
        _validate_import_map(s.import_map)
    except ConfigError as exc:
        yield str(exc.args[0])


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


def _convert(name: str, annotation: object, value: Any) -> Any:
    """Turn a configuration value (often a string) into the field's type."""
    kind = str(annotation)
    label = option(name)
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
        if not str(value).strip():
            raise ConfigError(f"{label} cannot be empty: give a file path")
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
