"""The manual cannot drift from the code: options, errors, commands and the public API.

These tests read the Markdown sources and import the configuration table's generator
(``docs/_ext/hashstore_settings.py``); they need neither Sphinx nor a build of the manual
(``make docs`` builds it, with warnings as errors).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import hashstore
import hashstore.django
import hashstore.flask
from hashstore import errors
from hashstore.cli import build_parser
from hashstore.django.storage import OPTION_NAMES
from hashstore.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def settings_ext() -> Iterator[ModuleType]:
    path = DOCS / "_ext" / "hashstore_settings.py"
    spec = importlib.util.spec_from_file_location("hashstore_settings", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flag_fields() -> dict[str, str]:
    """Settings field -> its flag, from the parser (options stored as ``setting_<field>``)."""
    fields = {}
    for sub in _subcommands(build_parser()).values():
        for action in sub._actions:
            if action.dest.startswith("setting_"):
                fields[action.dest.removeprefix("setting_")] = action.option_strings[-1]
    return fields


# -- configuration ---------------------------------------------------------------------------


def test_the_configuration_page_holds_the_current_table(settings_ext: ModuleType) -> None:
    page = _page("configuration.md")
    assert settings_ext.update_page(page) == page, (
        "docs/configuration.md is stale: run `make docs-config` (a setting or flag changed)"
    )


def test_the_generator_rewrites_a_stale_table(settings_ext: ModuleType) -> None:
    page = _page("configuration.md")
    doc = Settings.__dataclass_fields__["jobs"].metadata["doc"]
    assert doc in page
    assert settings_ext.update_page(page.replace(doc, doc + " Changed.")) == page


def test_every_setting_is_in_the_generated_table_with_its_three_spellings(
    settings_ext: ModuleType,
) -> None:
    table = settings_ext.render_markdown()
    # One section per option: "### `name`", its doc, its spellings, its type and default.
    sections = {
        block.split("`", 1)[0]: block.split("\n\n", 2)[1:] for block in table.split("### `")[1:]
    }
    flags = _flag_fields()
    assert list(sections) == list(Settings.field_names())
    for name in Settings.field_names():
        doc, lines = sections[name]
        spellings = lines.splitlines()[0]
        django = f'`OPTIONS["{name}"]`' if name in OPTION_NAMES else "none"
        assert spellings.startswith(f"- Django: {django}; Flask: `HASHSTORE_{name.upper()}`; ")
        if name in flags:
            assert f"; command line: `{flags[name]}`" in spellings
        text = " ".join(Settings.__dataclass_fields__[name].metadata["doc"].split())
        assert doc == text, f"{name}: its doc is not in the table"
        assert lines.splitlines()[1].startswith("- Type: ")
    assert "command line: `SRC ...` (arguments of `publish`)" in sections["sources"][1]
    assert "command line: none" in sections["retries"][1]


def test_every_field_has_a_doc() -> None:
    for name, field in Settings.__dataclass_fields__.items():
        assert field.metadata.get("doc"), f"Settings.{name} has no metadata['doc']"


def test_adapter_only_options_are_documented() -> None:
    page = _page("configuration.md")
    for name in sorted(set(OPTION_NAMES) - set(Settings.field_names())):
        assert f'OPTIONS["{name}"]' in page
    assert "HASHSTORE_URL_FOR" in page


def test_every_page_asks_for_the_publisher_policys_permissions() -> None:
    """Each "Publishing needs ..." names exactly the actions of the publisher's IAM policy."""
    section = _page("s3-cloudfront.md").split("## IAM policy for the publisher", 1)[1]
    policy = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    wanted = {
        action
        for statement in policy["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    sentences = [
        (page.name, sentence)
        for page in DOCS.glob("*.md")
        for sentence in re.findall(r"Publishing needs (.*?)(?:\.\s|\.$)", _page(page.name), re.S)
    ]
    pages = {page for page, _ in sentences}
    assert {"django.md", "quickstart-django.md", "quickstart-flask.md"} <= pages
    for page, sentence in sentences:
        actions = set(re.findall(r"s3:\w+", sentence))
        assert actions == wanted, f"{page}: Publishing needs {sentence}"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", text, re.M | re.S)


def test_every_django_settings_example_sets_static_root() -> None:
    # collectstatic needs STATIC_ROOT (django-storages projects often lack it) and `check` does
    # not say so: a settings example with the storage and INSTALLED_APPS must show it.
    pages = [*DOCS.glob("*.md"), DOCS.parent / "README.md", DOCS.parent / "README.pypi.md"]
    checked = 0
    for page in pages:
        for block in _python_blocks(page.read_text(encoding="utf-8")):
            if "hashstore.django.HashStoreStorage" in block and "INSTALLED_APPS" in block:
                assert "STATIC_ROOT = " in block, (
                    f"{page.name}: a settings example lacks STATIC_ROOT"
                )
                checked += 1
    assert checked >= 5


def test_flask_static_digest_is_cleaned_before_it_is_removed() -> None:
    section = _page("migration.md").split("## From flask-static-digest", 1)[1].split("\n## ")[0]
    clean = section.index("digest clean")
    assert clean < section.index("from hashstore.flask import HashStore"), (
        "`flask digest clean` is the extension's command: it must run before the extension goes"
    )


def test_deploy_recipes_switch_releases_atomically() -> None:
    # `ln -sfn new current` unlinks, then links: a process starting in between finds nothing.
    # Every link is made under a temporary name and renamed over `current` with `mv -T`.
    text = _page("deploy-recipes.md")
    code = "\n".join(re.findall(r"^```(?:sh|console)\n(.*?)^```$", text, re.M | re.S))
    links = re.findall(r"ln -s\w* (\S+) (\S+)", code)
    assert links
    for _, link in links:
        assert link.endswith(".tmp"), f"ln -s onto {link}: link a temporary name, then mv -T"
        assert f"mv -T {link} {link.removesuffix('.tmp')}" in code
    assert "collectstatic --noinput --pin " in code  # each deploy pins what it publishes


# -- troubleshooting -------------------------------------------------------------------------


def _error_classes(root: type[Exception]) -> Iterator[type[Exception]]:
    yield root
    for sub in root.__subclasses__():
        yield from _error_classes(sub)


def test_every_error_class_has_a_section_in_troubleshooting() -> None:
    page = _page("troubleshooting.md")
    headings = set(re.findall(r"^#{2,4} (\w+)\s*$", page, re.M))
    # Private classes (``_Conflict`` in targets/s3.py) are signals caught where they are raised.
    classes = {
        cls.__name__
        for cls in _error_classes(errors.HashstoreError)
        if not cls.__name__.startswith("_")
    }
    public = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.HashstoreError)
    }
    assert public <= classes
    assert classes <= headings, f"no section for {sorted(classes - headings)}"


