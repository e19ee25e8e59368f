"""Asset URLs, integrity and tags for Python code: views, e-mails, JSON APIs.

The template tags (``{% load hashstore %}``) and the Jinja2 environment call these, so every
way of asking gives the same answer as ``{% static %}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import STATICFILES_STORAGE_ALIAS
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages
from django.utils.safestring import SafeString, mark_safe

from ..bundlers import development_entries, entry_modules
from ..errors import HashstoreError, ManifestError, UnknownAssetError
from ..settings import Settings
from ..tags import render_asset_tag, render_entry_tags, render_import_map
from .storage import HashStoreStorage

__all__ = [
    "asset_integrity",
    "asset_tag",
    "asset_url",
    "entry_tags",
    "hashstore_storage",
    "help_defaults",
    "import_map",
]


def hashstore_storage() -> HashStoreStorage:
    """The ``staticfiles`` storage, which must be :class:`HashStoreStorage`.

    :raises ImproperlyConfigured: another storage is configured (``hashstore.E006`` says so
        at startup).
    """
    storage = storages[STATICFILES_STORAGE_ALIAS]
    if not isinstance(storage, HashStoreStorage):
        raise ImproperlyConfigured(
            'STORAGES["staticfiles"]["BACKEND"] is '
            f"{type(storage).__module__}.{type(storage).__qualname__}; asset integrity and "
            "tags need hashstore.django.HashStoreStorage"
        )
    return storage


def help_defaults() -> Settings | None:
    """The storage's settings, for the defaults a management command's ``--help`` shows
    (``STATIC_ROOT/hashstore.json``, not the command line's ``hashstore.json``); ``None`` when
    the storage is misconfigured, which the command then reports when it runs."""
    try:
        return hashstore_storage().hashstore_settings
    except (HashstoreError, ImproperlyConfigured):
        return None


def asset_url(name: str) -> str:
    """The URL of a static file, the same as ``{% static name %}``.

    Absolute whenever ``base_url`` is (a CDN), so it works in e-mails and API responses.

    :raises UnknownAssetError: the name is not in the manifest (a ``ValueError``).
    """
    return hashstore_storage().url(name)


def asset_integrity(name: str) -> str:
    """The Subresource Integrity value (``sha256-...``); empty in development (no manifest)."""
    return hashstore_storage().integrity(name) or ""


def asset_tag(name: str, **attrs: Any) -> SafeString:
    """``<link rel="stylesheet">`` for ``.css``, ``<script>`` for ``.js``/``.mjs``, with integrity.

    :param attrs: extra attributes: ``defer=True`` gives ``defer``, ``False``/``None`` leave one
        out, ``data_app="x"`` gives ``data-app="x"``; they may replace the defaults
        (``crossorigin="use-credentials"``). Values are escaped.
    """
    storage = hashstore_storage()
    html = render_asset_tag(name, storage.url(name), storage.integrity(name), attrs)
    return mark_safe(html)  # every value was escaped by render_asset_tag


def entry_tags(name: str) -> SafeString:
    """The tags that load a bundler's entry point (``src/main.js``, as Vite names it): a
    ``<link rel="stylesheet">`` for each stylesheet it needs, a ``<link rel="modulepreload">``
    for each module it imports statically and its ``<script type="module">``, each with
    ``integrity`` and ``crossorigin`` (see :func:`hashstore.tags.render_entry_tags`).

    With ``DEBUG = True`` and no manifest, the entry comes from the bundler's manifest in
    ``STATICFILES_DIRS`` and the URLs are ``STATIC_URL`` + name, without integrity, as
    ``runserver`` serves them.

    :raises UnknownAssetError: no bundle in the published build has that entry point.
    :raises ManifestError: there is no manifest (and ``DEBUG`` is off): entry points come from
        ``collectstatic``.

    .. versionadded:: 0.2
    """
    storage = hashstore_storage()
    manifest = storage.manifest
    if manifest is None and django_settings.DEBUG:
        entries = development_entries(_staticfiles_dirs())
        if name not in entries:
            raise UnknownAssetError(
                f"'{name}' is not an entry point of any bundler manifest in STATICFILES_DIRS; "
                "build the front end (vite build) first"
            )
        html = render_entry_tags(entries[name], lambda n: (storage.url(n), None))
        return mark_safe(html)  # every value was escaped by render_entry_tags
    if manifest is None:
        raise ManifestError(
            f"entry_tags({name!r}) needs the manifest {storage.hashstore_settings.manifest}, "
            "which does not exist: run `manage.py collectstatic` (entry points come from the "
            "bundler's manifest, read when publishing)"
        )
    entry = manifest.entry_point(name)
    html = render_entry_tags(entry, lambda n: (storage.url(n), storage.integrity(n)))
    return mark_safe(html)  # every value was escaped by render_entry_tags


def import_map() -> SafeString:
    """``<script type="importmap">`` for the ``import_map`` option: each bare specifier mapped
    to its hashed URL, with an ``integrity`` entry for each and for every ES module of the
    bundles' entry points, their ``import()`` chunks included (none in development).

    .. versionadded:: 0.2
    """
    storage = hashstore_storage()
    mapping = storage.hashstore_settings.import_map
    manifest = storage.manifest
    modules = entry_modules(manifest.entries) if manifest is not None else []
    html = render_import_map(mapping, lambda n: (storage.url(n), storage.integrity(n)), modules)
    return mark_safe(html)  # JSON with <, > and & escaped, in a fixed element


def _staticfiles_dirs() -> list[Path | tuple[str, Path]]:
    """``STATICFILES_DIRS`` as source roots: where a bundler's output is in development."""
    roots: list[Path | tuple[str, Path]] = []
    for item in django_settings.STATICFILES_DIRS:
        if isinstance(item, (tuple, list)):
            roots.append((str(item[0]).strip("/"), Path(item[1])))
        else:
            roots.append(Path(item))
    return roots
