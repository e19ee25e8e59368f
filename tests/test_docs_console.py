"""The console blocks of the README, the command-line page and both quickstarts, run as written.

Each ``$ command`` of a page's ```` ```console ```` blocks runs in one working directory per page
(so a ``hashstore url`` sees the manifest an earlier ``hashstore publish`` wrote), against moto
through ``AWS_ENDPOINT_URL``, in the buckets the pages name (``my-assets``, ``my-bucket``),
created empty for each page. The quickstarts' projects are built from their own code blocks:
the Django settings and the Flask app are the pages' text, not a copy.

What is substituted: ``python``, ``flask`` and ``hashstore`` are this interpreter's; ``pip
install`` lines are not run (tests/test_packaging.py checks the name they install). In the
output shown, a run of 12 hex digits (a release id, a hashed name), a number, a size
(``6.6 kB``), an SRI value and a path under ``/srv/`` stand for any such value, ``...`` for any
text (a line of its own: any lines), and runs of spaces for any spaces; everything else must be
printed as shown, line for line. A command is expected to succeed unless its output shows an
``error:`` or a doctor ``PROBLEM``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import make_client
from .helpers import make_tree

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BUCKETS = ("my-assets", "my-bucket")

# The site every page publishes: a stylesheet that references an image, a script, and a
# second source directory (cli.md publishes `static/ vendor/`).
STATIC: dict[str, str | bytes] = {
    "css/app.css": '@import "base.css";\n.logo { background: url(../img/logo.png); }\n',
    "css/base.css": "body { margin: 0; }\n",
    "img/logo.png": b"\x89PNG logo",
    "img/bg.png": b"\x89PNG background",
    "js/app.js": "console.log('app');\n",
}
VENDOR: dict[str, str | bytes] = {"js/vendor.js": "console.log('vendor');\n"}
TEMPLATE = (
    '{% load static hashstore %}\n{% asset_tag "css/app.css" %}\n'
    '<img src="{% static "img/bg.png" %}">\n'
)

# Django's settings.py around the quickstart's block: what `startproject` would have written.
DJANGO_SETTINGS_HEAD = """\
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "docs-test"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True  # as startproject writes it: Django 4.2 warns when it is unset
ROOT_URLCONF = "mysite.urls"
STATICFILES_DIRS = [BASE_DIR / "static"]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
    }
]
"""
MANAGE_PY = """\
import os
import sys

from django.core.management import execute_from_command_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
execute_from_command_line(sys.argv)
"""


@dataclass
class Step:
    """One ``$ command`` of a console block and the output the page shows for it."""

    page: str
    line: int
    command: str
    output: list[str]


def fenced_blocks(text: str, language: str) -> Iterator[tuple[int, list[str]]]:
    """(line number of the first line, lines) of each fenced block in ``language``."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == f"```{language}":
            start = i + 1
            end = next(j for j in range(start, len(lines)) if lines[j].strip() == "```")
            yield start + 1, lines[start:end]
            i = end
        i += 1


def steps(path: Path) -> list[Step]:
    """Every ``$ command`` of the console blocks of ``path``, continuation lines joined."""
    found: list[Step] = []
    for first, block in fenced_blocks(path.read_text(encoding="utf-8"), "console"):
        current: Step | None = None
        continued = False
        for offset, line in enumerate(block):
            if continued and current is not None:
                current.command = current.command[:-1].rstrip() + " " + line.strip()
            elif line.startswith("$ "):
                current = Step(path.name, first + offset, line[2:].strip(), [])
                found.append(current)
            elif current is not None:
                current.output.append(line)
            continued = current is not None and current.command.endswith("\\")
    return found


