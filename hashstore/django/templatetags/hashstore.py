"""``{% load hashstore %}``: ``asset_tag``, ``asset_url``, ``asset_integrity``, ``entry_tags``
and ``import_map``.

``{% asset_tag "css/app.css" %}`` gives ``<link rel="stylesheet" href="..."
integrity="sha256-..." crossorigin="anonymous">``; ``.js`` a ``<script>``, ``.mjs`` a module
script. Extra attributes: ``{% asset_tag "js/app.js" defer=True id="main" %}``.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from .. import assets

register = template.Library()


def asset_url(name: str) -> str:
    """The asset's URL, as ``{% static %}`` gives it."""
    return assets.asset_url(name)


def asset_integrity(name: str) -> str:
    """The asset's ``sha256-...`` integrity value (empty in development without a manifest)."""
    return assets.asset_integrity(name)


def asset_tag(name: str, **attrs: Any) -> SafeString:
    """A ``<link>`` or ``<script>`` element loading the asset, with integrity."""
    return assets.asset_tag(name, **attrs)


def entry_tags(name: str) -> SafeString:
    """The stylesheets, module preloads and module script of a bundler's entry point."""
    return assets.entry_tags(name)


def import_map() -> SafeString:
    """``<script type="importmap">`` for the ``import_map`` option, with integrity."""
    return assets.import_map()


# Registered by call rather than as decorators, which would make the functions untyped for mypy.
for tag in (asset_url, asset_integrity, asset_tag, entry_tags, import_map):
    register.simple_tag(tag)
