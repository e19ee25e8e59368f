"""``manage.py hashstore_check_templates``: every literal asset name in templates is published.

Scans the template folders of every engine (``DIRS`` and, with ``APP_DIRS``, each app's
``templates``) for literal names in ``{% static "..." %}``, ``{% asset_tag "..." %}``,
``{% asset_url "..." %}`` and ``{% asset_integrity "..." %}`` (Jinja2: ``static("...")`` and
the same helpers) and fails, naming file and line, for each name the manifest lacks, so a
missing asset fails in CI and not at request time. Entry points in ``{% entry_tags "..." %}``
(``entry_tags("...")``) are checked against the manifest's entry points. Names held in
variables are not checked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError
from django.template import engines
from django.template.backends.django import DjangoTemplates

from ....errors import ManifestError, UnknownAssetError
from ...assets import hashstore_storage

_HELPERS = r"(?:static|asset_tag|asset_url|asset_integrity)"
_NAME = r"""(?P<q>["'])(?P<name>[^"'\n]+)(?P=q)"""
_DJANGO = re.compile(r"\{%-?\s*" + _HELPERS + r"\s+" + _NAME)
_JINJA = re.compile(r"\b" + _HELPERS + r"\(\s*" + _NAME)
_DJANGO_ENTRY = re.compile(r"\{%-?\s*entry_tags\s+" + _NAME)
_JINJA_ENTRY = re.compile(r"\bentry_tags\(\s*" + _NAME)
# Comments are blanked (keeping their newlines, so line numbers stay right).
_DJANGO_COMMENTS = re.compile(r"\{#.*?#\}|\{%\s*comment\b.*?%\}.*?\{%\s*endcomment\s*%\}", re.S)
_JINJA_COMMENTS = re.compile(r"\{#.*?#\}", re.S)


def _blank(match: re.Match[str]) -> str:
    return "\n" * match.group().count("\n")


def asset_names(text: str, *, jinja: bool = False) -> Iterator[tuple[int, str]]:
    """``(line, name)`` for every literal asset name in a template's text."""
    text = (_JINJA_COMMENTS if jinja else _DJANGO_COMMENTS).sub(_blank, text)
    for match in (_JINJA if jinja else _DJANGO).finditer(text):
        yield text.count("\n", 0, match.start()) + 1, match.group("name")


def entry_names(text: str, *, jinja: bool = False) -> Iterator[tuple[int, str]]:
    """``(line, name)`` for every literal entry point name (``entry_tags``) in a template."""
    text = (_JINJA_COMMENTS if jinja else _DJANGO_COMMENTS).sub(_blank, text)
    for match in (_JINJA_ENTRY if jinja else _DJANGO_ENTRY).finditer(text):
        yield text.count("\n", 0, match.start()) + 1, match.group("name")


def _template_dirs() -> list[tuple[Path, bool]]:
    """Every template folder, once, with whether its engine is Jinja2-like."""
    found: dict[tuple[Path, bool], None] = {}
    for engine in engines.all():
        jinja = not isinstance(engine, DjangoTemplates)
        for directory in engine.template_dirs:
            path = Path(directory)
            if path.is_dir():
                found[(path.resolve(), jinja)] = None
    return list(found)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class Command(BaseCommand):
    help = (
        "Fail, naming file and line, for each literal asset name in templates "
        "({% static %}, {% asset_tag %}...) that the hashstore manifest does not hold."
    )
    requires_system_checks: ClassVar[list[str]] = []

    def handle(self, *args: Any, **options: Any) -> None:
        storage = hashstore_storage()
        try:
            manifest = storage.manifest
        except ManifestError as exc:
            raise CommandError(str(exc)) from exc
        if manifest is None:
            raise CommandError(
                f"manifest {storage.hashstore_settings.manifest} does not exist: run "
                "`manage.py collectstatic` first"
            )
        templates = names = 0
        problems: list[str] = []
        for directory, jinja in _template_dirs():
            for root, dirs, files in os.walk(directory):
                dirs.sort()
                for filename in sorted(files):
                    path = Path(root, filename)
                    try:
                        text = path.read_text(encoding="utf-8", errors="replace")
                    except OSError as exc:
                        raise CommandError(f"{_shown(path)}: cannot read: {exc}") from exc
                    templates += 1
                    for line, name in asset_names(text, jinja=jinja):
                        names += 1
                        if name not in manifest:
                            problems.append(f"{_shown(path)}:{line}: {manifest.unknown(name)}")
                    for line, name in entry_names(text, jinja=jinja):
                        names += 1
                        try:
                            manifest.entry_point(name)
                        except UnknownAssetError as exc:
                            problems.append(f"{_shown(path)}:{line}: {exc}")
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(
                f"{len(problems)} asset name(s) in templates are not in manifest "
                f"{manifest.path}; see above"
            )
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Checked {templates} template file(s): {names} asset name(s), all in "
                f"manifest {manifest.path}."
            )
