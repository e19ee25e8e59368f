"""Tests for hashstore.references_js: every form and trap, and tree-sitter-javascript as an oracle.

The oracle is a real JavaScript parser, used only here: its syntax tree gives the references
(import and export declarations, ``import()`` calls, ``new URL(…, import.meta.url)``, source map
comments) and every string, template literal, comment and regular expression, which must be
exactly where the scanner found them. It runs over the fixtures, over the ES modules of lit,
lit-html, @lit/reactive-element, preact and vue (fetched pinned by ``bench/thirdparty.py``) and
over generated programs built from the constructs that trip scanners.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from hashstore.references import Reference, find_js_references, format_url
from hashstore.references_js import SPECIFIER_KINDS, _lex, is_bare_specifier

from . import frontend_fixtures
from .helpers import load_bench_script

tree_sitter = pytest.importorskip("tree_sitter")
tree_sitter_javascript = pytest.importorskip("tree_sitter_javascript")

FIXTURES = Path(__file__).parent / "fixtures" / "references"
thirdparty = load_bench_script("thirdparty")
PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_javascript.language()))
assert PARSER.language is not None

# (written, url, line, kind, quote): written is text[start:end], the URL as it stands in the file.
Expected = tuple[str, str, int, str, str]


def _found(text: str) -> list[Any]:
    return [
        (text[r.start : r.end], r.url, r.line, r.kind, r.quote) for r in find_js_references(text)
    ]


_DATA_MAP = "data:application/json;base64,e30="
JS_CASES: list[tuple[str, str, list[Expected]]] = [
    # source map comments (ECMA-426): both comment forms, anywhere a comment is
    (
        "map-alone",
        "//# sourceMappingURL=app.js.map",
        [("app.js.map", "app.js.map", 1, "sourcemap", "")],
    ),
    (
        "map-after-code",
        "var a=1;\n//# sourceMappingURL=app.js.map\n",
        [("app.js.map", "app.js.map", 2, "sourcemap", "")],
    ),
    ("map-old-form", "//@ sourceMappingURL=o.map", [("o.map", "o.map", 1, "sourcemap", "")]),
    (
        "map-indented",
        "f();\n  \t//# sourceMappingURL=x.map",
        [("x.map", "x.map", 2, "sourcemap", "")],
    ),
    ("map-crlf", "a()\r\n//# sourceMappingURL=x.map\r\n", [("x.map", "x.map", 2, "sourcemap", "")]),
    ("map-mid-line", "x(); //# sourceMappingURL=m.map\n", [("m.map", "m.map", 1, "sourcemap", "")]),
    (
        "map-block",
        "x();\n/*# sourceMappingURL=b.js.map */",
        [("b.js.map", "b.js.map", 2, "sourcemap", "")],
    ),
    (
        "map-block-tight",
        "x();/*# sourceMappingURL=b.map*/",
        [("b.map", "b.map", 1, "sourcemap", "")],
    ),
    ("map-in-string", 'var s = "//# sourceMappingURL=no.map";\n', []),
    ("map-in-template", "var s = `\n//# sourceMappingURL=no.map\n`;\n", []),
    ("map-in-regex", "var r = /\\/\\/# sourceMappingURL=no.map/;\n", []),
    ("map-not-first-in-comment", "// see //# sourceMappingURL=no.map\n", []),
    ("map-empty", "//# sourceMappingURL=\n", []),
    (
        "map-every-one",
        "//# sourceMappingURL=a.map\nb()\n//# sourceMappingURL=c.map",
        [("a.map", "a.map", 1, "sourcemap", ""), ("c.map", "c.map", 3, "sourcemap", "")],
    ),
    (
        "map-inline-data",
        "//# sourceMappingURL=" + _DATA_MAP,
        [(_DATA_MAP, _DATA_MAP, 1, "sourcemap", "")],
    ),
    # module specifiers
    ("import-default", 'import a from "./a.js";', [("./a.js", "./a.js", 1, "module", '"')]),
    (
        "import-named",
        "import {a, b as c} from '../b.js'",
        [("../b.js", "../b.js", 1, "module", "'")],
    ),
    ("import-namespace", 'import * as n from "./n.js"', [("./n.js", "./n.js", 1, "module", '"')]),
    (
        "import-default-and-named",
        'import d, {e} from"./d.js"',
        [("./d.js", "./d.js", 1, "module", '"')],
    ),
    ("import-side-effect", 'import"./s.js";', [("./s.js", "./s.js", 1, "module", '"')]),
    (
        "import-with-attributes",
        'import j from "./j.json" with { type: "json" };',
        [("./j.json", "./j.json", 1, "module", '"')],
    ),
    (
        "import-over-lines-and-comments",
        "import {\n  a, // first\n  b /* second */\n} from\n  './m.js';",
        [("./m.js", "./m.js", 5, "module", "'")],
    ),
    ("import-named-from", 'import from from "./f.js"', [("./f.js", "./f.js", 1, "module", '"')]),
    (
        "import-string-names",
        "import {'a-b' as ab} from './q.js'",
        [("./q.js", "./q.js", 1, "module", "'")],
    ),
    (
        "import-root-relative",
        'import "/static/r.js"',
        [("/static/r.js", "/static/r.js", 1, "module", '"')],
    ),
    (
        "import-url",
        'import "https://cdn.example.com/x.js"',
        [("https://cdn.example.com/x.js", "https://cdn.example.com/x.js", 1, "module", '"')],
    ),
    ("import-bare", 'import {html} from "lit"; import "vue/dist/x.js"; import "x.js"', []),
    ("export-star", 'export * from "./e.js"', [("./e.js", "./e.js", 1, "module", '"')]),
    ("export-star-as", 'export * as ns from "./e.js"', [("./e.js", "./e.js", 1, "module", '"')]),
    ("export-named", "export {a, b as c} from './e.js'", [("./e.js", "./e.js", 1, "module", "'")]),
    ("export-local", "export {a, b}; export const c = 1; export default d;", []),
    ("dynamic", 'import("./d.js").then(f)', [("./d.js", "./d.js", 1, "dynamic-import", '"')]),
    ("dynamic-template", "import(`./t.js`)", [("./t.js", "./t.js", 1, "dynamic-import", "`")]),
    (
        "dynamic-options-and-comment",
        "import(/* webpackChunkName: 'x' */ './x.js', {with: {}})",
        [("./x.js", "./x.js", 1, "dynamic-import", "'")],
    ),
    ("dynamic-computed", "import(name); import(`./${n}.js`); import('./' + n)", []),
    (
        "import-meta-resolve",
        'const w = import.meta.resolve("./worker.js"); import.meta.resolve("lit")',
        [("./worker.js", "./worker.js", 1, "import-meta-resolve", '"')],
    ),
    ("import-meta-resolve-computed", "import.meta.resolve(name); import.meta.url", []),
    (
        "new-url",
        'new URL("./img/a.png", import.meta.url)',
        [("./img/a.png", "./img/a.png", 1, "new-url", '"')],
    ),
    (
        "new-url-unprefixed",
        "const u = new URL('a b.png', import.meta.url).href",
        [("a b.png", "a b.png", 1, "new-url", "'")],
    ),
    (
        "new-url-other-base",
        'new URL("./a.png", location.href); URL("./b.png", import.meta.url)',
        [],
    ),
    (
        "escapes",
        'import "./\\x61\\u{62}\\u0063.js"',
        [("./\\x61\\u{62}\\u0063.js", "./abc.js", 1, "module", '"')],
    ),
    # traps: never a reference
    ("in-string", "s = 'import a from \"./no.js\"'; t = \"export * from './no.js'\";", []),
    ("in-comment", '// import "./no.js"\n/* import("./no.js") */', []),
    ("in-template", 'x = `import "./no.js" ${a} import("./no.js")`', []),
    (
        "template-nested",
        'x = `${ `${ {a: `${"}"}`}["a"] }` } import("./no.js")`; import("./yes.js")',
        [("./yes.js", "./yes.js", 1, "dynamic-import", '"')],
    ),
    ("in-regex", 'r = /import "\\.\\/no.js"/g; s = /[/"]import("x")/;', []),
    (
        "regex-class-slash",
        'r = /[/]/; import("./yes.js")',
        [("./yes.js", "./yes.js", 1, "dynamic-import", '"')],
    ),
    (
        "division-not-regex",
        'x = a / 2; import("./yes.js"); y = b / 3',
        [("./yes.js", "./yes.js", 1, "dynamic-import", '"')],
    ),
    (
        "division-after-paren",
        'x = (a + b) / 2; import("./yes.js") / 1',
        [("./yes.js", "./yes.js", 1, "dynamic-import", '"')],
    ),
    (
        "division-after-regex",
        "x = /a/ / 2 / 3; import('./yes.js') / 2 /* '*/",
        [("./yes.js", "./yes.js", 1, "dynamic-import", "'")],
    ),
    ("regex-after-if", 'if (a) /import("\\.\\/no")/.test(b)', []),
    ("regex-after-return", 'function f() { return /import("x")/ }', []),
    ("regex-after-brace", '{}\n/import("x")/.test(b)', []),
    (
        "division-after-property-keyword",
        'x = a.return / 2; import("./yes.js") / 3',
        [("./yes.js", "./yes.js", 1, "dynamic-import", '"')],
    ),
    ("longer-words", 'importx from "./no.js"; exported * from "./no.js"; myimport("./no.js")', []),
    ("property-not-import", 'a.import("./no.js"); b?.import("./no.js")', []),
    ("object-keys", 'o = {import: "./no.js", export: "./no.js"}', []),
    ("hashbang", '#!/usr/bin/env node\nimport "./h.js"', [("./h.js", "./h.js", 2, "module", '"')]),
    ("none", "console.log('url(x.png)')", []),
]


@pytest.mark.parametrize(
    ("js", "expected"), [c[1:] for c in JS_CASES], ids=[c[0] for c in JS_CASES]
)
def test_js_references(js: str, expected: list[Expected]) -> None:
    assert _found(js) == expected


@pytest.mark.parametrize(
    "js",
    [
        "x = " + "(" * 20_000 + "a" + ")/1" * 20_000,  # each ")/" looks back for its "("
        "x = " + "((a)/1)" * 20_000,
        "`${" * 20_000 + "a" + "}`" * 20_000,
        ("a" + " " * 100 + "/ 2;") * 20_000,
        "a /* c */ /* d */ / 2;" * 20_000,
        "x=/a/;" * 50_000,
        "'a';" * 100_000,
        "/*" + "*" * 100_000 + "*/",
        'x = "' + "\\" * 100_000,
        "x = /[" + "\\]" * 50_000,
        "'import \"./no.js\"';\n" * 20_000,
        "x = `a${b}c`;" * 20_000,
        "/* import './no.js' */ 'a' // x\n" * 20_000,
        "a // c\n/ 2;\n" * 20_000,
    ],
    ids=[
        "nested-divisions",
        "grouped-divisions",
        "nested-templates",
        "spaces-before-slash",
        "comments-before-slash",
        "regexes",
        "strings",
        "stars",
        "backslashes-in-string",
        "unclosed-regex-class",
        "imports-in-strings",
        "templates-with-substitutions",
        "comments-in-code",
        "divisions-after-line-comments",
    ],
)
def test_linear_time_on_adversarial_input(js: str) -> None:
    # Each takes well under a second; a quadratic step would not finish before the timeout.
    assert find_js_references(js + '\nimport "./end.js"')[-1].url == "./end.js"


@pytest.mark.parametrize(
    ("specifier", "bare"),
    [
        ("./a.js", False),
        ("../a.js", False),
        ("/a.js", False),
        ("https://cdn.example.com/a.js", False),
        ("data:text/javascript,export default 1", False),
        ("lit", True),
        ("lit/decorators.js", True),
        ("@lit/reactive-element", True),
        ("a.js", True),
        (".a.js", True),
        ("", True),
    ],
)
def test_bare_specifiers(specifier: str, bare: bool) -> None:
    assert is_bare_specifier(specifier) is bare


@pytest.mark.parametrize(
    ("url", "quote", "written"),
    [
        ("./a.1f2e.js", '"', "./a.1f2e.js"),
        ("./it's.js", "'", "./it\\'s.js"),
        ('./a"b.js', '"', './a\\"b.js'),
        ("./a\\b\nc.js", '"', "./a\\\\b\\nc.js"),
        ("./${x}`.js", "`", "./\\${x}\\`.js"),
    ],
)
def test_format_url_in_javascript(url: str, quote: str, written: str) -> None:
    assert format_url(url, quote, kind="module") == written


@settings(max_examples=200, deadline=None)
@given(url=st.text().map(lambda u: "./" + u), quote=st.sampled_from(['"', "'", "`"]))
@example(url="./a\\b'c\"d`e${f}\n\r\u2028.js", quote="`")
def test_format_url_round_trips_through_the_scanner(url: str, quote: str) -> None:
    js = f"import({quote}{format_url(url, quote, kind='dynamic-import')}{quote})"
    [ref] = find_js_references(js)
    assert (ref.url, ref.quote, ref.kind) == (url, quote, "dynamic-import")


# --- tree-sitter-javascript as the oracle ------------------------------------------------------

_ORACLE_SOURCE_MAP = re.compile(r"(?://|/\*)[#@][ \t]*sourceMappingURL=[ \t]*(\S+?)(?=\s|\*/|\Z)")
_ORACLE_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|[\s\S])")


class _Source:
    """A text and its UTF-8 bytes, with tree-sitter's byte offsets turned into characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = text.encode("utf-8", "surrogateescape")
        # For each character of more than one byte: the byte offset just after it, and how many
        # bytes more than characters the text holds up to there.
        self._after: list[int] = []
        self._extra: list[int] = []
        extra = 0
        for m in re.finditer(r"[^\x00-\x7f]", text):
            width = len(m[0].encode("utf-8", "surrogateescape"))
            if width > 1:
                extra += width - 1
                self._after.append(m.end() + extra)
                self._extra.append(extra)

    def at(self, byte: int) -> int:
        k = bisect_right(self._after, byte)
        return byte - (self._extra[k - 1] if k else 0)

    def span(self, node: Any) -> tuple[int, int]:
        return self.at(node.start_byte), self.at(node.end_byte)


