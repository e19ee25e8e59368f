"""HTML tags for assets: ``<link>`` for stylesheets, ``<script>`` for scripts, with integrity.

Written once here and used by every adapter (Django's ``{% asset_tag %}``, the Jinja2
environment, Flask's ``asset_tag()``), so escaping and the choice of element cannot drift
apart. Plain Python: the result is a ``str`` whose every value is HTML-escaped; adapters mark
it safe with their own type (``mark_safe``, ``markupsafe.Markup``).
"""

from __future__ import annotations

import html
import json
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping

from .bundlers import EntryFiles

__all__ = ["TAG_KINDS", "render_asset_tag", "render_entry_tags", "render_import_map"]

TAG_KINDS = {".css": "link", ".js": "script", ".mjs": "module"}
"""Extensions ``asset_tag`` accepts, and the element each gets."""

# An attribute name as HTML parses it, without characters that could end the tag or the name.
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]*")


def _element(name: str, values: Mapping[str, object]) -> str:
    parts = []
    for attr, value in values.items():
        if value is True:
            parts.append(f" {attr}")
        elif value is not False and value is not None:
            parts.append(f' {attr}="{html.escape(str(value), quote=True)}"')
    attributes = "".join(parts)
    if name == "script":
        return f"<script{attributes}></script>"
    return f"<{name}{attributes}>"


def _with_integrity(values: dict[str, object], integrity: str | None) -> dict[str, object]:
    if integrity is not None:
        values["integrity"] = integrity
        values["crossorigin"] = "anonymous"
    return values


def render_entry_tags(entry: EntryFiles, resolve: Callable[[str], tuple[str, str | None]]) -> str:
    """The elements that load a bundler's entry point, one a line, each with integrity.

    For an ES-module entry (Vite): a ``<link rel="stylesheet">`` for each stylesheet it needs,
    a ``<link rel="modulepreload">`` for each module it imports statically (transitively), and
    ``<script type="module">`` for the entry itself, as Vite's guide to back-end integration
    lists them. The browser checks a preloaded module's integrity and then uses it for the
    import. For a classic entry (webpack): the stylesheets, then ``<script defer>`` for each
    script in the order webpack gives (runtime and shared chunks first). An entry that is a
    stylesheet gets a ``<link rel="stylesheet">``.

    :param entry: from :meth:`hashstore.Manifest.entry_point`.
    :param resolve: logical name -> ``(url, integrity)``; integrity ``None`` leaves it out.

    .. versionadded:: 0.2
    """
    lines = []
    for name in entry.css:
        url, integrity = resolve(name)
        lines.append(
            _element("link", _with_integrity({"rel": "stylesheet", "href": url}, integrity))
        )
    url, integrity = resolve(entry.file)
    if posixpath.splitext(entry.file)[1].lower() == ".css":
        lines.append(
            _element("link", _with_integrity({"rel": "stylesheet", "href": url}, integrity))
        )
        return "\n".join(lines)
    if entry.module:
        for name in entry.imports:
            href, sri = resolve(name)
            lines.append(
                _element("link", _with_integrity({"rel": "modulepreload", "href": href}, sri))
            )
        lines.append(_element("script", _with_integrity({"type": "module", "src": url}, integrity)))
        return "\n".join(lines)
    for name in entry.imports:
        src, sri = resolve(name)
        lines.append(_element("script", _with_integrity({"src": src, "defer": True}, sri)))
    lines.append(_element("script", _with_integrity({"src": url, "defer": True}, integrity)))
    return "\n".join(lines)


def render_import_map(
    imports: Mapping[str, str],
    resolve: Callable[[str], tuple[str, str | None]],
    modules: Iterable[str] = (),
) -> str:
    """A ``<script type="importmap">`` mapping bare specifiers to hashed URLs, with integrity.

    Every module it maps gets an entry in the map's ``integrity`` section, so the browser
    checks the bytes of modules that ``import "lit"`` loads, which no tag names; so does every
    module of ``modules`` (a bundle's chunks loaded with ``import()``). An import map must come
    before the first module script of the page.

    :param imports: bare specifier (``lit``) -> logical name (``vendor/lit/index.js``).
    :param resolve: logical name -> ``(url, integrity)``; integrity ``None`` leaves it out.
    :param modules: logical names of more modules to give an integrity entry.

    .. versionadded:: 0.2
    """
    mapped: dict[str, str] = {}
    integrity: dict[str, str] = {}
    for specifier, name in sorted(imports.items()):
        url, sri = resolve(name)
        mapped[specifier] = url
        if sri is not None:
            integrity[url] = sri
    for name in modules:
        url, sri = resolve(name)
        if sri is not None:
            integrity[url] = sri
    document: dict[str, object] = {"imports": mapped}
    if integrity:
        document["integrity"] = integrity
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True)
    # "</script" or "<!--" inside would end or confuse the element: JSON allows \u escapes.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="importmap">\n{text}\n</script>'


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
    return _element("link" if kind == "link" else "script", values)
