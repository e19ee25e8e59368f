"""Throughput of hashstore's reference scanners: CSS against tinycss2, JavaScript against
tree-sitter-javascript, each a full tokenizer or parser used by the tests as the oracle.

Run: ``.venv/bin/python bench/references.py`` (``--js-only`` for JavaScript alone). Times are
the CPU time of this process, so other work on the machine does not count against a reader.
DESIGN.md's reason for compiled-pattern scanners instead of those on the build's hot path is
these numbers.
The JavaScript figures come from real bundles and modules of the pinned npm packages
``bench/thirdparty.py`` fetches into ``build/thirdparty/`` (fetched here when missing; needs npm).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import tinycss2

from hashstore.references import find_css_references, find_js_references
from hashstore.references_js import _lex

sys.path.insert(0, str(Path(__file__).resolve().parent))
import thirdparty

# Real JavaScript, by package: minified bundles, development builds and small modules.
JS_SAMPLES = {
    "vue": ("dist/vue.esm-browser.js", "dist/vue.esm-browser.prod.js", "dist/vue.global.prod.js"),
    "swagger-ui-dist": ("swagger-ui-bundle.js", "swagger-ui-es-bundle-core.js"),
    "katex": ("dist/katex.mjs", "dist/katex.min.js"),
    "leaflet": ("dist/leaflet-src.esm.js", "dist/leaflet.js"),
    "bootstrap": ("dist/js/bootstrap.esm.js", "dist/js/bootstrap.bundle.min.js"),
    "lit-html": ("*.js", "directives/*.js", "development/*.js"),
    "preact": ("dist/preact.mjs", "hooks/dist/hooks.mjs"),
}


def bootstrap_like(size: int, seed: int = 0) -> str:
    """About ``size`` characters of minified, Bootstrap-like CSS, one ``url()`` per ~2 kB."""
    rnd = random.Random(seed)
    declarations = [
        "display:flex",
        "margin:0 auto",
        "padding:.375rem .75rem",
        "color:#212529",
        "background-color:rgba(0,0,0,.05)",
        "border:1px solid transparent",
        'font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",sans-serif',
        "transition:color .15s ease-in-out,background-color .15s ease-in-out",
        "box-shadow:0 0 0 .25rem rgba(13,110,253,.25)",
        'content:""',
        "width:calc(100% - 1rem)",
        "text-transform:uppercase",
    ]
    urls = [
        "background-image:url(\"data:image/svg+xml,%3csvg xmlns='http://www.w3.org/2000/svg' "
        "viewBox='0 0 16 16'%3e%3cpath fill='none' stroke='%23343a40' d='M2 5l6 6 6-6'/%3e"
        '%3c/svg%3e")',
        "background:url(../img/sprite.png) no-repeat",
        "src:url('../fonts/f.woff2?v=1') format('woff2')",
    ]
    out, length = [], 0
    while length < size:
        selector = f".{rnd.choice(['btn', 'form-control', 'navbar', 'card'])}-{rnd.randrange(999)}"
        body = [rnd.choice(declarations) for _ in range(rnd.randrange(2, 8))]
        if rnd.random() < 0.08:
            body.append(rnd.choice(urls))
        rule = f"{selector}:hover,{selector}{{{';'.join(body)}}}\n"
        if rnd.random() < 0.05:
            rule = f"/* {selector} */\n{rule}"
        if rnd.random() < 0.03:
            rule = f"@media (min-width:768px){{{rule}}}\n"
        out.append(rule)
        length += len(rule)
    return "".join(out)


def _seconds(function: Callable[[], object], repeat: int = 3) -> float:
    """The least CPU time of this process that ``function`` took over ``repeat`` calls.

    CPU time, not wall-clock time: every reader measured runs on one thread, and on a machine
    shared with other work the wall clock also counts the time others had the core.
    """
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        function()
        best = min(best, time.process_time() - started)
    return best


def js_samples() -> dict[str, list[Path]]:
    """The files of :data:`JS_SAMPLES`, by package, fetched with npm when missing."""
    packages = {p.name: p for p in (*thirdparty.PACKAGES, *thirdparty.ESM_PACKAGES)}
    found = {}
    for name, patterns in JS_SAMPLES.items():
        root = thirdparty.fetch(packages[name])
        found[name] = sorted({p for pattern in patterns for p in root.glob(pattern)})
    return found


def _measure_js() -> None:
    try:
        samples = js_samples()
    except thirdparty.FetchError as exc:
        print(f"JavaScript: skipped, {exc}")
        return
    try:
        import tree_sitter
        import tree_sitter_javascript
    except ImportError:
        parser = None
    else:
        parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_javascript.language()))
    total_bytes, total_seconds, total_lexing = 0, 0.0, 0.0
    for name, paths in samples.items():
        data = [p.read_bytes() for p in paths]
        texts = [d.decode("utf-8", "surrogateescape") for d in data]
        size = sum(map(len, data))

        def scan(texts: list[str] = texts) -> None:
            for text in texts:
                find_js_references(text)

        def lex(texts: list[str] = texts) -> None:
            # The worst case: a reference at the very end makes the scanner lex every byte.
            for text in texts:
                _lex(text)

        seconds, lexing = _seconds(scan, repeat=5), _seconds(lex, repeat=5)
        total_bytes, total_seconds = total_bytes + size, total_seconds + seconds
        total_lexing += lexing
        references = sum(len(find_js_references(t)) for t in texts)
        print(
            f"{name}: {len(paths)} files, {size / 1e6:.2f} MB, {references} references, "
            f"find_js_references {size / seconds / 1e6:.0f} MB/s, "
            f"lexing every byte {size / lexing / 1e6:.0f} MB/s",
            end="",
        )
        if parser is not None:

            def parse(data: list[bytes] = data) -> None:
                for item in data:
                    parser.parse(item)

            print(f", tree-sitter {size / _seconds(parse, repeat=1) / 1e6:.1f} MB/s")
        else:
            print()
    print(
        f"JavaScript, all: {total_bytes / 1e6:.2f} MB, "
        f"find_js_references {total_bytes / total_seconds / 1e6:.0f} MB/s, "
        f"lexing every byte {total_bytes / total_lexing / 1e6:.0f} MB/s"
    )


def _measure() -> None:
    samples = {"Bootstrap-like": bootstrap_like(5_000_000)}
    try:
        import django
    except ImportError:
        pass
    else:
        static = Path(django.__file__).parent / "contrib" / "admin" / "static"
        admin = "\n".join(p.read_text(encoding="utf-8") for p in sorted(static.rglob("*.css")))
        samples["Django admin"] = admin * (5_000_000 // len(admin) + 1)
    for name, text in samples.items():
        seconds = _seconds(partial(find_css_references, text), repeat=5)
        print(
            f"{name}: {len(text) / 1e6:.1f} MB, {len(find_css_references(text))} references, "
            f"find_css_references {len(text) / seconds / 1e6:.0f} MB/s, ",
            end="",
            flush=True,
        )
        sample = text[:500_000]
        seconds = _seconds(partial(tinycss2.parse_component_value_list, sample), repeat=1)
        print(f"tinycss2 {len(sample) / seconds / 1e6:.1f} MB/s")


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument("--js-only", action="store_true", help="measure JavaScript only")
    if not arguments.parse_args().js_only:
        _measure()
    _measure_js()