_INTERESTING = [
    "string",
    "template_string",
    "regex",
    "comment",
    "hash_bang_line",
    "import_statement",
    "export_statement",
    "call_expression",
    "new_expression",
]
_QUERY = tree_sitter.Query(PARSER.language, f"[{' '.join(f'({t})' for t in _INTERESTING)}] @node")


def _nodes(root: Any) -> list[Any]:
    """The nodes the oracle looks at, found by a tree-sitter query (in C: files are large)."""
    nodes: list[Any] = tree_sitter.QueryCursor(_QUERY).captures(root).get("node", [])
    return nodes


def _string_value(source: _Source, node: Any) -> str | None:
    """The value of a string or substitution-free template literal node; ``None`` for others."""
    if node.type == "template_string":
        if any(c.type == "template_substitution" for c in node.children):
            return None
    elif node.type != "string":
        return None
    start, end = source.span(node)
    body = source.text[start + 1 : end - 1]

    def decode(m: re.Match[str]) -> str:
        escape = m[1]
        if escape[0] in "ux" and len(escape) > 1:
            return chr(int(escape[1:].strip("{}"), 16))
        if escape in ("\n", "\r\n", "\r", "\u2028", "\u2029"):
            return ""
        return {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}.get(
            escape, escape
        )

    if node.type == "template_string":
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    return _ORACLE_ESCAPE.sub(decode, body)


