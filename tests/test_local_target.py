"""The directory target stores the build's bytes and nothing else, copied by the kernel."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hashstore.build import build
from hashstore.errors import PublishError, TargetError
from hashstore.publish import publish
from hashstore.settings import Settings
from hashstore.targets.local import LOCAL_THREADS_PER_CORE, LocalTarget

from .helpers import make_tree, tree_bytes

# Big enough for several copy_file_range/sendfile calls' worth of pages, small enough to be quick.
BIG = bytes(range(256)) * 8192  # 2 MiB

FILES = {
    "css/app.css": ".a{background:url(../img/a.png)}",  # rewritten: its bytes come from memory
    "img/a.png": b"\x89PNG-a" * 1000,
    "fonts/f.woff2": b"wOF2" + BIG,
    "empty.txt": b"",
}


@pytest.fixture(params=["unnamed", "named"])
def temp_files(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a copy is made before it gets its hashed name: an unnamed ``O_TMPFILE`` linked
    into place (Linux), or a named temporary file (other systems, other file systems)."""
    if request.param == "named":
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    elif not hasattr(os, "O_TMPFILE"):
        pytest.skip("no O_TMPFILE on this system")
    return str(request.param)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    make_tree(tmp_path / "src", FILES)
    return Settings(
        sources=(tmp_path / "src",),
        target=str(tmp_path / "out"),
        manifest=tmp_path / "hashstore.json",
    )


def _stored(settings: Settings) -> dict[str, bytes]:
    root = Path(str(settings.target))
    return tree_bytes(root) if root.exists() else {}


def _hashed_files(settings: Settings) -> dict[str, bytes]:
    return {k: v for k, v in _stored(settings).items() if not k.startswith(".hashstore/")}


def test_stored_bytes_are_the_builds(settings: Settings, temp_files: str) -> None:
    built = build(settings)
    publish(settings, built=built)
    stored = _hashed_files(settings)
    assert sorted(stored) == sorted(f.key for f in built.files.values())
    for f in built.files.values():
        assert hashlib.sha256(stored[f.key]).hexdigest() == f.digest
    for path in Path(str(settings.target)).rglob("*"):
        assert ".hashstore-tmp-" not in path.name
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda data: bytes([data[0] ^ 1]) + data[1:], id="same-size"),
        pytest.param(lambda data: data + b"!", id="grew"),
        pytest.param(lambda data: data[:-1], id="shrank"),
    ],
)
def test_a_source_changed_since_the_build_is_refused(
    settings: Settings, temp_files: str, change: Callable[[bytes], bytes]
) -> None:
    built = build(settings)
    font = Path(settings.sources[0]) / "fonts/f.woff2"
    font.write_bytes(change(font.read_bytes()))
    key = built.files["fonts/f.woff2"].key

    with pytest.raises(PublishError) as caught:
        publish(settings, built=built)

    message = str(caught.value)
    assert f"{font} changed since the build read it" in message
    assert f"nothing was stored under {Path(str(settings.target)) / key}" in message
    stored = _stored(settings)
    assert key not in stored
    assert not any(".hashstore-tmp-" in name for name in stored)
    assert not any(name.startswith(".hashstore/releases/") for name in stored)
    assert not settings.manifest.exists()
    # The other files went in: a rerun (which builds again) stores only what is missing.
    assert built.files["img/a.png"].key in stored
    again = publish(settings)
    assert again.uploaded == ("fonts/f.woff2",)


def test_refused_file_leaves_the_hashed_name_free(tmp_path: Path, temp_files: str) -> None:
    make_tree(tmp_path / "src", {"a.bin": b"one"})
    settings = Settings(sources=(tmp_path / "src",), target=str(tmp_path / "out"))
    (built,) = build(settings).files.values()
    (tmp_path / "src/a.bin").write_bytes(b"two")
    target = LocalTarget(tmp_path / "out")
    try:
        with pytest.raises(TargetError, match="changed since the build") as caught:
            target.put_if_absent(built)
        assert caught.value.key == built.key
        assert target.stat(built.key) is None
        assert list((tmp_path / "out").iterdir()) == []
        # Once the file holds the built bytes again, it is stored.
        (tmp_path / "src/a.bin").write_bytes(b"one")
        assert target.put_if_absent(built) is True
        assert target.read(built.key) == b"one"
    finally:
        target.close()


