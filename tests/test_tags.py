"""hashstore.tags: the one renderer of <link>/<script> tags (Django and Flask use it)."""

from __future__ import annotations

import json

import pytest

from hashstore.bundlers import EntryFiles
from hashstore.tags import render_asset_tag, render_entry_tags, render_import_map

SRI = "sha256-q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s="


def test_stylesheet_script_and_module() -> None:
    assert render_asset_tag("css/app.css", "/s/app.1.css", SRI) == (
        f'<link rel="stylesheet" href="/s/app.1.css" integrity="{SRI}" crossorigin="anonymous">'
    )
    assert render_asset_tag("js/app.js", "/s/app.1.js", SRI) == (
        f'<script src="/s/app.1.js" integrity="{SRI}" crossorigin="anonymous"></script>'
    )
    assert render_asset_tag("js/App.MJS", "/s/a.mjs", SRI).startswith(
        '<script type="module" src="/s/a.mjs"'
    )


def test_without_integrity_no_integrity_or_crossorigin() -> None:
    assert render_asset_tag("a.js", "/a.js") == '<script src="/a.js"></script>'


def test_attributes_are_escaped_boolean_and_renamed() -> None:
    html = render_asset_tag(
        "a.js",
        '/a.js?x=1&y="2"',
        SRI,
        {
            "defer": True,
            "async": False,
            "nonce": None,
            "data_x": "<b>'",
            "crossorigin": "use-credentials",
        },
    )
    assert html == (
        '<script src="/a.js?x=1&amp;y=&quot;2&quot;" '
        f'integrity="{SRI}" crossorigin="use-credentials" defer data-x="&lt;b&gt;&#x27;"></script>'
    )


@pytest.mark.parametrize("name", ['x"', "on load", "a>b", "", "_x"])
def test_invalid_attribute_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a valid HTML attribute name"):
        render_asset_tag("a.css", "/a.css", None, {name: "1"})


def test_other_files_are_refused() -> None:
    with pytest.raises(ValueError, match=r"'img/logo\.png'.*use asset_url"):
        render_asset_tag("img/logo.png", "/logo.png")


# -- entry points and import maps ----------------------------------------------------------------


def _resolve(name: str) -> tuple[str, str | None]:
    return f"https://cdn.test/{name}", f"sha256-{name}"


def test_entry_tags_for_a_module_entry() -> None:
    entry = EntryFiles(
        file="a/main.js", module=True, imports=("a/dep.js", "a/shared.js"), css=("a/x.css",)
    )

    assert render_entry_tags(entry, _resolve).splitlines() == [
        '<link rel="stylesheet" href="https://cdn.test/a/x.css" integrity="sha256-a/x.css" '
        'crossorigin="anonymous">',
        '<link rel="modulepreload" href="https://cdn.test/a/dep.js" integrity="sha256-a/dep.js" '
        'crossorigin="anonymous">',
        '<link rel="modulepreload" href="https://cdn.test/a/shared.js" '
        'integrity="sha256-a/shared.js" crossorigin="anonymous">',
        '<script type="module" src="https://cdn.test/a/main.js" integrity="sha256-a/main.js" '
        'crossorigin="anonymous"></script>',
    ]


def test_entry_tags_for_a_stylesheet_entry_and_without_integrity() -> None:
    entry = EntryFiles(file="s.css", module=True, imports=(), css=())

    html = render_entry_tags(entry, lambda name: (f"/static/{name}?a=1&b=2", None))

    assert html == '<link rel="stylesheet" href="/static/s.css?a=1&amp;b=2">'


def test_import_map_escapes_what_could_end_the_element() -> None:
    html = render_import_map(
        {"lit": "lit.js", "x</script><script>alert(1)//": "x.js"},
        lambda name: (f"/static/{name}", None if name == "x.js" else "sha256-&<>"),
    )

    body = html.removeprefix('<script type="importmap">').removesuffix("</script>")
    # Nothing in the JSON can end the element or start a comment ("</script", "<!--").
    assert not set("<>&") & set(body)
    assert json.loads(body) == {
        "imports": {"lit": "/static/lit.js", "x</script><script>alert(1)//": "/static/x.js"},
        "integrity": {"/static/lit.js": "sha256-&<>"},
    }


def test_an_empty_import_map() -> None:
    html = render_import_map({}, _resolve)

    assert json.loads(html.split(">", 1)[1].rsplit("<", 1)[0]) == {"imports": {}}