def _reference(source: _Source, node: Any, kind: str) -> tuple[str, str, str, str] | None:
    url = _string_value(source, node)
    if url is None:
        return None
    if kind in SPECIFIER_KINDS and is_bare_specifier(url):
        return None
    start, end = source.span(node)
    return (kind, url, source.text[start + 1 : end - 1], source.text[start])


def _oracle(source: _Source, root: Any) -> list[tuple[str, str, str, str]]:
    """(kind, url, written, quote) of every reference in the syntax tree, in order."""
    found: list[tuple[int, tuple[str, str, str, str]]] = []
    for node in _nodes(root):
        ref = None
        if node.type in ("import_statement", "export_statement"):
            specifier = node.child_by_field_name("source")
            if specifier is not None:
                ref = _reference(source, specifier, "module")
        elif node.type == "call_expression":
            function, arguments = (
                node.child_by_field_name("function"),
                node.child_by_field_name("arguments"),
            )
            args = [c for c in arguments.named_children if c.type != "comment"]
            if function.type == "import" and args:
                ref = _reference(source, args[0], "dynamic-import")
            elif (
                function.type == "member_expression"
                and function.child_by_field_name("object").type == "meta_property"
                and function.child_by_field_name("property").text == b"resolve"
                and len(args) == 1
            ):
                ref = _reference(source, args[0], "import-meta-resolve")
        elif node.type == "new_expression":
            constructor = node.child_by_field_name("constructor")
            arguments = node.child_by_field_name("arguments")
            args = [c for c in arguments.named_children if c.type != "comment"] if arguments else []
            base = args[1] if len(args) >= 2 else None
            if (
                constructor.type == "identifier"
                and constructor.text == b"URL"
                and base is not None
                and base.type == "member_expression"
                and base.child_by_field_name("object").type == "meta_property"
                and base.child_by_field_name("property").text == b"url"
            ):
                ref = _reference(source, args[0], "new-url")
        elif node.type == "comment":
            start, end = source.span(node)
            comment = _ORACLE_SOURCE_MAP.match(source.text, start, end)
            if comment is not None:
                found.append((comment.start(1), ("sourcemap", comment[1], comment[1], "")))
            continue
        if ref is not None:
            found.append((source.at(node.start_byte) + 1, ref))
    return [ref for _, ref in sorted(found)]