# -- command line ----------------------------------------------------------------------------


def test_every_command_and_flag_is_in_the_cli_page() -> None:
    page = _page("cli.md")
    parser = build_parser()
    for flag in parser._actions[0].option_strings:  # -h, --help
        assert f"`{flag}`" in page or f"{flag}`" in page
    for command, sub in _subcommands(parser).items():
        assert f"## `hashstore {command}`" in page, f"no section for hashstore {command}"
        for action in sub._actions:
            for flag in action.option_strings:
                assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", page), (
                    f"hashstore {command} {flag} is not in docs/cli.md"
                )


def _hashstore_text(page: str) -> str:
    """The prose, synopses and ``$ hashstore ...`` command lines of a page, without the output
    shown in examples (which may quote other tools' flags, e.g. an ``aws s3api`` fix)."""
    kept: list[str] = []
    block: list[str] | None = None  # the lines of the fenced block being read
    for line in page.splitlines():
        if not line.startswith("```"):
            (kept if block is None else block).append(line)
        elif block is None:
            block = []
        else:
            kept += _commands(block)
            block = None
    return "\n".join(kept)


def _commands(block: list[str]) -> list[str]:
    if block and block[0].startswith("hashstore "):  # a synopsis
        return block
    commands, continued = [], False
    for line in block:
        if line.startswith("$ hashstore") or continued:
            commands.append(line)
            continued = line.endswith("\\")
    return commands


def test_the_cli_page_names_no_flag_that_does_not_exist() -> None:
    known = {
        flag
        for sub in [build_parser(), *_subcommands(build_parser()).values()]
        for action in sub._actions
        for flag in action.option_strings
    }
    text = _hashstore_text(_page("cli.md"))
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
    assert mentioned <= known, f"docs/cli.md names unknown flags {sorted(mentioned - known)}"
    assert "--keep-releases" in mentioned  # the filter keeps command lines and synopses


# -- API reference and table of contents ------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "prefix"),
    [
        (hashstore, "hashstore."),
        (hashstore.django, "hashstore.django."),
        (hashstore.flask, "hashstore.flask."),
    ],
)
def test_every_public_name_is_in_the_api_reference(module: ModuleType, prefix: str) -> None:
    page = _page("api.md")
    for name in module.__all__:
        assert re.search(rf":: {re.escape(prefix + name)}\b", page), f"{prefix}{name}"


def test_every_page_is_in_the_table_of_contents() -> None:
    index = _page("index.md")
    entries = set(re.findall(r"^([a-z0-9-]+)$", index, re.M))
    pages = {path.stem for path in DOCS.glob("*.md")} - {"index"}
    assert pages <= entries, f"not in docs/index.md's toctree: {sorted(pages - entries)}"
