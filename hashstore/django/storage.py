"""``HashStoreStorage``: Django's staticfiles storage, publishing through the hashstore core.

``collectstatic`` copies files into ``STATIC_ROOT`` as usual (locally, skipping unchanged
files); :meth:`HashStoreStorage.post_process` then makes one call to the core's
:func:`~hashstore.publish.publish`: build, upload what the target lacks, release record,
manifest last. At runtime :meth:`HashStoreStorage.url` is one dictionary lookup in the
manifest, which is loaded once per process.

Everything that reads Django's settings is here, in :func:`settings_from_options`; the core
receives one :class:`~hashstore.settings.Settings`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.contrib.staticfiles.storage import StaticFilesStorage
from django.core.management.base import CommandError
from django.utils.safestring import SafeString

from ..build import BuiltFile, build
from ..errors import ConfigError, HashstoreError, Interrupted, ManifestError
from ..manifest import Manifest
from ..progress import Progress
from ..publish import PublishReport, format_size, publish
from ..scan import RootSpec, ScanResult, scan
from ..settings import Settings
from ..spelling import Spelling

if TYPE_CHECKING:
    from django.core.management.base import OutputWrapper

__all__ = [
    "OPTION_NAMES",
    "HashStoreStorage",
    "report_to",
    "settings_from_options",
]

MANIFEST_NAME = "hashstore.json"
"""The manifest's file name in ``STATIC_ROOT`` unless ``OPTIONS["manifest"]`` says otherwise."""

_CONVENIENCE = ("bucket", "prefix")
OPTION_NAMES: tuple[str, ...] = (
    tuple(name for name in Settings.field_names() if name != "sources") + _CONVENIENCE
)
"""Every key ``OPTIONS`` (or the legacy ``HASHSTORE`` setting) accepts.

The :class:`~hashstore.settings.Settings` fields, except ``sources`` (collectstatic decides what
is collected into ``STATIC_ROOT``), plus ``bucket`` and ``prefix``, a spelling of
``target = "s3://<bucket>/<prefix>/"`` familiar from django-storages.
"""


def settings_from_options(options: Mapping[str, Any], *, setting: str = "OPTIONS") -> Settings:
    """Turn the storage's options and Django's static settings into one ``Settings``.

    This is the only function of the Django adapter that reads configuration. Defaults come
    from Django: the sources are ``STATIC_ROOT`` (where collectstatic has collected), the
    manifest is ``STATIC_ROOT/hashstore.json``, ``base_url`` is ``STATIC_URL`` and root-relative
    references (``/static/img/x.png``) are resolved under the path of ``STATIC_URL``.

    :param options: ``STORAGES["staticfiles"]["OPTIONS"]`` or the ``HASHSTORE`` setting.
    :param setting: how the user spells the mapping, for messages (``OPTIONS["jobs"] = ...``).
    :raises ConfigError: an unknown or invalid option, named as the user wrote it.
    """
    values = dict(options)
    spelling = OptionsSpelling(setting, bucket="bucket" in options)
    try:
        return _settings_from(values, spelling)
    except ConfigError as exc:
        exc.spelled(spelling)
        raise


