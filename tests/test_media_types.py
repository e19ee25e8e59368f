from __future__ import annotations

import pytest

from hashstore.media_types import DEFAULT_TYPE, MediaTypes, content_type, default_types

UTF8 = "; charset=utf-8"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("css/app.3f2a9c1b7d4e.css", "text/css" + UTF8),
        ("js/app.3f2a9c1b7d4e.js", "text/javascript" + UTF8),
        ("js/app.mjs", "text/javascript" + UTF8),
        ("js/app.cjs", "text/javascript" + UTF8),
        ("js/app.js.map", "application/json" + UTF8),
        ("data.json", "application/json" + UTF8),
        ("site.webmanifest", "application/manifest+json" + UTF8),
        ("index.html", "text/html" + UTF8),
        ("robots.txt", "text/plain" + UTF8),
        ("feed.xml", "application/xml" + UTF8),
        ("README.md", "text/markdown" + UTF8),
        ("data.csv", "text/csv" + UTF8),
        ("img/logo.svg", "image/svg+xml" + UTF8),
        ("img/logo.png", "image/png"),
        ("img/photo.jpg", "image/jpeg"),
        ("img/photo.jpeg", "image/jpeg"),
        ("img/anim.gif", "image/gif"),
        ("img/photo.webp", "image/webp"),
        ("img/photo.avif", "image/avif"),
        ("favicon.ico", "image/x-icon"),
        ("img/old.bmp", "image/bmp"),
        ("img/scan.tif", "image/tiff"),
        ("fonts/a.woff", "font/woff"),
        ("fonts/a.woff2", "font/woff2"),
        ("fonts/a.ttf", "font/ttf"),
        ("fonts/a.otf", "font/otf"),
        ("fonts/a.eot", "application/vnd.ms-fontobject"),
        ("app.wasm", "application/wasm"),
        ("doc.pdf", "application/pdf"),
        ("clip.mp4", "video/mp4"),
        ("clip.webm", "video/webm"),
        ("sound.mp3", "audio/mpeg"),
        ("sound.ogg", "audio/ogg"),
        ("sound.wav", "audio/wav"),
        ("bundle.zip", "application/zip"),
        ("app.css.gz", "application/gzip"),
        ("app.css.br", "application/x-brotli"),
        (".well-known/apple-app-site-association", "application/json" + UTF8),
    ],
)
def test_content_type(name: str, expected: str) -> None:
    assert content_type(name) == expected


@pytest.mark.parametrize("name", ["LICENSE", "data.unknownext", "archive.", "dir.d/file"])
def test_unknown_names_are_octet_stream(name: str) -> None:
    assert content_type(name) == DEFAULT_TYPE == "application/octet-stream"


def test_case_and_windows_separators_do_not_matter() -> None:
    assert content_type("IMG/LOGO.PNG") == "image/png"
    assert content_type("css\\app.CSS") == "text/css" + UTF8


def test_every_text_type_has_a_charset_and_no_binary_type_does() -> None:
    for extension in default_types():
        media_type = content_type("file" + extension if extension.startswith(".") else extension)
        is_text = media_type.startswith("text/") or media_type.split(";")[0] in {
            "application/json",
            "application/ld+json",
            "application/geo+json",
            "application/manifest+json",
            "application/xml",
            "application/xhtml+xml",
            "application/atom+xml",
            "application/rss+xml",
            "image/svg+xml",
        }
        assert media_type.endswith(UTF8) == is_text, extension


def test_extra_types_add_and_override() -> None:
    types = MediaTypes(extra_types={".glb": "model/gltf-binary", ".TXT": "text/x-custom"})
    assert types.content_type("scene.glb") == "model/gltf-binary"
    assert types.content_type("notes.txt") == "text/x-custom" + UTF8
    # The module's table is unchanged.
    assert content_type("scene.glb") == DEFAULT_TYPE


def test_extra_types_with_parameters_are_kept_as_given() -> None:
    types = MediaTypes(extra_types={".txt": "text/plain; charset=iso-8859-1"})
    assert types.content_type("a.txt") == "text/plain; charset=iso-8859-1"


def test_default_types_is_a_copy() -> None:
    table = default_types()
    table[".css"] = "text/x-broken"
    assert content_type("a.css") == "text/css" + UTF8


def test_media_types_has_no_instance_dict() -> None:
    assert not hasattr(MediaTypes(), "__dict__")
