"""Where radosgw cannot be installed, ``make test-rgw`` skips its tests saying why, never silently.

The ``radosgw`` fixture (tests/conftest.py) asks :func:`tests.radosgw.install_or_reason`, which
runs ``scripts/ensure-debian.sh radosgw`` only when a Ceph program is missing; these tests give it
a stand-in installer, so they run anywhere, with or without Ceph.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import radosgw


def installer(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "ensure-debian.sh"
    script.write_text(f"#!/usr/bin/env bash\n{body}\n")
    return script


def test_an_installer_that_fails_gives_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(radosgw, "missing_binaries", lambda: ["radosgw", "ceph-mon"])
    said = "ensure-radosgw: radosgw ceph-mon not installed and installing them needs root"
    script = installer(tmp_path, f"echo '{said}' >&2; exit 1")

    reason = radosgw.install_or_reason(script)

    assert reason is not None
    assert said in reason
    assert "radosgw, ceph-mon missing" in reason


def test_programs_still_missing_after_the_installer_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(radosgw, "missing_binaries", lambda: ["monmaptool"])
    script = installer(tmp_path, "echo 'ensure-radosgw: installed /usr/bin/radosgw'")

    reason = radosgw.install_or_reason(script)

    assert reason is not None
    assert "monmaptool missing" in reason


def test_an_installer_that_installs_everything_gives_no_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = [["radosgw"], []]  # before the installer runs, and after
    monkeypatch.setattr(radosgw, "missing_binaries", lambda: missing.pop(0))
    marker = tmp_path / "ran"
    script = installer(tmp_path, f"touch {marker}")

    assert radosgw.install_or_reason(script) is None
    assert marker.exists()


def test_the_installer_is_not_run_when_everything_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(radosgw, "missing_binaries", list)
    marker = tmp_path / "ran"
    script = installer(tmp_path, f"touch {marker}; exit 1")

    assert radosgw.install_or_reason(script) is None
    assert not marker.exists()
