"""Find the references a JavaScript file makes: module specifiers, asset URLs and source maps.

What counts as a reference, with the URL as written between its quotes:

- ``import … from "./x.js"``, ``import "./x.js"`` and ``export … from "./x.js"``: kind ``module``;
- ``import("./x.js")`` with a string literal (or a template literal without ``${}``):
  ``dynamic-import``;
- ``import.meta.resolve("./x.js")`` with a string literal: ``import-meta-resolve``;
- ``new URL("./x.png", import.meta.url)``: ``new-url``;
- ``//# sourceMappingURL=x.js.map`` and ``/*# sourceMappingURL=x.js.map */`` (and the older
  ``@`` form) in any comment, also after code on the same line (ECMA-426): ``sourcemap``.

A module specifier is a reference only when it is relative (``./``, ``../``) or root-relative
(``/``), as browsers resolve them; a bare specifier (``lit``, ``vue/dist/x.js``) is for an import
map to resolve and is not reported. Every ``.js``, ``.mjs`` and ``.cjs`` file is scanned the same
way: static ``import``/``export`` declarations and ``import.meta`` exist only in modules (in a
classic script they are syntax errors), so finding one is what makes a ``.js`` file a module,
and the two forms a classic script can hold, ``import("…")`` and the source map comment, resolve
against the script's own URL there too.

The scanner is a tokenizer for the parts that matter, not a parser. Patterns first find what would
be a reference if it were in code; a file with none is done. Otherwise the text is lexed as far as
the last of them. One compiled pattern crosses code, strings, comments and templates without
``${…}`` in one go, stopping only where the code before decides what comes next: at a ``/`` that
opens no comment (a division or a regular expression) and at a template with ``${…}``. Python looks
at those stops alone, and finds the strings and comments between two stops only when asked about a
position there. So a reference is never found in a string, a template literal (their ``${…}``
substitutions, nested to any depth, are code), a comment or a regular-expression literal. A ``/``
starts a regular expression or is a division depending on the token before it, the rule
JavaScript's grammar implies: after a value (a name, a number, a literal, ``)`` or ``]``) it
divides; after an operator, a punctuator or a keyword such as ``return`` or ``typeof`` it starts a
regular expression. Two cases need more than the previous token and get it: after ``)``, the word
before the matching ``(`` decides (``if (a) /re/.test(b)`` against ``(a + b) / 2``); a ``}`` is
taken for the end of a block, so a regular expression follows, which is wrong only for code that
divides an object or a function by something.

What it does not do, on purpose:

- HTML-like comments (``<!--`` and ``-->``), allowed in classic scripts only, are not comments.
- ``yield``, ``await`` and ``of`` are taken for the keywords, so ``await / 2`` in a classic
  script, where ``await`` may name a variable, is read as the start of a regular expression.
- Specifiers built at run time (``import(name)``, ``new URL(name, import.meta.url)``) and
  ``require()`` are not references: they cannot be rewritten.

The tests check it against tree-sitter-javascript on the third-party modules of lit, preact and
vue and on generated code; ``bench/references.py`` measures it.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from .references import Kind, Reference

__all__ = ["SPECIFIER_KINDS", "find_js_references", "is_bare_specifier"]

# The lexer stops only where the code before a token decides what it is: at a "/" that starts
# no comment (a division or a regular expression) and at a template literal with ${…}; and at a
# comment that may be a source map's (//# and /*#), to have it at hand at the end. Between
# two stops, code, strings, comments and templates without ${…} are one match of _CODE, one run
# of the regex engine in C; the literals of such a run are found again (by _RUN_TOKEN, from the
# run's first literal on: code outside literals holds no quote, backtick or "/") only when a
# question is asked about a position in it, which most runs never get. Each token branch starts
# with the character that opens it (checked by a lookbehind).
_STRING_REST = r"[^{q}\\\n\r]*(?:\\(?:\r\n|[\s\S])[^{q}\\\n\r]*)*(?:{q}|(?=[\n\r])|\Z)"
_TEMPLATE_REST = r"[^`\\$]*(?:(?:\\[\s\S]|\$(?!\{))[^`\\$]*)*(?P<close>`|\$\{|\Z)"
_LINE_COMMENT_REST = r"[^\n\r\u2028\u2029]*"
_BLOCK_COMMENT_REST = r"[^*]*(?:\*+[^*/][^*]*)*(?:\*+/|\**\Z)"
_RUN_TOKEN_BRANCHES = rf"""
      (?<=")(?:{_STRING_REST.format(q='"')})
    | (?<=')(?:{_STRING_REST.format(q="'")})
    | (?<=`)(?:[^`\\$]*(?:(?:\\[\s\S]|\$(?!\{{))[^`\\$]*)*`)
    | (?<=/)/(?![#@]){_LINE_COMMENT_REST}
    | (?<=/)\*(?![#@]){_BLOCK_COMMENT_REST}
"""
_RUN_TOKEN = re.compile(rf"""[/"'`](?:{_RUN_TOKEN_BRANCHES})""", re.VERBOSE)
_CODE = re.compile(
    rf"""[^/"'`]*(?P<run>(?:[/"'`](?:{_RUN_TOKEN_BRANCHES})[^/"'`]*)+)?
    (?:[/`](?:
          (?<=`)(?P<template>{_TEMPLATE_REST})
        | (?<=/)/(?P<line>[#@]{_LINE_COMMENT_REST})
        | (?<=/)\*(?P<block>[#@]{_BLOCK_COMMENT_REST})
        | (?<=/)(?P<slash>))
    | (?P<end>\Z))""",
    re.VERBOSE,
)
# Inside a template's ${…}: each token, and braces, to find the "}" that resumes the template.
_SUBSTITUTION = re.compile(
    rf"""[/"'`{{}}](?:
      (?<=/)/(?P<line>{_LINE_COMMENT_REST})
    | (?<=/)\*(?P<block>{_BLOCK_COMMENT_REST})
    | (?<=")(?P<dq>{_STRING_REST.format(q='"')})
    | (?<=')(?P<sq>{_STRING_REST.format(q="'")})
    | (?<=`)(?P<template>{_TEMPLATE_REST})
    | (?<=/)(?P<slash>)
    | (?<={{)(?P<open>)
    | (?<=}})(?P<shut>))""",
    re.VERBOSE,
)
# A source map comment, found in the whole text and then checked to be a comment.
_SOURCE_MAP_COMMENT = re.compile(r"/[/*][#@][ \t]*sourceMappingURL=")
_LINE_TERMINATORS = "\n\r\u2028\u2029"
_ENDS_OR_OPENS_A_LITERAL = re.compile(r"[/\"'`\n\r\u2028\u2029$]")
_TEMPLATE_MORE = re.compile(_TEMPLATE_REST)
_REGEX_CHAR = r"[^\\/\[\n\r\u2028\u2029]|\\[^\n\r\u2028\u2029]"
_REGEX_REST = re.compile(
    rf"(?:{_REGEX_CHAR}|\[(?:[^\]\\\n\r\u2028\u2029]|\\[^\n\r\u2028\u2029])*\])+/[\w$]*"
)
_SOURCE_MAP = re.compile(r"[#@][ \t]*sourceMappingURL=[ \t]*(\S+?)(?=\s|\*/|\Z)")

_WHITESPACE = frozenset(
    " \t\n\r\v\f\u00a0\ufeff\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(map(chr, range(0x2000, 0x200B)))
)
# After these words an expression starts, so a "/" begins a regular expression.
_KEYWORDS_BEFORE_EXPRESSION = frozenset(
    [
        "return",
        "typeof",
        "instanceof",
        "in",
        "of",
        "new",
        "delete",
        "void",
        "throw",
        "case",
        "do",
        "else",
        "yield",
        "await",
        "default",
        "extends",
    ]
)
_CONTROL_KEYWORDS = frozenset(("if", "while", "for", "with"))

# The statements and expressions that hold a reference, matched where a keyword starts in code.
# Whitespace may hold comments: ``import(/* webpackChunkName: "x" */ "./x.js")``.
_S = r"(?:\s|/\*[^*]*(?:\*+[^*/][^*]*)*\*+/|//[^\n\r]*)"
_NAME = r"(?:[\w$]|\\u[0-9a-fA-F{])+"  # identifiers may hold escapes; non-ASCII is \w
_MODULE_NAME = rf"(?:{_NAME}|\"[^\"\\\n\r]*\"|'[^'\\\n\r]*')"
_STRING = (
    r"(?:\"(?P<dq>[^\"\\\n\r]*(?:\\(?:\r\n|[\s\S])[^\"\\\n\r]*)*)\""
    r"|'(?P<sq>[^'\\\n\r]*(?:\\(?:\r\n|[\s\S])[^'\\\n\r]*)*)'"
    r"|`(?P<bt>[^`\\$]*(?:(?:\\[\s\S]|\$(?!\{))[^`\\$]*)*)`)"
)
_QUOTED = _STRING.split("|`")[0] + ")"  # declarations take no template literal
_DYNAMIC_IMPORT = re.compile(rf"import{_S}*\({_S}*{_STRING}{_S}*[,)]")
_IMPORT_META_RESOLVE = re.compile(
    rf"import{_S}*\.{_S}*meta{_S}*\.{_S}*resolve{_S}*\({_S}*{_STRING}{_S}*\)"
)
_SIDE_EFFECT_IMPORT = re.compile(rf"import{_S}*{_QUOTED}")
_STATIC_IMPORT = re.compile(
    rf"""import{_S}*(?:(?:defer|source){_S}+)?
    (?:{_NAME}{_S}*(?:,{_S}*)?)?
    (?:\*{_S}*as{_S}+{_NAME}{_S}*|\{{[^}}]*\}}{_S}*)?
    (?<![\w$])from{_S}*{_QUOTED}""",
    re.VERBOSE,
)
_EXPORT = re.compile(
    rf"""export{_S}*
    (?:\*{_S}*(?:as{_S}*{_MODULE_NAME}{_S}*)?|\{{[^}}]*\}}{_S}*)
    (?<![\w$])from{_S}*{_QUOTED}""",
    re.VERBOSE,
)
_NEW_URL = re.compile(
    rf"""URL{_S}*\({_S}*{_STRING}{_S}*,{_S}*
    import{_S}*\.{_S}*meta{_S}*\.{_S}*url(?![\w$]){_S}*[,)]""",
    re.VERBOSE,
)
SPECIFIER_KINDS: frozenset[Kind] = frozenset(("module", "dynamic-import", "import-meta-resolve"))
"""The kinds whose URL is a module specifier: resolved as browsers resolve imports."""
_HASHBANG = re.compile(r"#![^\n\r\u2028\u2029]*")
_NEW_BEFORE = re.compile(r"(?<![\w$.])new\s+\Z")

_JS_ESCAPE = re.compile(
    r"\\(?:u\{([0-9a-fA-F]+)\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})"
    r"|(\r\n|[\n\r\u2028\u2029])|([\s\S]))"
)
_SINGLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def is_bare_specifier(specifier: str) -> bool:
    """Whether a module specifier is bare (``lit``, ``vue/x.js``): for an import map, no file.

    As browsers resolve specifiers: ``/``, ``./`` and ``../`` start relative ones, and a URL
    with a scheme is absolute; anything else is bare.
    """
    return not specifier.startswith(("/", "./", "../")) and ":" not in specifier.split("/")[0]


def _decode(raw: str) -> str:
    """The value of a JavaScript string literal's body."""
    if "\\" not in raw:
        return raw

    def replace(m: re.Match[str]) -> str:
        braced, four, two, newline, char = m.groups()
        if newline is not None:  # a line continuation
            return ""
        if char is not None:
            return _SINGLE_ESCAPES.get(char, char)
        code = int(braced or four or two, 16)
        return chr(code) if code <= 0x10FFFF else "\ufffd"

    value = _JS_ESCAPE.sub(replace, raw)
    if _SURROGATE_PAIR.search(value):
        value = _SURROGATE_PAIR.sub(
            lambda m: m[0].encode("utf-16-le", "surrogatepass").decode("utf-16-le"), value
        )
    return value


class _Lexed:
    """Where the comments, strings, template literals and regular expressions of a text are.

    What the lexer stopped at is listed as it was found (template pieces around ``${…}``,
    regular expressions, and every literal inside ``${…}``); the literals between two stops
    only as the run of code that holds them, and found within a run the first time a question
    is asked about a position in it.
    """

    __slots__ = (
        "_runs",
        "comments",
        "ends",
        "parens",
        "run_ends",
        "run_starts",
        "starts",
        "text",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.comments: dict[int, int] = {}
        """End -> start of each comment listed in ``starts``."""
        self.parens: dict[int, int] = {}
        """``)`` -> its ``(``, for the ones matched already: nested groups are crossed once."""
        self.run_starts: list[int] = []
        """Start (its first literal) and end of each run of code that holds literals."""
        self.run_ends: list[int] = []
        self._runs: dict[int, tuple[Sequence[int], Sequence[int]]] = {}

    def _run(self, k: int) -> tuple[Sequence[int], Sequence[int]]:
        """The starts and ends of the literals of run ``k``."""
        found = self._runs.get(k)
        if found is None:
            spans = [
                m.span()
                for m in _RUN_TOKEN.finditer(self.text, self.run_starts[k], self.run_ends[k])
            ]
            found = self._runs[k] = ([s for s, _ in spans], [e for _, e in spans])
        return found

    def _run_at(self, position: int) -> int:
        k = bisect_right(self.run_starts, position) - 1
        return k if k >= 0 and self.run_ends[k] > position else -1

    def literal_at(self, position: int) -> tuple[int, int] | None:
        """(start, end) of the comment, string, template piece or regex holding ``position``.

        :return: ``None`` when ``position`` is in code.
        """
        k = bisect_right(self.starts, position) - 1
        if k >= 0 and self.ends[k] > position:
            return self.starts[k], self.ends[k]
        k = self._run_at(position)
        if k < 0:
            return None
        starts, ends = self._run(k)
        i = bisect_right(starts, position) - 1
        return (starts[i], ends[i]) if i >= 0 and ends[i] > position else None

    def in_code(self, position: int) -> bool:
        """Whether ``position`` is in code: in no comment, string, template text or regex."""
        return self.literal_at(position) is None

    def comment_ending_at(self, end: int) -> int:
        """The start of the comment that ends at ``end``; -1 if none does."""
        start = self.comments.get(end)
        if start is not None:
            return start
        text = self.text
        # A block comment ends with "*/", a line comment before a line terminator or the end.
        if not (
            text.startswith("*/", end - 2) or end == len(text) or text[end] in _LINE_TERMINATORS
        ):
            return -1
        k = self._run_at(end - 1)
        if k < 0:
            return -1
        starts, ends = self._run(k)
        i = bisect_left(ends, end)
        # In a run, the literals that start with "/" are its comments.
        if i < len(ends) and ends[i] == end and text[starts[i]] == "/":
            return starts[i]
        return -1

    def literals(self) -> list[tuple[int, int]]:
        """(start, end) of every comment, string, template piece and regex, in order."""
        spans = list(zip(self.starts, self.ends, strict=True))
        for k in range(len(self.run_starts)):
            spans.extend(zip(*self._run(k), strict=True))
        return sorted(spans)

    def comment_spans(self) -> set[tuple[int, int]]:
        """(start, end) of every comment."""
        spans = {(start, end) for end, start in self.comments.items()}
        for k in range(len(self.run_starts)):
            starts, ends = self._run(k)
            spans.update((s, e) for s, e in zip(starts, ends, strict=True) if self.text[s] == "/")
        return spans

    def source_maps(self, positions: list[int]) -> list[tuple[int, int, str, Kind, str]]:
        """The source map comments of those that start at ``positions``: (start, end, url, …)."""
        found: list[tuple[int, int, str, Kind, str]] = []
        for position in positions:
            literal = self.literal_at(position)
            if literal is None or literal[0] != position:  # in a literal, or "a//#" in code
                continue
            url = _SOURCE_MAP.match(self.text, position + 2, literal[1])
            if url is not None:
                found.append((url.start(1), url.end(1), url[1], "sourcemap", ""))
        return found


def _lex(text: str, stop: int | None = None) -> _Lexed:
    """Find every comment, string, template literal and regular expression of ``text``.

    :param stop: lex only as far as needed to know about every position up to this one.
    """
    lexed = _Lexed(text)
    starts, ends, comments = lexed.starts, lexed.ends, lexed.comments
    run_starts, run_ends = lexed.run_starts, lexed.run_ends
    pos = 0
    hashbang = _HASHBANG.match(text)
    if hashbang is not None:  # a hashbang line is a comment
        pos = hashbang.end()
        starts.append(0)
        ends.append(pos)
        comments[pos] = 0
    value_end = -1  # end of the last listed literal; a run's always end in a quote or backtick
    braces: list[int] = []  # open ${…} substitutions: the depth of "{" inside each
    match = _CODE.match
    if stop is None:
        stop = len(text)
    while pos <= stop:
        if braces:
            m = _SUBSTITUTION.search(text, pos)
            if m is None:
                break
        else:
            m = match(text, pos)
            assert m is not None  # the last branch matches at the end of the text
            run = m.start("run")
            if run >= 0:
                run_starts.append(run)
                run_ends.append(m.end("run"))
        group = m.lastgroup
        if group == "end":
            break
        assert group is not None
        start = m.start(group) - 1  # where the token's first character is
        pos = m.end()
        if group == "slash":
            if not _regex_allowed(text, start, value_end, lexed):
                continue
            regex = _REGEX_REST.match(text, pos)
            if regex is None:  # no closing "/" on the line: a syntax error; read a division
                continue
            pos = regex.end()
            starts.append(start)
            ends.append(pos)
            value_end = pos
        elif group == "template":
            starts.append(start)
            ends.append(pos)
            if m["close"] == "${":
                braces.append(0)
            else:
                value_end = pos
        elif group == "dq" or group == "sq":
            starts.append(start)
            ends.append(pos)
            value_end = pos
        elif group == "line" or group == "block":
            start -= 1  # the token is two characters: "//" or "/*"
            starts.append(start)
            ends.append(pos)
            comments[pos] = start
        elif group == "open":
            braces[-1] += 1
        elif group == "shut":
            if braces[-1]:
                braces[-1] -= 1
                continue
            more = _TEMPLATE_MORE.match(text, pos)
            assert more is not None  # the pattern matches the empty string
            pos = more.end()
            starts.append(start)
            ends.append(pos)
            if more["close"] != "${":
                braces.pop()
                value_end = pos
    return lexed


def _regex_allowed(text: str, slash: int, value_end: int, lexed: _Lexed) -> bool:
    """Whether the ``/`` at ``slash`` (in code, not starting a comment) starts a regex."""
    j = _previous_token_end(text, slash, lexed) - 1
    if j < 0:
        return True
    if j + 1 == value_end:
        return False
    char = text[j]
    if char == ")":
        opening = _matching_paren(text, j, lexed)
        if opening < 0:
            return False
        return _word_before(text, opening, lexed) in _CONTROL_KEYWORDS
    if char == "]" or char in "\"'`":
        return False
    if char == "}":
        return True
    if char in "+-":
        return j == 0 or text[j - 1] != char  # after ++ or --: a division
    if char == "." and j and text[j - 1].isdigit():  # ``1./2``
        return False
    if _is_name_char(char):
        word = _word_ending_at(text, j)
        if word not in _KEYWORDS_BEFORE_EXPRESSION:
            return False
        before = _previous_token_end(text, j + 1 - len(word), lexed) - 1
        return before < 0 or text[before] != "."  # ``a.return / 2`` is a property
    return True


def _is_name_char(char: str) -> bool:
    """Whether ``char`` (one character, or ``""`` for none) may be part of a name."""
    if not char:
        return False
    return char.isalnum() or char in "_$\\" or (char > "\x7f" and ("a" + char).isidentifier())


def _word_ending_at(text: str, j: int) -> str:
    i = j
    while i >= 0 and _is_name_char(text[i]):
        i -= 1
    return text[i + 1 : j + 1]


def _previous_token_end(text: str, position: int, lexed: _Lexed) -> int:
    """The end of the token before ``position``: whitespace and comments skipped."""
    j = position
    while True:
        while j > 0 and text[j - 1] in _WHITESPACE:
            j -= 1
        start = lexed.comment_ending_at(j)
        if start < 0:
            return j
        j = start


def _word_before(text: str, position: int, lexed: _Lexed) -> str:
    j = _previous_token_end(text, position, lexed) - 1
    if j < 0 or not _is_name_char(text[j]):
        return ""
    word = _word_ending_at(text, j)
    before = _previous_token_end(text, j + 1 - len(word), lexed) - 1
    return "" if before >= 0 and text[before] == "." else word


def _matching_paren(text: str, close: int, lexed: _Lexed) -> int:
    """The position of the ``(`` that the ``)`` at ``close`` closes; -1 if there is none."""
    opening = text.rfind("(", 0, close)
    closing = text.rfind(")", 0, close)
    if closing < opening and _ENDS_OR_OPENS_A_LITERAL.search(text, opening + 1, close) is None:
        # "(a + b)": nothing in between can start a literal, or end one that would hold the
        # "(" (a literal cannot start with "(", and the ")" is in code), so the innermost
        # group is the match and no literal needs to be found.
        lexed.parens[close] = opening
        return opening
    depth = 0
    while opening >= 0:
        at = max(opening, closing)
        literal = lexed.literal_at(at)
        if literal is not None:  # in a string, comment or regex: skip the literal
            limit = literal[0]
            if opening >= limit:
                opening = text.rfind("(", 0, limit)
            if closing >= limit:
                closing = text.rfind(")", 0, limit)
            continue
        if at == closing:
            known = lexed.parens.get(at, -1)
            if known >= 0:  # a group matched before: jump over it
                closing = text.rfind(")", 0, known)
                if opening >= known:
                    opening = text.rfind("(", 0, known)
                continue
            depth += 1
            closing = text.rfind(")", 0, at)
        else:
            if depth == 0:
                lexed.parens[close] = at
                return at
            depth -= 1
            opening = text.rfind("(", 0, at)
    return -1


def _line_of(text: str, start: int, counted: tuple[int, int]) -> tuple[int, int]:
    line, position = counted
    return line + text.count("\n", position, start), start


def find_js_references(text: str) -> list[Reference]:
    """Find the module specifiers, ``new URL(…, import.meta.url)`` and source map comments.

    Bare module specifiers are left out (see :func:`is_bare_specifier`); so are URLs built at
    run time.

    :param text: the script or module.
    :return: the references in order of appearance.
    """
    if "import" not in text and "export" not in text and "sourceMappingURL" not in text:
        return []
    # What would be a reference if it were in code, found with patterns alone; the text is
    # lexed only when there is such a thing, and only as far as the last one.
    candidates: list[tuple[int, tuple[int, int, str, Kind, str]]] = []
    for word, handler in (("import", _at_import), ("export", _at_export), ("URL", _at_new_url)):
        position = text.find(word)
        while position >= 0:
            if (
                (position == 0 or not _is_name_char(text[position - 1]))
                and not _is_name_char(text[position + len(word) : position + len(word) + 1])
                and (found := handler(text, position)) is not None
                and not (found[3] in SPECIFIER_KINDS and is_bare_specifier(found[2]))
            ):
                candidates.append((position, found))
            position = text.find(word, position + len(word))
    comments = [m.start() for m in _SOURCE_MAP_COMMENT.finditer(text)]
    if not candidates and not comments:
        return []
    lexed = _lex(text, max([position for position, _ in candidates] + comments))
    raw = lexed.source_maps(comments)
    raw.extend(
        found
        for position, found in candidates
        if lexed.in_code(position) and _word_before_is_not_a_dot(text, position, lexed)
    )
    raw.sort()
    references: list[Reference] = []
    counted = (1, 0)
    for start, end, url, kind, quote in raw:
        if kind in SPECIFIER_KINDS and is_bare_specifier(url):
            continue
        counted = _line_of(text, start, counted)
        references.append(Reference(start, end, url, counted[0], kind, quote))
    return references


def _word_before_is_not_a_dot(text: str, position: int, lexed: _Lexed) -> bool:
    # ``a.import(x)`` and ``a?.export`` are properties; ``...import.meta`` is not.
    j = _previous_token_end(text, position, lexed) - 1
    return j < 0 or text[j] != "." or text[max(0, j - 2) : j + 1] == "..."


def _string_of(m: re.Match[str]) -> tuple[int, int, str, str]:
    for group, quote in (("dq", '"'), ("sq", "'"), ("bt", "`")):
        body = m[group]
        if body is not None:
            start, end = m.span(group)
            if quote == "`":
                body = body.replace("\r\n", "\n").replace("\r", "\n")
            return start, end, _decode(body), quote
    raise AssertionError("a string group always matches")  # pragma: no cover


def _at_import(text: str, position: int) -> tuple[int, int, str, Kind, str] | None:
    kind: Kind = "module"
    m = _STATIC_IMPORT.match(text, position) or _SIDE_EFFECT_IMPORT.match(text, position)
    if m is None:
        m = _DYNAMIC_IMPORT.match(text, position)
        kind = "dynamic-import"
    if m is None:
        m = _IMPORT_META_RESOLVE.match(text, position)
        kind = "import-meta-resolve"
    if m is None:
        return None
    start, end, url, quote = _string_of(m)
    return start, end, url, kind, quote


def _at_export(text: str, position: int) -> tuple[int, int, str, Kind, str] | None:
    m = _EXPORT.match(text, position)
    if m is None:
        return None
    start, end, url, quote = _string_of(m)
    return start, end, url, "module", quote


def _at_new_url(text: str, position: int) -> tuple[int, int, str, Kind, str] | None:
    if _NEW_BEFORE.search(text, max(0, position - 16), position) is None:
        return None
    m = _NEW_URL.match(text, position)
    if m is None:
        return None
    start, end, url, quote = _string_of(m)
    return start, end, url, "new-url", quote
