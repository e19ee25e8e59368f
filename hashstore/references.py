"""Find the references a CSS or JavaScript file makes to other files, with their positions.

A reference is a ``url()``, an ``@import`` or a ``sourceMappingURL`` comment in CSS; in
JavaScript, a relative module specifier, a ``new URL(…, import.meta.url)`` or a source map comment
(:mod:`hashstore.references_js`). The build resolves each one to a logical name and rewrites it to
point at that file's hashed key.

CSS is scanned, not parsed: one compiled pattern walks the text once, left to right, and knows
comments, strings, ``url(`` tokens, escapes and ``@import``, so that ``content: "url(x)"`` or a
commented-out rule is never taken for a reference. It follows the tokenizer of CSS Syntax Level 3
(the tests check it against tinycss2 on real and generated stylesheets) about 100 times faster:
on CPython 3.11, 150-250 MB/s on 5 MB of Bootstrap-like CSS and on Django's admin stylesheets,
where tinycss2 tokenizes 1-2 MB/s. A stylesheet without ``url(``, ``@import`` or
``sourceMappingURL`` is dismissed at over 500 MB/s.
``python tests/test_references.py`` measures it.

What it does not do, on purpose:

- ``url`` and ``@import`` written with escapes (``\\75rl(``, ``@im\\70ort``) are not recognised.
- Plain strings in ``image-set("a.png" 1x)`` are not references (a ``url()`` inside is).
- Line numbers count ``\\n`` only, so a file with bare ``\\r`` line ends is all on line 1.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "Kind",
    "Reference",
    "find_css_references",
    "find_js_references",
    "finder_for",
    "format_url",
    "is_local",
    "locate",
    "resolve",
    "split_suffix",
]

Kind = Literal[
    "url", "import", "sourcemap", "module", "dynamic-import", "import-meta-resolve", "new-url"
]
"""CSS: ``url``, ``import``; JavaScript: ``module`` (``import``/``export … from``),
``dynamic-import``, ``import-meta-resolve``, ``new-url``; both: ``sourcemap``."""


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference in a file: where it is, what it says and how it was written."""

    start: int
    """Offset in the text of the URL as written: inside the quotes, still escaped."""
    end: int
    """``text[start:end]`` is what a rewrite replaces."""
    url: str
    """The URL with CSS escapes decoded (``url(a\\ b.png)`` gives ``a b.png``)."""
    line: int
    """The 1-based line the URL starts on."""
    kind: Kind
    quote: str
    """``""`` (unquoted), ``'"'``, ``"'"`` or, in JavaScript, a backtick: how to write a new URL
    in its place."""


# --- CSS -----------------------------------------------------------------------------------

_WS = r"[ \t\n\r\f]"
_NAME_CHAR = r"[a-zA-Z0-9_\-\u0080-\U0010ffff]"
# Exactly one way to read the digits of a hex escape, so that a failing match cannot backtrack
# through 2**n splits of ``\41\41\41...``.
_HEX = r"(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{1,5}(?![0-9a-fA-F]))(?:\r\n|[ \t\n\r\f])?"
_ESCAPE = rf"\\(?:{_HEX}|[^\n\r\f0-9a-fA-F])"
# Characters an unquoted url() may hold as they are; NUL counts as U+FFFD, which it may hold.
_URL_PLAIN = r"[^\"'()\\ \t\n\r\f\x01-\x08\x0b\x0e-\x1f\x7f]"
_COMMENT_REST = r"[^*]*(?:\*+[^*/][^*]*)*(?:\*+/?)?"  # after "/*"; unclosed: to the end


def _string_rest(q: str) -> str:
    # After the opening quote. An unescaped newline ends the string as a "bad string": the
    # closing group is then None. A hex escape takes one whitespace after it, even a newline.
    body = rf"[^{q}\\\n\r\f]*"
    return rf"{body}(?:\\(?:{_HEX}|\r\n|[\s\S]|\Z){body})*(?P<end{ord(q)}>{q}|\Z)?"


