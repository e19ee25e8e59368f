"""tests.frontend_fixtures: the fixture projects are built again exactly when an input changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from . import frontend_fixtures


def copy_projects(tmp_path: Path) -> Path:
    projects = tmp_path / "projects"
    for name in frontend_fixtures.NAMES:
        shutil.copytree(frontend_fixtures.PROJECTS / name, projects / name)
    return projects


def test_the_output_path_follows_every_input_and_nothing_else(tmp_path: Path) -> None:
    projects = copy_projects(tmp_path)
    cache = tmp_path / "cache"
    first = frontend_fixtures.output_path("vite", cache, projects)

    # What npm and the bundler write is not an input.
    (projects / "vite" / "node_modules" / "x").mkdir(parents=True)
    (projects / "vite" / "node_modules" / "x" / "index.js").write_text("1")
    (projects / "vite" / "dist").mkdir()
    (projects / "vite" / "dist" / "a.js").write_text("1")
    assert frontend_fixtures.output_path("vite", cache, projects) == first

    source = projects / "vite" / "src" / "lib" / "data.js"
    source.write_text(source.read_text() + "\n")
    changed = frontend_fixtures.output_path("vite", cache, projects)
    assert changed != first
    assert changed.parent == first.parent == cache / "vite"

    lock = projects / "vite" / "package-lock.json"
    lock.write_text(lock.read_text() + "\n")
    assert frontend_fixtures.output_path("vite", cache, projects) not in (first, changed)


def test_a_cached_output_is_used_without_npm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects = copy_projects(tmp_path)
    cache = tmp_path / "cache"
    dest = frontend_fixtures.output_path("webpack", cache, projects)
    dest.mkdir(parents=True)
    monkeypatch.setattr(frontend_fixtures, "npm_command", lambda: None)

    assert frontend_fixtures.built("webpack", cache, projects) == dest
    shutil.rmtree(dest)
    with pytest.raises(frontend_fixtures.FixtureBuildError, match="npm is not installed"):
        frontend_fixtures.built("webpack", cache, projects)