_VARIABLE = re.compile(
    r"(?P<dots>\.\.\.|…)"
    r"|(?P<sri>sha256-[A-Za-z0-9+/]{4,}={0,2})"
    r"|(?P<hex>(?<![0-9a-zA-Z])[0-9a-f]{12}(?![0-9a-zA-Z]))"
    r"|(?P<path>/srv/[^\s']*?(?=[\s',]|\.?$))"
    r"|(?P<size>\d+(?:\.\d+)? (?:B|kB|MB|GB)\b)"
    r"|(?P<number>\d+(?:\.\d+)?)"
    r"|(?P<space>\s+)"
)
_PATTERNS = {
    "dots": ".*",
    "sri": r"sha256-[A-Za-z0-9+/]+=*",
    "hex": "[0-9a-f]{12}",
    "path": r"/\S*?",
    "size": r"\d+(?:\.\d+)? (?:B|kB|MB|GB)",
    "number": r"\d+(?:\.\d+)?",
    "space": r"\s+",
}
ANY_LINES = None


def line_pattern(shown: str) -> re.Pattern[str] | None:
    """The pattern a printed line must match for ``shown``; ``None`` for a line ``...``."""
    shown = shown.strip()
    if shown in ("...", "…"):
        return ANY_LINES
    parts, end = [], 0
    for match in _VARIABLE.finditer(shown):
        parts.append(re.escape(shown[end : match.start()]))
        parts.append(_PATTERNS[str(match.lastgroup)])
        end = match.end()
    parts.append(re.escape(shown[end:]))
    return re.compile("".join(parts))


def matches(shown: list[str], printed: list[str]) -> bool:
    """Whether ``printed`` is ``shown`` line for line (blank lines aside), ``...`` lines taking
    any number of lines."""
    patterns = [line_pattern(line) for line in shown if line.strip()]
    lines = [line.strip() for line in printed if line.strip()]

    def fits(p: int, n: int) -> bool:
        if p == len(patterns):
            return n == len(lines)
        pattern = patterns[p]
        if pattern is ANY_LINES:
            return any(fits(p + 1, k) for k in range(n, len(lines) + 1))
        return n < len(lines) and bool(pattern.fullmatch(lines[n])) and fits(p + 1, n + 1)

    return fits(0, 0)


def argv(command: str) -> list[str] | None:
    """The command to run for ``command``; ``None`` for one not run here (``pip install``)."""
    words = shlex.split(command, comments=True)
    if words[:2] == ["pip", "install"]:
        return None
    programs = {
        "python": [sys.executable],
        "flask": [sys.executable, "-m", "flask"],
        "hashstore": [sys.executable, "-m", "hashstore"],
    }
    assert words[0] in programs, f"a console block runs {words[0]!r}, which this test does not know"
    return [*programs[words[0]], *words[1:]]


