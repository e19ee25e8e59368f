"""Small helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent.parent / "bench"


def make_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write ``files`` (logical name -> text or bytes) under ``root`` and return ``root``."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` by its ``/``-separated relative name."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def load_bench_script(name: str) -> ModuleType:
    """Import ``bench/<name>.py`` (the benchmarks are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"hashstore_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class is made
    spec.loader.exec_module(module)
    return module


# Runs a command and writes its peak resident memory to a file. The command is started from this
# small interpreter, not from the test process: Linux counts the memory of the process a child
# was forked from in the child's ru_maxrss (the high-water mark survives exec), and a test worker
# is far bigger than the limits the tests check.
_PEAK_RSS_LAUNCHER = """
import os, subprocess, sys
out, argv = sys.argv[1], sys.argv[2:]
proc = subprocess.Popen(argv)
_, status, usage = os.wait4(proc.pid, 0)
scale = 1 if sys.platform == "darwin" else 1024
with open(out, "w") as stream:
    stream.write(str(usage.ru_maxrss * scale))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_peak_rss(argv: list[str], work: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``argv`` to completion; its result (output captured) and its peak RSS in bytes."""
    out = work / "peak-rss.txt"
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS_LAUNCHER, str(out), *argv],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return result, int(out.read_text())