def _settings_from(values: dict[str, Any], spelling: OptionsSpelling) -> Settings:
    describe = spelling.name
    setting = spelling.setting
    unknown = sorted(set(values) - set(OPTION_NAMES))
    if "sources" in unknown:
        raise ConfigError(
            f"{describe('sources')} is not an option in Django: collectstatic collects "
            "STATICFILES_DIRS and the apps' static folders into STATIC_ROOT, which is published"
        )
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(describe(name) for name in unknown)}; allowed: "
            + ", ".join(describe(name) for name in OPTION_NAMES)
        )
    bucket, prefix = values.pop("bucket", None), values.pop("prefix", None)
    if bucket is not None:
        if "target" in values:
            raise ConfigError(
                f'{describe("bucket")} and {setting}["target"] are both set: give one '
                '(target "s3://bucket/prefix/" is the same as bucket and prefix)'
            )
        folder = str(prefix or "").strip("/")
        values["target"] = f"s3://{bucket}/{folder}/" if folder else f"s3://{bucket}/"
    elif prefix is not None:
        raise ConfigError(f"{describe('prefix')} is set without {describe('bucket')}")

    static_root = django_settings.STATIC_ROOT
    static_url = django_settings.STATIC_URL or "/static/"
    defaults: dict[str, Any] = {
        "sources": (static_root,) if static_root else (),
        "manifest": Path(static_root, MANIFEST_NAME) if static_root else Path(MANIFEST_NAME),
        "base_url": static_url,
        "static_url_path": urlsplit(static_url).path or "/",
    }
    return Settings.from_mapping({**defaults, **values})


class OptionsSpelling(Spelling):
    """Settings as Django options: ``OPTIONS["checksum"] = 'md5'``.

    :param setting: ``OPTIONS`` or, with the legacy setting, ``HASHSTORE``.
    :param bucket: the options give ``bucket`` (and ``prefix``) rather than ``target``.
    """

    def __init__(self, setting: str = "OPTIONS", *, bucket: bool = False) -> None:
        self.setting = setting
        self.bucket = bucket

    def name(self, field: str) -> str:
        if field == "target" and self.bucket:
            field = "bucket"
        return f'{self.setting}["{field}"]'

    def assign(self, field: str, value: object) -> str:
        return f"{self.name(field)} = {value!r}"