def run_page(name: str, cwd: Path, endpoint: str) -> list[str]:
    """Run every step of the page; the failures, each with what was shown and what printed."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(cwd), os.environ.get("PYTHONPATH")])),
        "PYTHONWARNINGS": "error",
    }
    # What other tests in this process set: the pages' projects name their own settings and app.
    for variable in ("DJANGO_SETTINGS_MODULE", "FLASK_APP", "FLASK_RUN_FROM_CLI"):
        env.pop(variable, None)
    page_steps = steps(ROOT / name if name.startswith("README") else DOCS / name)
    assert page_steps, f"{name} has no console commands"
    failures = []
    for step in page_steps:
        command = argv(step.command)
        if command is None:
            continue
        result = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=180
        )
        printed = (result.stdout + result.stderr).splitlines()
        may_fail = any(line.startswith(("error:", "PROBLEM")) for line in step.output)
        ok = matches(step.output, printed) and (result.returncode == 0 or may_fail)
        if not ok:
            failures.append(
                f"{step.page}:{step.line}: $ {step.command}\n"
                f"exit status {result.returncode}; shown:\n  "
                + "\n  ".join(step.output)
                + "\nprinted:\n  "
                + "\n  ".join(printed)
            )
    return failures


@pytest.fixture
def buckets(moto_server: str) -> Iterator[str]:
    """The buckets the pages name, empty, on moto; yields the endpoint."""
    client = make_client(moto_server)
    for name in BUCKETS:
        client.create_bucket(Bucket=name)
    try:
        yield moto_server
    finally:
        for name in BUCKETS:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
                for item in page.get("Contents", []):
                    client.delete_object(Bucket=name, Key=item["Key"])
            client.delete_bucket(Bucket=name)
        client.close()


def code_block(page: str, language: str, containing: str) -> str:
    """The first ``language`` block of ``docs/page`` that contains ``containing``."""
    text = (DOCS / page).read_text(encoding="utf-8")
    for _, lines in fenced_blocks(text, language):
        if any(containing in line for line in lines):
            return "\n".join(lines) + "\n"
    raise AssertionError(f"{page} has no {language} block with {containing!r}")


@pytest.mark.moto_only
@pytest.mark.parametrize("page", ["README.md", "README.pypi.md", "cli.md"])
def test_the_commands_pages_run_as_written(page: str, buckets: str, tmp_path: Path) -> None:
    make_tree(tmp_path / "static", STATIC)
    make_tree(tmp_path / "vendor", VENDOR)
    failures = run_page(page, tmp_path, buckets)
    assert not failures, "\n\n".join(failures)


@pytest.mark.moto_only
def test_the_django_quickstart_runs_as_written(buckets: str, tmp_path: Path) -> None:
    pytest.importorskip("django", reason="needs Django, which is not installed")
    settings = code_block("quickstart-django.md", "python", "STORAGES")
    make_tree(
        tmp_path,
        {
            "manage.py": MANAGE_PY,
            "mysite/__init__.py": "",
            "mysite/urls.py": "urlpatterns = []\n",
            "mysite/settings.py": DJANGO_SETTINGS_HEAD + settings,
            "templates/index.html": TEMPLATE,
            **{f"static/{name}": body for name, body in STATIC.items()},
        },
    )
    failures = run_page("quickstart-django.md", tmp_path, buckets)
    assert not failures, "\n\n".join(failures)


@pytest.mark.moto_only
def test_the_flask_quickstart_runs_as_written(buckets: str, tmp_path: Path) -> None:
    pytest.importorskip("flask", reason="needs Flask, which is not installed")
    app = code_block("quickstart-flask.md", "python", "create_app")
    make_tree(
        tmp_path,
        {
            "myapp/__init__.py": app,
            "myapp/templates/index.html": "{{ asset_tag('css/app.css') }}\n",
            **{f"myapp/static/{name}": body for name, body in STATIC.items()},
        },
    )
    failures = run_page("quickstart-flask.md", tmp_path, buckets)
    assert not failures, "\n\n".join(failures)


# -- the comparison itself -------------------------------------------------------------------


def test_shown_values_stand_for_any_value_but_words_must_match() -> None:
    shown = [
        "uploaded 9 new file(s) (6.6 kB), 0 already present, 9 in release 1c7fe6bf1050 -> "
        "s3://my-assets/static/ in 0.66s",
        "manifest written to /srv/myapp/instance/hashstore.json",
    ]
    printed = [
        "uploaded 5 new file(s) (120 B), 0 already present, 5 in release 0a1b2c3d4e5f -> "
        "s3://my-assets/static/ in 1.20s",
        "manifest written to /tmp/x/instance/hashstore.json",
    ]
    assert matches(shown, printed)
    assert not matches(shown, [printed[0].replace("uploaded", "stored"), printed[1]])
    assert not matches(shown, printed[:1])
    assert not matches(shown, [*printed, "one more line"])
    assert matches(["a 1", "...", "b 2"], ["a 7", "x", "y", "b 3"])
    assert matches(["fix: put '[...]'"], ["fix: put '[1, 2]'"])
    assert matches(["  indented 1"], ["    indented 2"])
