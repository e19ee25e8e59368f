"""Throughput of hashstore's CSS reference scanner against tinycss2 (a full CSS tokenizer).

Run: ``.venv/bin/python bench/references.py``. DESIGN.md's reason for a compiled-pattern scanner
instead of tinycss2 on the build's hot path is this number.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import tinycss2

from hashstore.references import find_css_references


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
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


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
    _measure()