def _given_options(options: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """The storage's options and their name: ``OPTIONS`` or the legacy ``HASHSTORE`` setting."""
    legacy = getattr(django_settings, "HASHSTORE", None)
    if legacy is None:
        return options, "OPTIONS"
    if options:
        raise ConfigError(
            'both STORAGES["staticfiles"]["OPTIONS"] and the HASHSTORE setting are set: '
            "keep one (HASHSTORE is for the legacy STATICFILES_STORAGE setting)"
        )
    if not isinstance(legacy, Mapping):
        raise ConfigError(f"HASHSTORE = {legacy!r} is invalid: a dict of options")
    return legacy, "HASHSTORE"


class _Reporter:
    """Where post_process reports, at which verbosity (set by our collectstatic command)."""

    def __init__(
        self,
        verbosity: int,
        stdout: OutputWrapper | None,
        stderr: OutputWrapper | None,
        pins: Sequence[str] = (),
        progress: Progress | None = None,
    ):
        self.verbosity = verbosity
        self.stdout = stdout
        self.stderr = stderr
        self.pins = tuple(pins)
        self.progress = progress
        self._lock = threading.Lock()

    def out(self, text: str, level: int) -> None:
        if self.stdout is not None and self.verbosity >= level:
            with self._lock:
                self.stdout.write(text)

    def on_file(self, file: BuiltFile, created: bool) -> None:
        note = "" if created else " (stored meanwhile by another publisher)"
        self.out(f"Uploaded '{file.name}' as '{file.key}' ({format_size(file.size)}){note}", 2)

    def finish(self, report: PublishReport) -> None:
        if self.stderr is not None and self.verbosity >= 1:
            for warning in report.warnings:
                self.stderr.write(f"warning: hashstore: {warning}")
        if report.dry_run:
            for f in report.plan.missing:
                self.out(f"Would upload '{f.name}' as '{f.key}' ({format_size(f.size)})", 2)
        self.out(f"hashstore: {report.summary()}", 1)
        if not report.dry_run:
            self.out(f"hashstore: manifest written to {report.manifest_path}", 2)


_reporter: ContextVar[_Reporter | None] = ContextVar("hashstore_reporter", default=None)


@contextmanager
def report_to(
    *,
    verbosity: int,
    stdout: OutputWrapper | None,
    stderr: OutputWrapper | None = None,
    pins: Sequence[str] = (),
    progress: Progress | None = None,
) -> Iterator[None]:
    """Make :meth:`HashStoreStorage.post_process` report at ``verbosity`` while inside.

    ``pins``: pin names the publish sets to its release (collectstatic ``--pin``);
    ``progress``: its status line and stop request (see :mod:`hashstore.progress`).

    Django's collectstatic does not pass its verbosity to ``post_process``; the
    ``collectstatic`` command of the ``hashstore.django`` app wraps the original in this.
    Outside, post_process reports nothing (errors still raise).
    """
    token = _reporter.set(_Reporter(verbosity, stdout, stderr, pins, progress))
    try:
        yield
    finally:
        _reporter.reset(token)


_NOT_LOADED: Any = object()
# A URL without these characters is its own HTML-escaped form.
_HTML_SPECIAL = re.compile(r"[&<>\"']")


def _template_ready(url: str) -> str:
    """``url`` as a ``SafeString`` when escaping would not change it.

    Templates escape every value they print; a ``SafeString`` (whose ``__html__`` is itself)
    skips that, which is a good part of what ``{% static %}`` costs. Claiming safety is only
    true when escaping is the identity, so URLs with ``&``, quotes or angle brackets stay
    plain strings and are escaped as usual.
    """
    return url if _HTML_SPECIAL.search(url) else SafeString(url)


class HashStoreStorage(StaticFilesStorage):
    """Static files collected into ``STATIC_ROOT``, published by hashstore, served by manifest.

    Configure it as ``STORAGES["staticfiles"]`` with ``OPTIONS`` (see docs/django.md); every
    option is a :class:`~hashstore.settings.Settings` field. Reading, listing and deleting
    stay in ``STATIC_ROOT`` (Django's ``FileSystemStorage``), so ``collectstatic --clear``
    never touches the bucket.

    :param options: the ``OPTIONS``; with none, the legacy ``HASHSTORE`` setting is read.
    :raises ConfigError: an invalid option (the ``hashstore.E001`` check reports it too).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__()
        given, setting = _given_options(options)
        self.hashstore_options: Mapping[str, Any] = MappingProxyType(dict(given))
        """The options as given (``OPTIONS`` or ``HASHSTORE``), for system checks."""
        self.hashstore_setting = setting
        """How the options are spelled: ``OPTIONS`` or ``HASHSTORE``."""
        self.hashstore_spelling = OptionsSpelling(setting, bucket="bucket" in given)
        """How messages name the options (``OPTIONS["jobs"]``)."""
        self.hashstore_settings: Settings = settings_from_options(given, setting=setting)
        """The one ``Settings`` the core gets."""
        self._forget_manifest()

    def _forget_manifest(self) -> None:
        self._manifest: Manifest | None = _NOT_LOADED
        self._missing: ManifestError | None = None
        # Logical name -> full URL, filled when the manifest is loaded: url() is one lookup.
        self._urls: dict[str, str] = {}

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        """``STATIC_ROOT``'s entries, without the manifest.

        The manifest is not a collected file: ``collectstatic --clear`` leaves it alone, so
        that a publish that fails afterwards still leaves the previous manifest in place.
        """
        directories, files = super().listdir(path)
        manifest = self.hashstore_settings.manifest
        if os.path.abspath(self.path(path)) == os.path.abspath(manifest.parent):
            files = [name for name in files if name != manifest.name]
        return directories, files

    # Runtime: URLs and integrity from the manifest.

    @property
    def manifest(self) -> Manifest | None:
        """The manifest, loaded on first use and kept; ``None`` if the file does not exist.

        :raises ManifestError: the file exists but is not a valid manifest.
        """
        manifest = self._manifest
        if manifest is _NOT_LOADED:
            manifest = self._load()
        return manifest

    def _load(self) -> Manifest | None:
        settings = self.hashstore_settings
        try:
            manifest = Manifest.load(settings.manifest, url_base=settings.base_url)
        except ManifestError as exc:
            if os.path.lexists(settings.manifest):
                raise
            self._missing = exc
            self._manifest = None
            return None
        self._urls = {name: _template_ready(manifest.url(name)) for name in manifest}
        self._manifest = manifest
        return manifest

    def url(self, name: str) -> str:
        """The URL of a logical name: ``base_url`` + its hashed key, precomputed.

        With ``DEBUG = True`` and no manifest file, ``STATIC_URL + name`` (what ``runserver``
        serves).

        :raises UnknownAssetError: a ``ValueError`` naming the file, the manifest and close
            matches.
        :raises ManifestError: no manifest file and ``DEBUG = False``.
        """
        try:
            return self._urls[name]
        except KeyError:
            pass
        manifest = self.manifest
        if manifest is None:
            return self._unpublished_url(name)
        if name in self._urls:  # loaded just now
            return self._urls[name]
        raise manifest.unknown(name)

    def integrity(self, name: str) -> str | None:
        """The SRI ``integrity`` value of a logical name; ``None`` in development (no manifest)."""
        manifest = self.manifest
        if manifest is None:
            self._unpublished_url(name)
            return None
        return manifest.integrity(name)

    def _unpublished_url(self, name: str) -> str:
        if django_settings.DEBUG:
            url: str = super().url(name)
            return url
        assert self._missing is not None
        raise ManifestError(
            f"{self._missing} (DEBUG = False: asset URLs come from the manifest only; "
            "run `manage.py collectstatic`)"
        )

    # collectstatic

    def post_process(
        self, paths: Mapping[str, tuple[Any, str]], dry_run: bool = False, **options: Any
    ) -> Iterator[tuple[str, str, bool]]:
        """Publish the collected files: one call to the core, then Django's progress tuples.

        Only the files collectstatic found (``paths``) are published, from their copies in
        ``STATIC_ROOT``. With ``dry_run`` nothing was copied, so the plan is made from the
        source folders instead; nothing is uploaded or written.

        :yields: ``(name, hashed key, True)`` for each published file.
        :raises CommandError: the publish failed; its text is the core's error message.
        """
        reporter = _reporter.get() or _Reporter(0, None, None)
        names = {path.replace(os.sep, "/") for path in paths}
        settings = self.hashstore_settings
        if dry_run:
            settings = settings.with_changes(sources=_finder_roots(paths))
        try:
            # No paths: nothing was collected, which publish refuses unless allow_empty is set.
            found = scan(settings.sources, ignore=settings.ignore) if paths else None
            collected = ScanResult(
                files=MappingProxyType(
                    {n: f for n, f in found.files.items() if n in names} if found else {}
                ),
                shadowed=(),
            )
            report = publish(
                settings,
                dry_run=dry_run,
                built=build(settings, scanned=collected),
                on_file=reporter.on_file,
                pins=reporter.pins,
                progress=reporter.progress,
            )
        except Interrupted as exc:
            raise CommandError(f"hashstore: {exc}", returncode=exc.exit_code) from None
        except HashstoreError as exc:
            raise CommandError(f"hashstore: {exc.render(self.hashstore_spelling)}") from exc
        if not dry_run:
            self._forget_manifest()  # the next url() reads the new manifest
        reporter.finish(report)
        if dry_run:
            return
        files = report.build.files
        for path in paths:
            built = files.get(path.replace(os.sep, "/"))
            if built is not None:
                yield path, built.key, True


def _finder_roots(paths: Mapping[str, tuple[Any, str]]) -> tuple[RootSpec, ...]:
    """The folders collectstatic found ``paths`` in, in its order (the first one wins)."""
    roots: list[RootSpec] = []
    for storage, _path in paths.values():
        location = getattr(storage, "location", None)
        if not location:
            continue
        prefix = getattr(storage, "prefix", None)
        root: RootSpec = (prefix.strip("/"), Path(location)) if prefix else Path(location)
        if root not in roots:
            roots.append(root)
    return tuple(roots)
