"""The configuration reference, generated from ``hashstore.settings.Settings`` so it cannot drift.

Every dataclass field of ``Settings`` is one row: its name, how Django (``OPTIONS["x"]``), Flask
(``HASHSTORE_X``) and the command line (``--x``) spell it, its type, its default and the text of
its ``metadata["doc"]``. Command-line flags are read from the real parser
(``hashstore.cli.build_parser()``) and Django's option names from the storage
(``hashstore.django.storage.OPTION_NAMES``), so a field without a flag shows "none" rather than
a flag that does not exist.

The reference is plain Markdown checked into ``docs/configuration.md`` between two comments, so
it reads the same on GitHub and in the built manual. After changing a setting or a flag, rewrite
it with ``make docs-config`` (``python docs/_ext/hashstore_settings.py``); ``--check`` exits 1
when the page is stale, and ``tests/test_docs.py`` fails then too.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["OptionRow", "cli_flags", "option_rows", "render_markdown", "update_page", "version"]

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
                # One paragraph: the metadata wraps its text for the source, not the page.
                doc=" ".join(str(field.metadata.get("doc", "")).split()),
            )
        )
    return rows


PAGE = Path(__file__).resolve().parent.parent / "configuration.md"
BEGIN = "<!-- Generated: `make docs-config` rewrites the options below. -->"
END = "<!-- End of the generated options. -->"


def render_markdown() -> str:
    """The reference as Markdown: a short section per option (a table of seven columns is too
    wide to read on GitHub or in the manual)."""
    sections = []
    for row in option_rows():
        sections.append(
            f"### {row.name}\n\n{row.doc}\n\n"
            f"- Django: {row.django}; Flask: {row.flask}; command line: {row.cli}\n"
            f"- Type: {row.type}; default: {row.default}\n"
        )
    return "\n".join(sections)


def update_page(text: str) -> str:
    """``docs/configuration.md``'s text with the options between its markers rendered afresh."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n\n" + render_markdown() + "\n" + text[end:]


def main(argv: list[str]) -> int:
    """Rewrite the options in ``docs/configuration.md``; ``--check`` only says if they are stale."""
    text = PAGE.read_text(encoding="utf-8")
    fresh = update_page(text)
    if "--check" in argv:
        if fresh != text:
            print(f"{PAGE} is stale: run `make docs-config`", file=sys.stderr)
            return 1
        return 0
    if fresh != text:
        PAGE.write_text(fresh, encoding="utf-8")
        print(f"rewrote the options in {PAGE}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(PAGE.parent.parent))  # the checkout's hashstore
    sys.exit(main(sys.argv[1:]))