def _refuse(name: str, calls: list[str]) -> Callable[..., int]:
    def refused(*args: object) -> int:
        calls.append(name)
        raise OSError(errno.EXDEV, f"{name} refused (test)")

    return refused


@pytest.mark.parametrize("refused", [(), ("copy_file_range",), ("copy_file_range", "sendfile")])
def test_every_way_of_copying_checks_the_digest(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, refused: tuple[str, ...]
) -> None:
    """The kernel copies when it can (copy_file_range, else sendfile), else Python does."""
    calls: list[str] = []
    for name in ("copy_file_range", "sendfile"):
        real = getattr(os, name, None)
        if name in refused or real is None:
            monkeypatch.setattr(os, name, _refuse(name, calls), raising=False)
        else:

            def counted(*args: int, _real: Callable[..., int] = real, _name: str = name) -> int:
                calls.append(_name)
                return _real(*args)

            monkeypatch.setattr(os, name, counted)
    built = build(settings)
    publish(settings, built=built)
    for f in built.files.values():
        assert hashlib.sha256(_stored(settings)[f.key]).hexdigest() == f.digest
    copied_by_kernel = [n for n in ("copy_file_range", "sendfile") if n not in refused]
    if copied_by_kernel and hasattr(os, "copy_file_range") and os.uname().sysname == "Linux":
        assert copied_by_kernel[0] in calls  # the first way that works copies the files

    font = Path(settings.sources[0]) / "fonts/f.woff2"
    built = build(settings)
    font.write_bytes(font.read_bytes() + b"more")
    Path(str(settings.target)).joinpath(built.files["fonts/f.woff2"].key).unlink()
    with pytest.raises(PublishError, match="changed since the build"):
        publish(settings, built=built)


def test_copies_run_on_a_few_threads_per_core(tmp_path: Path) -> None:
    make_tree(tmp_path / "src", {f"img/{i}.png": b"\x89PNG" + bytes([i]) for i in range(200)})
    cap = LOCAL_THREADS_PER_CORE * (os.cpu_count() or 1)
    settings = Settings(
        sources=(tmp_path / "src",),
        target=str(tmp_path / "out"),
        manifest=tmp_path / "m.json",
        jobs=min(512, cap + 32),
    )
    threads: set[str] = set()

    class Watched(LocalTarget):
        def put_if_absent(self, file):  # type: ignore[no-untyped-def]
            # The pool starts its threads as work is queued: all of them exist by now.
            threads.update(
                t.name for t in threading.enumerate() if t.name.startswith("hashstore-upload")
            )
            return super().put_if_absent(file)

    target = Watched(tmp_path / "out")
    try:
        publish(settings, target=target)
    finally:
        target.close()
    assert 1 <= len(threads) <= cap
    assert LocalTarget(tmp_path).upload_workers(1) == 1
    # The configuration reference says how many: the same number.
    doc = Settings.__dataclass_fields__["jobs"].metadata["doc"]
    assert f"at most {LOCAL_THREADS_PER_CORE} threads per core" in doc


def test_iter_bytes_streams_in_chunks(tmp_path: Path) -> None:
    make_tree(tmp_path, {"big.bin": BIG})
    target = LocalTarget(tmp_path)
    chunks: Iterator[bytes] = target.iter_bytes("big.bin", chunk_size=300_000)
    sizes = [len(chunk) for chunk in chunks]
    assert sizes == [300_000] * 6 + [len(BIG) - 1_800_000]
    assert b"".join(target.iter_bytes("big.bin")) == BIG
    with pytest.raises(TargetError, match="cannot read"):
        list(target.iter_bytes("missing.bin"))
