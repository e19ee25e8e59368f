"""Sphinx configuration for the hashstore manual (Markdown pages through MyST, furo theme).

Build it with ``make docs`` (``sphinx-build -W --keep-going -b html docs docs/_build/html``):
warnings are errors, so a broken link, a page missing from the toctree or an option missing
from the configuration reference fails the build.
"""

import sys
from pathlib import Path

from sphinx.application import Sphinx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))  # hashstore_settings: version() (and the option table)
sys.path.insert(0, str(HERE.parent))  # hashstore itself, for autodoc, without installing it

import hashstore_settings  # noqa: E402

project = "hashstore"
author = "hashstore developers"
copyright = "hashstore developers"
release = hashstore_settings.version()

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # [text](page.md#a-heading) links work, as on GitHub

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True}

html_theme = "furo"
html_title = "hashstore"
html_static_path: list[str] = []

# Pages generated or written elsewhere in the project: listed in index.md's toctree, left out
# of it until their file exists, so the manual builds at every stage.
OPTIONAL_PAGES = ("benchmarks",)


def _drop_missing_pages(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname != root_doc:
        return
    missing = {name for name in OPTIONAL_PAGES if not (HERE / f"{name}.md").exists()}
    if missing:
        lines = source[0].splitlines(keepends=True)
        source[0] = "".join(line for line in lines if line.strip() not in missing)


def setup(app: Sphinx) -> None:
    app.connect("source-read", _drop_missing_pages)
