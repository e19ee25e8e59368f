"""What a user installing from the package index gets: the distribution's name in every install
line, metadata that tox backs, the version, and adapters that name the extra they need.

The built wheel and sdist themselves are checked by ``make package-check`` (``twine check``, a
clean venv with the wheel alone), which CI runs after ``make test``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import hashstore
from hashstore import _extras
from hashstore.cli import main

try:
    import tomllib
except ImportError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DISTRIBUTION: str = PYPROJECT["project"]["name"]

# Every page a user may copy an install line from.
PAGES = sorted(
    [ROOT / "README.md", ROOT / "README.pypi.md", *(ROOT / "docs").glob("*.md")],
    key=str,
)


def _requirement_name(token: str) -> str:
    return re.split(r"[\[<>=!~;@ ]", token.strip("\"'"), maxsplit=1)[0]


def _install_lines(text: str) -> list[str]:
    """The arguments of each ``pip install`` in ``text`` (console blocks and prose alike)."""
    return [m.group(1) for m in re.finditer(r"pip install ([^`\n#]*)", text)]


def test_the_distribution_name_is_not_the_import_name() -> None:
    # `hashstore` on the package index is an unrelated project; ours must never point there.
    assert DISTRIBUTION == "hashstore-static"
    assert _extras.DISTRIBUTION == DISTRIBUTION


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_install_line_names_this_distribution(page: Path) -> None:
    for line in _install_lines(page.read_text(encoding="utf-8")):
        tokens = line.split()
        names = [
            _requirement_name(token)
            for i, token in enumerate(tokens)
            if not token.startswith("-") and not (i and tokens[i - 1] in ("-r", "-c"))
        ]
        for name in names:
            assert name == DISTRIBUTION, f"{page.name}: `pip install {line.strip()}`: {name}"


def test_the_install_line_check_catches_the_wrong_name() -> None:
    wrong = '$ pip install "hashstore[django]"\nwith `pip install hashstore`.'
    assert [_requirement_name(line.split()[0]) for line in _install_lines(wrong)] == [
        "hashstore",
        "hashstore",
    ]


def test_the_installed_distribution_is_this_checkout_with_its_version() -> None:
    assert metadata.version(DISTRIBUTION) == hashstore.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", hashstore.__version__)


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"hashstore {hashstore.__version__}\n"


@pytest.mark.parametrize(
    ("module", "blocked", "framework"),
    [
        ("hashstore.django", "django", "Django"),
        ("hashstore.django.storage", "django", "Django"),
        ("hashstore.flask", "flask", "Flask"),
        ("hashstore.flask", "click", "Flask"),
    ],
)
def test_an_adapter_without_its_framework_names_the_extra(
    module: str, blocked: str, framework: str
) -> None:
    code = f"import sys\nsys.modules[{blocked!r}] = None\nimport {module}\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    adapter = module.removesuffix(".storage")
    assert last.startswith(f"ImportError: {adapter} needs {framework}, which is not installed ")
    assert "(No module named " in last or " halted; None in sys.modules)" in last, last
    assert last.endswith(f'pip install "{DISTRIBUTION}[{framework.lower()}]"'), last


# -- metadata that tox backs -------------------------------------------------------------------


def _tox_envs() -> set[str]:
    """The env names of tox.ini's env_list, with the brace groups expanded."""
    text = (ROOT / "tox.ini").read_text(encoding="utf-8")
    block = re.search(r"^env_list\s*=\n((?:[ \t]+\S.*\n)+)", text, re.M)
    assert block is not None, "tox.ini has no env_list"
    envs: set[str] = set()
    for line in block.group(1).split():
        parts = [[""]]
        for piece in re.split(r"(\{[^}]*\})", line):
            options = piece[1:-1].split(",") if piece.startswith("{") else [piece]
            parts.append(options)
        combos = [""]
        for options in parts:
            combos = [c + o for c in combos for o in options]
        envs.update(combos)
    return envs


def _classified(prefix: str) -> set[str]:
    return {
        c.removeprefix(prefix)
        for c in PYPROJECT["project"]["classifiers"]
        if re.fullmatch(r"\d+\.\d+", c.removeprefix(prefix))
    }


def test_every_classifier_exists() -> None:
    trove = pytest.importorskip("trove_classifiers", reason="the dev extra installs it")
    unknown = set(PYPROJECT["project"]["classifiers"]) - set(trove.classifiers)
    assert not unknown, f"not trove classifiers: {sorted(unknown)}"


def test_each_classified_django_and_python_version_has_tox_envs() -> None:
    envs = _tox_envs()
    factors = {factor for env in envs for factor in env.split("-")}
    for version in _classified("Framework :: Django :: "):
        assert "django" + version.replace(".", "") in factors, f"no tox env for Django {version}"
    pythons = _classified("Programming Language :: Python :: ")
    for version in pythons:
        assert "py" + version.replace(".", "") in factors, f"no tox env for Python {version}"
    assert (
        f">={min(pythons, key=lambda v: tuple(map(int, v.split('.'))))}"
        == (PYPROJECT["project"]["requires-python"])
    )
    for factor in factors:
        if m := re.fullmatch(r"django(\d)(\d+)", factor):
            assert f"{m[1]}.{m[2]}" in _classified("Framework :: Django :: "), factor


def test_the_long_description_has_no_relative_links() -> None:
    readme = PYPROJECT["project"]["readme"]["file"]
    text = (ROOT / readme).read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert all(link.startswith("https://") for link in links), links
    assert "make " not in text  # the repository's commands mean nothing on the index
