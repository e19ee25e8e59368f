"""The order of a publish, pinned: every object, then the release record, then (if a prune was
running) the re-check, and only then the manifest file.

A target wrapper records each call together with what the manifest file held at that moment,
so saving the manifest one step early fails here, on a directory and on S3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hashstore.publish import publish
from hashstore.settings import Settings
from hashstore.targets import Target, open_target
from hashstore.targets.base import PRUNE_LOCK_KEY

from .conftest import S3Bucket
from .helpers import make_tree

FILES = {"css/app.css": "body{background:url(../img/a.png)}", "img/a.png": b"png"}


class Recording:
    """A target that records ``(method, manifest bytes or None)`` for every call."""

    def __init__(self, inner: Target, manifest: Path) -> None:
        self.inner = inner
        self.manifest = manifest
        self.calls: list[tuple[str, bytes | None]] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            state = self.manifest.read_bytes() if self.manifest.exists() else None
            self.calls.append((name, state))
            return attr(*args, **kwargs)

        return call

    def state_at(self, method: str) -> list[bytes | None]:
        return [state for name, state in self.calls if name == method]

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@pytest.fixture(params=["local", "s3"])
def make_settings(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], Settings]]:
    src = make_tree(tmp_path / "src", FILES)
    manifest = tmp_path / "hashstore.json"
    if request.param == "local":
        yield lambda: Settings(target=str(tmp_path / "out"), sources=(src,), manifest=manifest)
        return
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    yield lambda: bucket.settings(sources=(src,), manifest=manifest)


def test_the_manifest_is_saved_after_the_release_record(
    make_settings: Callable[[], Settings],
) -> None:
    settings = make_settings()
    recording = Recording(open_target(settings), settings.manifest)
    try:
        publish(settings, target=recording)  # type: ignore[arg-type]
    finally:
        recording.inner.close()
    assert recording.state_at("put_release") == [None]
    assert recording.names().index("put_release") > max(
        i for i, name in enumerate(recording.names()) if name == "put_if_absent"
    )
    assert settings.manifest.exists()


def test_a_republish_keeps_the_old_manifest_until_the_record_is_written(
    make_settings: Callable[[], Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    publish(settings)
    old = settings.manifest.read_bytes()
    make_tree(tmp_path / "src", {"img/b.png": b"new"})
    recording = Recording(open_target(settings), settings.manifest)
    try:
        publish(settings, target=recording)  # type: ignore[arg-type]
    finally:
        recording.inner.close()
    assert recording.state_at("put_release") == [old]
    assert settings.manifest.read_bytes() != old


def test_the_manifest_is_saved_after_the_re_check_a_running_prune_asks_for(
    make_settings: Callable[[], Settings],
) -> None:
    settings = make_settings()
    target = open_target(settings)
    target.put_record(PRUNE_LOCK_KEY, b"{}")  # a prune is deleting: publish must check again
    recording = Recording(target, settings.manifest)
    try:
        report = publish(settings, target=recording)  # type: ignore[arg-type]
    finally:
        target.close()
    assert report.plan.prune_running
    names = recording.names()
    assert "find_existing" in names[names.index("put_release") :]
    assert recording.state_at("find_existing") == [None]
    assert settings.manifest.exists()