# The pattern starts with the set of characters a match can start with, so that the regex engine
# skips everything else without trying each branch (ten times faster than named branches). So a
# url token match starts at its "(" (rarer than "u") and looks behind for ``url(`` where an
# identifier starts: not ``xurl(``, ``-url(``, ``#url(`` nor ``10url(`` (a dimension). The
# ``ident`` branch swallows identifiers with escapes and their "(", so that ``a\"b`` starts no
# string and ``\31 url(`` (the function ``1url(``) is no url token.
_CSS_SCAN = re.compile(
    rf"""
    [/"'(@\\]
    (?:
      (?<=/)(?P<comment>\*{_COMMENT_REST}){_WS}*
    | (?P<string>(?<=")(?:{_string_rest('"')})|(?<=')(?:{_string_rest("'")}))
    | (?P<url>(?<=[uU][rR][lL]\()(?<![a-zA-Z0-9_\-\u0080-\U0010ffff#@\\][uU][rR][lL]\(){_WS}*
        (?:
          (?P<quoted>(?=["']))
        | (?P<raw>{_URL_PLAIN}*(?:\\(?:{_HEX}|[^\n\r\f0-9a-fA-F]|\Z){_URL_PLAIN}*)*)
          {_WS}*(?:\)|\Z)
        | [^)\\]*(?:\\(?:[\s\S]|\Z)[^)\\]*)*\)?  # a bad url: skipped up to the next ")"
        )
      )
    | (?<=@)(?P<import>[iI][mM][pP][oO][rR][tT](?!{_NAME_CHAR}|\\[^\n\r\f]){_WS}*)
    | (?<=\\)(?P<ident>(?:{_HEX}|[^\n\r\f0-9a-fA-F])(?:{_NAME_CHAR}+|{_ESCAPE})*\(?)
    )
    """,
    re.VERBOSE,
)
_CSS_SOURCE_MAP = re.compile(r"[#@][ \t]*sourceMappingURL=[ \t]*(\S+?)(?=\s|\*/|\Z)")
_CSS_UNESCAPE = re.compile(
    r"\\(?:([0-9a-fA-F]{1,6})(?:\r\n|[ \t\n\r\f])?|(\r\n|[\n\r\f])|(.)|\Z)", re.S
)


def _unescape(raw: str, *, in_url: bool) -> str:
    """The value of a CSS string or unquoted URL, as the CSS tokenizer decodes it."""
    if "\\" not in raw and "\0" not in raw:
        return raw

    def replace(m: re.Match[str]) -> str:
        digits, newline, char = m.groups()
        if digits:
            code = int(digits, 16)
            valid = 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF
            return chr(code) if valid else "\ufffd"
        if char is not None:
            return char
        if newline is not None:  # a line continuation, only possible in a string
            return ""
        return "\ufffd" if in_url else ""  # a backslash at the very end of the text

    return _CSS_UNESCAPE.sub(replace, raw).replace("\0", "\ufffd")


_AT_IMPORT = re.compile(r"@[iI][mM][pP][oO][rR][tT]")  # starts with a literal: a fast search


def _may_refer(text: str) -> bool:
    # A few substring searches, many times faster than the scan (and than text.lower(), which is
    # slow once the text holds a non-ASCII character). "l(" and "L(" end any spelling of "url(".
    return (
        "l(" in text
        or "L(" in text
        or "sourceMappingURL" in text
        or _AT_IMPORT.search(text) is not None
    )


