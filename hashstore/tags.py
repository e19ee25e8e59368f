"""HTML tags for assets: ``<link>`` for stylesheets, ``<script>`` for scripts, with integrity.

Written once here and used by every adapter (Django's ``{% asset_tag %}``, the Jinja2
environment, Flask's ``asset_tag()``), so escaping and the choice of element cannot drift
apart. Plain Python: the result is a ``str`` whose every value is HTML-escaped; adapters mark
it safe with their own type (``mark_safe``, ``markupsafe.Markup``).
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Mapping

__all__ = ["TAG_KINDS", "render_asset_tag"]

TAG_KINDS = {".css": "link", ".js": "script", ".mjs": "module"}
"""Extensions ``asset_tag`` accepts, and the element each gets."""

# An attribute name as HTML parses it, without characters that could end the tag or the name.
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]*")


def render_asset_tag(
    name: str,
    url: str,
    integrity: str | None = None,
    attrs: Mapping[str, object] | None = None,
) -> str:
    """The HTML element that loads an asset, with Subresource Integrity.

    ``.css`` gives ``<link rel="stylesheet" href=...>``, ``.js`` gives ``<script src=...>`` and
    ``.mjs`` adds ``type="module"``. ``crossorigin="anonymous"`` is added because browsers
    check integrity of cross-origin (CDN) responses only in CORS mode.

    :param name: the logical name; its extension chooses the element.
    :param url: the asset's URL (``href`` or ``src``).
    :param integrity: the SRI value; left out when ``None`` (development without a manifest).
    :param attrs: extra attributes, which may override the defaults. ``True`` gives a bare
        attribute (``defer``), ``False`` or ``None`` leaves it out, and ``_`` in a name becomes
        ``-`` (``data_app="x"`` -> ``data-app="x"``) since keyword arguments cannot hold ``-``.
    :raises ValueError: an extension other than ``.css``, ``.js`` and ``.mjs``, or an invalid
        attribute name.
    """
    ext = posixpath.splitext(name)[1].lower()
    kind = TAG_KINDS.get(ext)
    if kind is None:
        raise ValueError(
            f"asset_tag cannot load '{name}': it makes tags for .css, .js and .mjs files; "
            "use asset_url for other files"
        )
    values: dict[str, object] = {}
    if kind == "link":
        values["rel"] = "stylesheet"
        values["href"] = url
    else:
        if kind == "module":
            values["type"] = "module"
        values["src"] = url
    if integrity is not None:
        values["integrity"] = integrity
        values["crossorigin"] = "anonymous"
    for key, value in (attrs or {}).items():
        attr = key.replace("_", "-")
        if not _ATTRIBUTE_NAME.fullmatch(attr):
            raise ValueError(f"asset_tag: {key!r} is not a valid HTML attribute name")
        values[attr] = value
    parts = []
    for attr, value in values.items():
        if value is True:
            parts.append(f" {attr}")
        elif value is not False and value is not None:
            parts.append(f' {attr}="{html.escape(str(value), quote=True)}"')
    attributes = "".join(parts)
    if kind == "link":
        return f"<link{attributes}>"
    return f"<script{attributes}></script>"
