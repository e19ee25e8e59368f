"""The build benchmark runs end to end on a tiny tree, and its trees are reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hashstore import Settings, build

from .helpers import load_bench_script, tree_bytes

bench = load_bench_script("build")


def test_same_seed_same_tree(tmp_path: Path) -> None:
    first = bench.generate_tree(tmp_path / "a", 120, seed=7)
    bench.generate_tree(tmp_path / "b", 120, seed=7)
    bench.generate_tree(tmp_path / "c", 120, seed=8)
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    assert tree_bytes(tmp_path / "a") != tree_bytes(tmp_path / "c")
    assert first.files == len(tree_bytes(tmp_path / "a"))
    assert first.kinds["css"] == 18
    assert first.kinds["map"] == 12


def test_binary_tree_is_mostly_images_and_fonts(tmp_path: Path) -> None:
    stats = bench.generate_tree(tmp_path, 2000, seed=2, shape="binary")
    assert stats.files == 2000
    binary = sum(stats.kinds[kind] for kind in ("png", "jpg", "svg", "woff2"))
    assert binary / stats.files >= 0.8
    assert 55_000_000 < stats.bytes < 75_000_000  # about 64 MB


def test_generated_references_all_resolve(tmp_path: Path) -> None:
    bench.generate_tree(tmp_path, 200, seed=3)
    result = build(Settings(sources=(tmp_path,), strict=True))  # strict: raises on a missing one
    assert not result.missing
    rewritten = [f for f in result.files.values() if f.content is not None]
    assert len(rewritten) == 30 + 20  # every stylesheet, and every script with a source map


def test_benchmark_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("django")
    out = tmp_path / "build.json"
    argv = ["--sizes", "60", "--binary-sizes", "80", "--repeat", "1", "--big", "--big-mb", "3"]
    assert bench.main([*argv, "--json", str(out), "--workdir", str(tmp_path)]) == 0
    report = json.loads(out.read_text())
    mixed, binary = report["trees"]
    assert (mixed["shape"], mixed["files"]) == ("mixed", 60)
    assert (binary["shape"], binary["files"]) == ("binary", 80)
    for tree in (mixed, binary):
        for command in ("hashstore_cold", "hashstore_warm", "django"):
            assert tree[command]["median_s"] > 0
            assert tree[command]["max_rss_mb"] > 0
        assert tree["ratio"] > 0
    assert report["big"]["bytes"] == 3_000_000
    assert report["big"]["ok"]
    shown = capsys.readouterr().out
    assert "ratio" in shown
    assert "one 3 MB file" in shown