def find_css_references(text: str) -> list[Reference]:
    """Find every ``url()``, ``@import`` and ``sourceMappingURL`` comment in a stylesheet.

    Comments and strings are skipped as the CSS tokenizer skips them, and a ``data:`` URI is one
    reference however many ``url(`` it holds. Unterminated comments, strings and ``url(`` run to
    the end of the text, as in a browser.

    :param text: the stylesheet.
    :return: the references in order of appearance.
    """
    if not _may_refer(text):
        return []
    found: list[Reference] = []
    line, counted = 1, 0
    # After ``@import`` or ``url(`` + quote, the string or url() starting exactly here is a
    # reference. Matches consume the whitespace that follows them so that this holds.
    pending: Kind = "url"
    pending_at = -1

    for m in _CSS_SCAN.finditer(text):
        group = m.lastgroup
        if group == "string":
            if m.start() != pending_at:  # most strings: checked first, as cheaply as possible
                continue
            closing = m["end34"] if m["end34"] is not None else m["end39"]
            if closing is None:  # a bad string: the newline ended it
                continue
            start, end = m.start() + 1, m.end() - len(closing)
            url, quote, kind = _unescape(text[start:end], in_url=False), text[m.start()], pending
        elif group == "url":
            kind = pending if m.start() - 3 == pending_at else "url"
            if m["quoted"] is not None:
                pending, pending_at = kind, m.end()
                continue
            if m["raw"] is None:  # a bad url
                continue
            start, end = m.span("raw")
            url, quote = _unescape(m["raw"], in_url=True), ""
        elif group == "import":
            pending, pending_at = "import", m.end()
            continue
        elif group == "comment":
            if m.start() == pending_at:  # ``@import /* why */ "x.css"``
                pending_at = m.end()
            if not text.startswith(("#", "@"), m.start() + 2):
                continue
            source_map = _CSS_SOURCE_MAP.match(text, m.start() + 2, m.end())
            if source_map is None:
                continue
            start, end = source_map.span(1)
            url, quote, kind = source_map[1], "", "sourcemap"
        else:
            continue
        line += text.count("\n", counted, start)
        counted = start
        found.append(Reference(start, end, url, line, kind, quote))
    return found


# --- JavaScript ----------------------------------------------------------------------------


def find_js_references(text: str) -> list[Reference]:
    """Find the relative module specifiers, asset URLs and source map comments of a script.

    See :func:`hashstore.references_js.find_js_references`.
    """
    # Imported here: that module builds on this one's Reference.
    from .references_js import find_js_references as find

    return find(text)


_FINDERS: dict[str, Callable[[str], list[Reference]]] = {
    ".css": find_css_references,
    ".js": find_js_references,
    ".mjs": find_js_references,
    ".cjs": find_js_references,
}


def finder_for(name: str) -> Callable[[str], list[Reference]] | None:
    """The reference finder for a file, chosen by its extension; ``None`` if it has none.

    :param name: a file or logical name (``css/app.css``).
    """
    return _FINDERS.get(posixpath.splitext(name)[1].lower())


# --- URLs ----------------------------------------------------------------------------------

_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*:")
_TEMPLATE_MARKERS = ("{{", "{%", "<%", "${")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))  # what URL parsers strip from both ends


def split_suffix(url: str) -> tuple[str, str]:
    """Split a URL into its path and its ``?query`` / ``#fragment`` suffix, kept verbatim.

    ``"fonts/f.eot?#iefix"`` gives ``("fonts/f.eot", "?#iefix")``.
    """
    cut = len(url)
    for mark in "?#":
        found = url.find(mark)
        if found != -1:
            cut = min(cut, found)
    return url[:cut], url[cut:]


def is_local(url: str) -> bool:
    """Whether a URL may name a file of this site, to be resolved and rewritten.

    Not local: URLs with a scheme (``data:``, ``https:``, ``about:``...), protocol-relative
    ``//host/x``, a bare ``#fragment`` or ``?query`` (the referring file itself), blank URLs and
    URLs still holding template syntax (``{{``, ``{%``, ``<%``, ``${``) that a template engine
    was meant to fill in.
    """
    url = url.strip(_C0_AND_SPACE)
    path, _ = split_suffix(url)
    if not path or _SCHEME.match(url):
        return False
    # Browsers read a backslash as a slash in http(s) URLs: "\\host" is "//host".
    if path[:2].replace("\\", "/") == "//":
        return False
    return not any(marker in url for marker in _TEMPLATE_MARKERS)


