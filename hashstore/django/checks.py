"""System checks of the ``hashstore.django`` app (``manage.py check``, runserver, tests).

===============  ==========================================================================
hashstore.E001   an option is unknown or invalid (the message names it; one message for each)
hashstore.E002   no ``target`` (nor ``bucket``): collectstatic has nowhere to publish
hashstore.E003   an S3 target without ``base_url`` while ``STATIC_URL`` is a local path
hashstore.E004   ``DEBUG = False`` and no manifest file: every asset URL would fail
hashstore.E005   the manifest file exists but cannot be read or is not a valid manifest
hashstore.E006   ``STORAGES["staticfiles"]`` is not ``hashstore.django.HashStoreStorage``
hashstore.E007   ``STATIC_ROOT`` is not set: collectstatic has nowhere to collect, and the
                 manifest has no default place
hashstore.W001   the manifest was written for another ``base_url`` than the configured one
hashstore.W002   ``hashstore.django`` comes after ``django.contrib.staticfiles`` in
                 INSTALLED_APPS, so collectstatic does not report what it published
===============  ==========================================================================

The configuration checks carry the ``staticfiles`` tag, so collectstatic runs them before
collecting; the manifest checks do not, since collectstatic is what writes the manifest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig, apps
from django.conf import STATICFILES_STORAGE_ALIAS, settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.files.storage import storages

from ..errors import ConfigError, ManifestError
from ..spelling import render
from .storage import HashStoreStorage

_APP = "hashstore.django"
_DOCS = "See docs/django.md."


def _skipped(app_configs: Sequence[AppConfig] | None) -> bool:
    return app_configs is not None and not any(c.name == _APP for c in app_configs)


def _storage() -> HashStoreStorage | list[CheckMessage]:
    """The configured storage, or the errors that stand in its way (one per invalid option)."""
    try:
        storage = storages[STATICFILES_STORAGE_ALIAS]
    except ConfigError as exc:
        return [
            Error(render(problem, exc.spelling), hint=_DOCS, id="hashstore.E001")
            for problem in exc.problems
        ]
    if not isinstance(storage, HashStoreStorage):
        cls = type(storage)
        return [
            Error(
                f'STORAGES["staticfiles"]["BACKEND"] is {cls.__module__}.{cls.__qualname__}, '
                "so collectstatic does not publish with hashstore and asset tags cannot work",
                hint='Set it to "hashstore.django.HashStoreStorage", or remove '
                '"hashstore.django" from INSTALLED_APPS.',
                id="hashstore.E006",
            )
        ]
    return storage


def check_options(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    """The options make a usable configuration (E001, E002, E003, E006, E007, W002)."""
    if _skipped(app_configs):
        return []
    storage = _storage()
    if not isinstance(storage, HashStoreStorage):
        return storage
    messages: list[CheckMessage] = []
    if not settings.STATIC_ROOT:
        messages.append(
            Error(
                "STATIC_ROOT is not set: collectstatic has nowhere to collect the files "
                "hashstore publishes, and the manifest has no place by default",
                hint='Set STATIC_ROOT to a directory, e.g. BASE_DIR / "staticfiles" (the '
                "manifest is written there as hashstore.json).",
                id="hashstore.E007",
            )
        )
    options, setting = storage.hashstore_options, storage.hashstore_setting
    s = storage.hashstore_settings
    if s.target is None:
        messages.append(
            Error(
                f'{setting}["target"] is not set: collectstatic has nowhere to publish',
                hint=f'Give {setting}["bucket"] (and "prefix"), {setting}["target"] = '
                '"s3://bucket/prefix/", or a directory for local-only publishing.',
                id="hashstore.E002",
            )
        )
    elif s.is_s3 and "base_url" not in options and not urlsplit(s.base_url).netloc:
        messages.append(
            Error(
                f'{setting}["base_url"] is not set and STATIC_URL {settings.STATIC_URL!r} is a '
                f"path on this site, but files are published to {s.target}",
                hint=f'Set {setting}["base_url"] to the URL the bucket is served from, e.g. '
                '"https://cdn.example.com/static/" (or make STATIC_URL that URL).',
                id="hashstore.E003",
            )
        )
    names = [config.name for config in apps.get_app_configs()]
    staticfiles = "django.contrib.staticfiles"
    if staticfiles in names and names.index(staticfiles) < names.index(_APP):
        messages.append(
            Warning(
                f'"{_APP}" comes after "{staticfiles}" in INSTALLED_APPS, so Django\'s own '
                "collectstatic runs and does not report what hashstore published",
                hint=f'Put "{_APP}" before "{staticfiles}".',
                id="hashstore.W002",
            )
        )
    return messages


def check_manifest(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    """The manifest exists when it must and matches the configuration (E004, E005, W001)."""
    if _skipped(app_configs):
        return []
    storage = _storage()
    if not isinstance(storage, HashStoreStorage):
        return []  # reported by check_options
    if not settings.STATIC_ROOT and "manifest" not in storage.hashstore_options:
        return []  # E007: the manifest has no place yet
    s = storage.hashstore_settings
    try:
        manifest = storage.manifest
    except ManifestError as exc:
        return [Error(str(exc), hint="Run `manage.py collectstatic` again.", id="hashstore.E005")]
    if manifest is None:
        if settings.DEBUG:
            return []  # development: URLs are STATIC_URL + name
        return [
            Error(
                f"manifest {s.manifest} does not exist and DEBUG = False, so every asset URL "
                "would fail",
                hint="Run `manage.py collectstatic` before starting the site, or point "
                f'{storage.hashstore_setting}["manifest"] at the manifest it wrote.',
                id="hashstore.E004",
            )
        ]
    if manifest.base_url != s.base_url:
        return [
            Warning(
                f"manifest {s.manifest} was written for base_url {manifest.base_url!r}, but "
                f'{storage.hashstore_setting}["base_url"] is {s.base_url!r}; URLs use the '
                "latter, and the files may not be there",
                hint="Run `manage.py collectstatic` with the current settings.",
                id="hashstore.W001",
            )
        ]
    return []


# Registered by call rather than as decorators: Django is untyped, and a decorator would make
# the functions untyped for mypy.
register(Tags.staticfiles)(check_options)
register()(check_manifest)