def _literals(source: _Source, root: Any) -> dict[str, set[tuple[int, int]]]:
    """Where the parser puts strings, regular expressions, comments and template literals."""
    spans: dict[str, set[tuple[int, int]]] = {"string": set(), "regex": set(), "comment": set()}
    spans["template"] = set()
    for node in _nodes(root):
        kind = {"template_string": "template", "hash_bang_line": "comment"}.get(
            node.type, node.type
        )
        if kind in spans:
            spans[kind].add(source.span(node))
    return spans


def _scanned_literals(text: str) -> dict[str, set[tuple[int, int]]]:
    """The same, from the scanner's lexer; template pieces joined into whole literals."""
    lexed = _lex(text)
    spans: dict[str, set[tuple[int, int]]] = {k: set() for k in ("string", "regex", "comment")}
    spans["template"] = set()
    opened: list[int] = []
    comments = lexed.comment_spans()
    for start, end in lexed.literals():
        first = text[start]
        if (start, end) in comments:
            spans["comment"].add((start, end))
        elif first in "\"'":
            spans["string"].add((start, end))
        elif first == "/":
            spans["regex"].add((start, end))
        else:  # a template piece: "`…`", "`…${", "}…${" or "}…`"
            if first == "`":
                opened.append(start)
            if end - start >= 2 and text[end - 1] == "`":
                spans["template"].add((opened.pop(), end))
    return spans