def resolve(url: str, referrer: str, root_url_path: str) -> str | None:
    """The logical name a reference points at, or ``None`` if it names no file of the site.

    Relative URLs are resolved against the referring file's directory. Root-relative ones only
    when they start with ``root_url_path``, the URL path the files are served under; others
    belong to another application. The ``?query`` and ``#fragment`` are dropped and
    percent-escapes decoded. A URL that climbs above the root of the logical names
    (``../../x.png`` from ``css/a.css``) or names a directory gives ``None`` as well: it cannot
    be a file of the build (:func:`locate` tells the climbing ones apart).

    :param url: the URL, CSS escapes already decoded (:attr:`Reference.url`).
    :param referrer: the logical name of the file holding the reference (``css/app.css``).
    :param root_url_path: the URL path of the root of the logical names (``/static/``); ``""``
        resolves no root-relative URL.
    """
    name = locate(url, referrer, root_url_path)
    return None if name is None or name.startswith("../") else name


def locate(url: str, referrer: str, root_url_path: str) -> str | None:
    """As :func:`resolve`, but a relative URL that climbs above the root gives where it lands.

    ``../../x.png`` from ``css/a.css`` gives ``../x.png``: a name no file of the build can
    have, which the build reports as a missing reference (the site's URL would land outside
    what is published). ``None`` still means the URL names no file of the site at all.

    """
    if not is_local(url):
        return None
    path = split_suffix(url.strip(_C0_AND_SPACE))[0].replace("\\", "/")
    if path.endswith("/"):
        return None
    if path.startswith("/"):
        if not root_url_path:
            return None
        root = root_url_path.strip("/")
        prefix = f"/{root}/" if root else "/"
        name = posixpath.normpath(unquote(path))
        if not name.startswith(prefix):
            return None
        name = name[len(prefix) :]
    else:
        name = posixpath.normpath(posixpath.join(posixpath.dirname(referrer), unquote(path)))
    if name in {"", ".", ".."} or name.startswith("/"):
        return None
    return name


_UNQUOTED_SPECIAL = re.compile(r"[\"'()\\ \t\n\r\f\x00-\x08\x0b\x0e-\x1f\x7f]")
_QUOTED_SPECIAL = re.compile(r"[\n\r\f]")
_SOURCE_MAP_SPECIAL = re.compile(r"[\x00-\x20\x7f]")
_JS_KINDS = frozenset(("module", "dynamic-import", "import-meta-resolve", "new-url"))
_JS_STRING_SPECIAL = re.compile(r"[\\\n\r\u2028\u2029]|\$\{")
_JS_STRING_ESCAPES = {
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _hex_escape(m: re.Match[str]) -> str:
    # The space ends the escape, so whatever follows cannot be read as more hex digits.
    return f"\\{ord(m[0]):x} "


def _backslash(m: re.Match[str]) -> str:
    char = m[0]
    return _hex_escape(m) if char < " " or char == "\x7f" else "\\" + char


def format_url(url: str, quote: str, *, kind: Kind = "url") -> str:
    """The text to write in place of a reference (``text[start:end]``) for a new URL.

    The URL is escaped as the reference was written, so that reading it back gives ``url``:
    unquoted in ``url()``, whitespace, quotes, parentheses and backslashes are escaped; in a
    string, its own quote, backslashes and newlines. A URL without such characters is written
    as it is. A NUL cannot be written in CSS: it reads back as U+FFFD. In a JavaScript string
    (the JavaScript kinds), its quote, backslashes and line ends get JavaScript escapes, and
    ``${`` in a template literal too.

    :param url: the new URL.
    :param quote: :attr:`Reference.quote`.
    :param kind: :attr:`Reference.kind`; a source map comment is not CSS, so its URL gets
        percent-escapes for whitespace instead of CSS escapes.
    """
    if kind == "sourcemap":
        return _SOURCE_MAP_SPECIAL.sub(lambda m: f"%{ord(m[0]):02X}", url)
    if kind in _JS_KINDS:  # a JavaScript string literal
        url = _JS_STRING_SPECIAL.sub(lambda m: _JS_STRING_ESCAPES.get(m[0], "\\${"), url)
        return url.replace(quote, "\\" + quote)
    if not quote:
        return _UNQUOTED_SPECIAL.sub(_backslash, url)
    url = url.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return _QUOTED_SPECIAL.sub(_hex_escape, url)
