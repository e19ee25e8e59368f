"""An environment for Django's Jinja2 backend with the asset helpers as globals.

``TEMPLATES = [{"BACKEND": "django.template.backends.jinja2.Jinja2",
"OPTIONS": {"environment": "hashstore.django.jinja2.environment"}}]`` and templates can use
``{{ static("css/app.css") }}``, ``{{ asset_url(...) }}``, ``{{ asset_integrity(...) }}`` and
``{{ asset_tag("js/app.js", defer=True) }}``.
"""

from __future__ import annotations

from typing import Any

from django.templatetags.static import static
from jinja2 import Environment
from markupsafe import Markup

from . import assets

__all__ = ["GLOBALS", "environment"]


def asset_tag(name: str, **attrs: Any) -> Markup:
    """:func:`hashstore.django.asset_tag` as Jinja2 markup (not escaped again)."""
    return Markup(assets.asset_tag(name, **attrs))


def entry_tags(name: str) -> Markup:
    """:func:`hashstore.django.entry_tags` as Jinja2 markup."""
    return Markup(assets.entry_tags(name))


def import_map() -> Markup:
    """:func:`hashstore.django.import_map` as Jinja2 markup."""
    return Markup(assets.import_map())


GLOBALS = {
    "static": static,
    "asset_url": assets.asset_url,
    "asset_integrity": assets.asset_integrity,
    "asset_tag": asset_tag,
    "entry_tags": entry_tags,
    "import_map": import_map,
}
"""The globals :func:`environment` adds, for projects that build their own environment."""


def environment(**options: Any) -> Environment:
    """A Jinja2 ``Environment`` with ``static``, ``asset_url``, ``asset_integrity``, ``asset_tag``.

    :param options: passed to ``Environment`` as Django's Jinja2 backend gives them.
    """
    env = Environment(**options)
    env.globals.update(GLOBALS)
    return env