def _check_against_oracle(text: str) -> list[Reference]:
    source = _Source(text)
    tree = PARSER.parse(source.data)
    assert not tree.root_node.has_error, "the oracle cannot parse this text"
    refs = find_js_references(text)
    assert [(r.kind, r.url, text[r.start : r.end], r.quote) for r in refs] == _oracle(
        source, tree.root_node
    )
    for ref in refs:
        assert ref.line == text.count("\n", 0, ref.start) + 1
    assert _scanned_literals(text) == _literals(source, tree.root_node)
    return refs


@pytest.mark.parametrize("js", [c[1] for c in JS_CASES], ids=[c[0] for c in JS_CASES])
def test_cases_agree_with_the_parser(js: str) -> None:
    if PARSER.parse(js.encode()).root_node.has_error:
        pytest.skip("not a program the parser accepts")
    _check_against_oracle(js)


_FIXTURE_SCRIPTS = sorted(
    path
    for pattern in (
        "references/*.*js",
        "bundlers/**/*.js",
        "frontend/*/src/**/*.js",
        "frontend/*/*.*js",
    )
    for path in FIXTURES.parent.glob(pattern)
)


@pytest.mark.parametrize(
    "path", _FIXTURE_SCRIPTS, ids=lambda p: p.relative_to(FIXTURES.parent).as_posix()
)
def test_fixture_files_agree_with_the_parser(path: Path) -> None:
    """The trap fixture, the checked-in Vite and webpack output, and the front-end sources."""
    _check_against_oracle(path.read_text(encoding="utf-8"))


