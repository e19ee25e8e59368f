"""The configuration reference, generated from ``hashstore.settings.Settings`` so it cannot drift.

Every dataclass field of ``Settings`` is one row: its name, how Django (``OPTIONS["x"]``), Flask
(``HASHSTORE_X``) and the command line (``--x``) spell it, its type, its default and the text of
its ``metadata["doc"]``. Command-line flags are read from the real parser
(``hashstore.cli.build_parser()``) and Django's option names from the storage
(``hashstore.django.storage.OPTION_NAMES``), so a field without a flag shows "none" rather than
a flag that does not exist.

In a page, the ``hashstore-settings`` directive (in MyST, a fenced ``{hashstore-settings}``
block) renders :func:`render_markdown`. The functions here import nothing from Sphinx, so
``tests/test_docs.py`` checks the table without building the manual.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["OptionRow", "cli_flags", "option_rows", "render_markdown", "setup", "version"]

NOT_AVAILABLE = "none"
"""What a cell says when an adapter has no spelling for a field."""


class OptionRow(NamedTuple):
    """One option of the reference, every value as Markdown text."""

    name: str
    django: str
    flask: str
    cli: str
    type: str
    default: str
    doc: str


def version() -> str:
    """hashstore's version (``hashstore.__version__``, of the checkout the manual documents)."""
    import hashstore

    return hashstore.__version__


def cli_flags() -> dict[str, list[str]]:
    """Settings field -> the command-line spellings that set it, from the real parser.

    Flags are stored by ``hashstore.cli`` under ``dest="setting_<field>"``; the source
    directories are the positional ``SRC`` arguments of ``publish``.
    """
    from hashstore.cli import build_parser

    flags: dict[str, list[str]] = {}

    def add(field: str, spelling: str) -> None:
        known = flags.setdefault(field, [])
        if spelling not in known:
            known.append(spelling)

    def walk(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)
            elif action.dest.startswith("setting_"):
                add(action.dest.removeprefix("setting_"), action.option_strings[-1])
            elif action.dest == "sources" and not action.option_strings:
                add("sources", f"{action.metavar} ...")

    walk(build_parser())
    return flags


def _django_names() -> tuple[str, ...]:
    from hashstore.django.storage import OPTION_NAMES

    return OPTION_NAMES


def _describe_type(name: str, hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        values = [f"`{value}`" for value in args]
        return ", ".join(values[:-1]) + f" or {values[-1]}"
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        text = " or ".join(_describe_type(name, a) for a in inner)
        return f"{text} or none" if len(inner) < len(args) else text
    if hint is str:
        return "text"
    if hint is bool:
        return "true or false"
    if hint is int:
        return "whole number"
    if hint is Path:
        return "path"
    if origin is tuple:
        if args and args[0] is str:
            return "list of text (or one comma-separated string)"
        return "list of directories or (prefix, directory) pairs"
    if origin is not None and issubclass(origin, Mapping):
        return "mapping (or its JSON text)"
    return str(hint).replace("|", "or")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cli_cell(spelling: str) -> str:
    if spelling.startswith("-"):
        return _code(spelling)
    return f"{_code(spelling)} (arguments of `publish`)"


def _describe_default(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return _code(str(value))
    if isinstance(value, int):
        mib = 1024 * 1024
        if value >= mib and value % mib == 0:
            return f"{_code(str(value))} ({value // mib} MiB)"
        return _code(str(value))
    if isinstance(value, Path):
        return _code(str(value))
    if isinstance(value, str):
        return _code(value)
    if isinstance(value, tuple):
        return ", ".join(_code(str(item)) for item in value) if value else "empty"
    if isinstance(value, Mapping):
        return _code("{}") if not value else _code(repr(dict(value)))
    return _code(repr(value))


def option_rows() -> list[OptionRow]:
    """One row per ``Settings`` field, in definition order."""
    from hashstore.settings import Settings

    hints = typing.get_type_hints(Settings)
    defaults = Settings()
    flags = cli_flags()
    django = set(_django_names())
    rows = []
    for field in dataclasses.fields(Settings):
        name = field.name
        spellings = flags.get(name, [])
        rows.append(
            OptionRow(
                name=_code(name),
                django=_code(f'OPTIONS["{name}"]') if name in django else NOT_AVAILABLE,
                flask=_code(f"HASHSTORE_{name.upper()}"),
                cli=", ".join(_cli_cell(s) for s in spellings) or NOT_AVAILABLE,
                type=_describe_type(name, hints[name]),
                default=_describe_default(getattr(defaults, name)),
                # One line: a row of the list-table ends at the first unindented line.
                doc=" ".join(str(field.metadata.get("doc", "")).split()),
            )
        )
    return rows


def render_markdown() -> str:
    """The reference as a MyST ``list-table``: one row per option, with its three spellings
    stacked in the first cell, so that the table fits a page."""
    lines = [
        "```{list-table}",
        ":header-rows: 1",
        ":widths: 30 22 48",
        "",
        "* - Option",
        "  - Type and default",
        "  - What it does",
    ]
    for row in option_rows():
        lines += [
            f"* - **{row.name}**",
            "",
            f"    Django: {row.django}",
            "",
            f"    Flask: {row.flask}",
            "",
            f"    Command line: {row.cli}",
            f"  - {row.type}",
            "",
            f"    Default: {row.default}",
            f"  - {row.doc}",
        ]
    lines.append("```")
    return "\n".join(lines) + "\n"


def setup(app: Any) -> dict[str, Any]:
    """Register the ``hashstore-settings`` directive (Sphinx imported here only)."""
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective

    import hashstore.cli
    import hashstore.settings

    class SettingsTable(SphinxDirective):
        """Render every Settings field as a table; rebuilt when settings.py or cli.py change."""

        has_content = False

        def run(self) -> list[nodes.Node]:
            for module in (hashstore.settings, hashstore.cli):
                if module.__file__:
                    self.env.note_dependency(module.__file__)
            container = nodes.container(classes=["hashstore-settings"])
            text = StringList(render_markdown().splitlines(), source="hashstore.settings")
            self.state.nested_parse(text, self.content_offset, container)
            return [container]

    app.add_directive("hashstore-settings", SettingsTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
