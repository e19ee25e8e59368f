"""hashstore.tags: the one renderer of <link>/<script> tags (Django and Flask use it)."""

from __future__ import annotations

import pytest

from hashstore.tags import render_asset_tag

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