def test_the_fixture_scripts_include_real_bundles() -> None:
    names = {p.relative_to(FIXTURES.parent).parts[0:2] for p in _FIXTURE_SCRIPTS}
    assert {
        ("bundlers", "vite"),
        ("bundlers", "webpack"),
        ("references", "module_traps.mjs"),
    } <= names


@pytest.mark.parametrize("name", frontend_fixtures.NAMES)
def test_bundles_built_by_make_test_agree_with_the_parser(name: str) -> None:
    """The Vite 8 and webpack 5 fixture projects as ``make test`` builds them."""
    if not frontend_fixtures.output_path(name).is_dir() and frontend_fixtures.npm_command() is None:
        pytest.skip(f"npm is not installed, so the {name} fixture project cannot be built")
    try:
        output = frontend_fixtures.built(name)
    except frontend_fixtures.FixtureBuildError as exc:
        pytest.fail(f"{exc} (run `.venv/bin/python -m tests.frontend_fixtures` to retry)")
    scripts = sorted(output.rglob("*.js"))
    assert len(scripts) >= 3
    for path in scripts:
        try:
            _check_against_oracle(path.read_text(encoding="utf-8"))
        except AssertionError as exc:
            raise AssertionError(f"{path}: {exc}") from exc


def _package_files(name: str) -> list[Path]:
    package = thirdparty.esm_package(name)
    path = Path(thirdparty.package_path(package))
    if not path.is_dir() and thirdparty.npm_command() is None:
        pytest.skip(f"npm is not installed, so {package.spec} cannot be fetched into {path}")
    try:
        root = Path(thirdparty.fetch(package))
    except thirdparty.FetchError as exc:
        pytest.fail(f"{exc} (run `.venv/bin/python bench/thirdparty.py` to retry)")
    return sorted(p for p in root.rglob("*") if p.suffix in (".js", ".mjs") and p.is_file())


@pytest.mark.parametrize("name", [p.name for p in thirdparty.ESM_PACKAGES])
def test_third_party_modules_agree_with_the_parser(name: str) -> None:
    files = _package_files(name)
    assert files
    references = 0
    for path in files:
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        try:
            references += len(_check_against_oracle(text))
        except AssertionError as exc:
            raise AssertionError(f"{path}: {exc}") from exc
    assert references > 0


def _scripts(package: Any) -> list[Path]:
    if package is None:
        django = pytest.importorskip("django")
        root = Path(django.__file__).parent / "contrib" / "admin" / "static"
    else:
        path = Path(thirdparty.package_path(package))
        if not path.is_dir() and thirdparty.npm_command() is None:
            pytest.skip(f"npm is not installed, so {package.spec} cannot be fetched into {path}")
        root = Path(thirdparty.fetch(package))
    return sorted(p for p in root.rglob("*.js") if p.is_file())


@pytest.mark.parametrize(
    "package",
    [
        *(pytest.param(p, id=p.directory) for p in thirdparty.PACKAGES),
        pytest.param(None, id="django-admin"),
    ],
)
def test_third_party_scripts_agree_with_the_parser(package: Any) -> None:
    """Bundles and classic scripts too: jQuery, XRegExp, select2, Bootstrap, Leaflet, KaTeX…"""
    checked = skipped = 0
    for path in _scripts(package):
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        if PARSER.parse(text.encode("utf-8", "surrogateescape")).root_node.has_error:
            # tree-sitter rejects a few valid files (swagger-ui's String.raw`{\rtf1…` holds
            # an escape only tagged templates allow); they cannot serve as an oracle.
            skipped += 1
            continue
        try:
            _check_against_oracle(text)
        except AssertionError as exc:
            raise AssertionError(f"{path}: {exc}") from exc
        checked += 1
    assert checked > skipped


# --- generated programs ------------------------------------------------------------------------

_SPECIFIERS = ["./a.js", "../b/c.mjs", "/static/d.js", "lit", "vue/x.js", "./e f.js", "./g.js?v=1"]


@st.composite
def _specifier(draw: st.DrawFn) -> str:
    quote = draw(st.sampled_from(['"', "'"]))
    url = draw(st.sampled_from(_SPECIFIERS))
    if draw(st.booleans()):
        url = url.replace(".js", "\\x2ejs").replace("a", "\\u0061")
    return quote + url + quote


_GAP = st.sampled_from(["", " ", "\n", " /* c */ ", "// line\n", "\t"])


@st.composite
def _declaration(draw: st.DrawFn) -> str:
    spec, gap = draw(_specifier()), draw(_GAP)
    form = draw(
        st.sampled_from(
            [
                "import a from{g}{s};",
                "import {{a as b, c}}{g}from {s};",
                "import * as ns from{g}{s};",
                "import d, {{e}} from {s};",
                "import{g}{s};",
                "export * from{g}{s};",
                "export * as n from {s};",
                "export {{f, g as h}} from{g}{s};",
                "import({g}{s}).then(m => m);",
                "x = await import({s}, {{ with: {{}} }});",
                "new URL({g}{s}, import.meta.url);",
                "w = new Worker(import.meta.resolve({g}{s}));",
                "u = new URL({s}, import.meta.url).href;",
            ]
        )
    )
    return str(form.format(g=gap, s=spec))


_STATEMENTS = st.sampled_from(
    [
        "x = a / b / c;",
        "x = /a/ / b / c;",
        'y = /[/"\'`]import "x"/g.test(s);',
        "z = (a + b) / 2 / (c);",
        "if (a) /re\\/x/.test(b);",
        "while (a) /x/g.exec(b);",
        "t = `a${ `b${c / 2}` }/${ {k: 1}.k }`;",
        'w = "import(\'./no.js\')" + \'"\' + "\\"";',
        '// import "./no.js"\n',
        '/* export * from "./no.js" */',
        "q = a ? /x/ : /y/;",
        "r = typeof /x/;",
        "s = x.return / 2;",
        "u = [1, 2] / 3;",
        "v = a++ / 2;",
        "o = {import: 1, export: 2};",
        "function f() { return /re/g }",
        "p = f(a) / g(b);",
        "class A { static x = 1 / 2; m() { return this.x / 2 } }",
        "k = `${/x`y/.source}`;",
        "m = b\n/c/g;",
        "{}\n/x/.test(y);",
        "export default /x/;",
        "n = `${'}'}` / 2;",
        "l = 1./2;",
        "h = a\n++b;",
        "e = x => /y/;",
        "//# sourceMappingURL=a.js.map\n",
        "f(); /*# sourceMappingURL=b.js.map */",
        "i = a.import;",
        "j = [...a] / 2;",
        "g = `${`${`${a}`}`}`;",
        "a = b /* c */ / d;",
        "a = b // c\n / d;",
        "a = b /* ( */ / c / d;",
        "a = b // return\n / c / d;",
        'x = f("if (", a) / b / c;',
        "x = f(a /* while ( */, b) / c / d;",
        "café = x / 2 / y;",
        "a = `x` / 2 / `y`;",
        "a = [b] / c / d;",
        "a = b++ / c / d;",
        "a = typeof b / c;",
        "a = b.typeof / c / d;",
        "for (const x of /y/g.exec(z)) x;",
        "s = 'it\\'s /' + \"\\\" /\" + '\\\n';",
        "t = `${`/${'`'}/`}` / 2 / 3;",
        "do /x/.test(y); while (z);",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.one_of(_declaration(), _STATEMENTS), min_size=1, max_size=12))
def test_generated_programs_agree_with_the_parser(parts: list[str]) -> None:
    js = "\n".join(parts)
    assume(not PARSER.parse(js.encode()).root_node.has_error)
    _check_against_oracle(js)


def test_the_benchmark_finds_every_sample_it_names() -> None:
    if thirdparty.npm_command() is None:
        pytest.skip("npm is not installed: the benchmark's packages cannot be fetched")
    bench = load_bench_script("references")
    samples = bench.js_samples()
    assert set(samples) == set(bench.JS_SAMPLES)
    for name, paths in samples.items():
        assert len(paths) >= len(bench.JS_SAMPLES[name]), name
