"""Time ``hashstore publish`` against Django's ``ManifestStaticFilesStorage`` on generated trees.

Usage (from the repository root)::

    .venv/bin/python bench/build.py                          # 500, 2000 and 5000 files, 3 runs each
    .venv/bin/python bench/build.py --sizes 2000 --repeat 5
    .venv/bin/python bench/build.py --big                    # also publish one 200 MB file
    .venv/bin/python bench/build.py --big-only --big-mb 200  # only that
    .venv/bin/python bench/build.py --check                  # exit 1 if a goal of issue 2 is missed

For each size a tree is generated from a seed (the same seed always gives the same bytes):
stylesheets that refer to images and fonts (relative, ``../``, ``../../`` into another app,
root-relative ``/static/...``, ``@import``, ``?v=`` and ``#iefix`` suffixes, ``data:`` and
``https:`` URLs), scripts with ``//# sourceMappingURL`` and their ``.map`` files, and binary
images and fonts of many sizes. Every reference is valid, because Django's storage stops at the
first missing one.

Each command is timed whole, in a fresh subprocess, interpreter start-up included, on the same
tree in the same run: ``hashstore publish TREE --to OUT --manifest M`` into an empty directory
(cold), the same again into the now full directory (warm), and ``django-admin collectstatic
--noinput`` with ``ManifestStaticFilesStorage`` into an empty ``STATIC_ROOT`` (from a minimal
settings module written to a temporary directory). Runs alternate between the commands; the
median of ``--repeat`` runs is reported, with the child's peak resident memory from
``os.wait4`` in a small launcher (so the figure is the command's, not the caller's). A table
is printed and the figures are written as JSON (``--json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "bench" / "results" / "build.json"
MB = 1_000_000
RSS_LIMIT = 100 * 1024 * 1024  # the bound for publishing one 200 MB file
SPEEDUP_GOAL = 3.0  # hashstore at least this much faster than Django on the 2,000-file tree

# The share of each kind of file in a tree (sums to 1): the "mixed" tree.
MIX = {
    "css": 0.15,
    "js": 0.20,
    "map": 0.10,  # one for every other script
    "png": 0.30,
    "jpg": 0.10,
    "svg": 0.05,
    "woff2": 0.10,
}

# The "binary" tree: mostly images and fonts (about 64 MB for 2,000 files), where a build is
# mostly copying bytes, as with a design system's icons or a site's photographs.
BINARY_MIX = {
    "css": 0.08,
    "js": 0.05,
    "map": 0.02,
    "png": 0.45,
    "jpg": 0.13,
    "svg": 0.07,
    "woff2": 0.20,
}

TREE_MIXES = {"mixed": MIX, "binary": BINARY_MIX}


# --- the tree -----------------------------------------------------------------------------


@dataclass
class TreeStats:
    files: int = 0
    bytes: int = 0
    references: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def _counts(total: int, mix: dict[str, float]) -> dict[str, int]:
    counts = {kind: int(total * share) for kind, share in mix.items()}
    counts["png"] += total - sum(counts.values())  # rounding leftovers are images
    counts["map"] = min(counts["map"], counts["js"])
    counts["png"] += total - sum(counts.values())
    return counts


_PROPS = ("color", "margin", "padding", "border", "display", "font-size", "line-height", "width")
_VALUES = ("0", "1px", "4px 8px", "auto", "#3f2a9c", "1.5", "100%", "block", "solid 1px #ccc")


_IMPORT_DEPTH = 3


def _selector(rng: random.Random) -> str:
    parts = [f".c{rng.randrange(5000)}" for _ in range(rng.randint(1, 3))]
    return " > ".join(parts) + rng.choice(("", ":hover", "::before", " a"))


def _declarations(rng: random.Random) -> str:
    return "; ".join(
        f"{rng.choice(_PROPS)}: {rng.choice(_VALUES)}" for _ in range(rng.randint(2, 6))
    )


class _TreeWriter:
    """Writes one tree; every choice comes from one seeded generator, in a fixed order."""

    def __init__(self, root: Path, total: int, seed: int, mix: dict[str, float]) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.apps = max(1, total // 100)
        self.counts = _counts(total, mix)
        self.stats = TreeStats(kinds=dict(self.counts))
        self.images: list[list[str]] = [[] for _ in range(self.apps)]
        self.fonts: list[list[str]] = [[] for _ in range(self.apps)]

    def write(self, name: str, data: bytes) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.stats.files += 1
        self.stats.bytes += len(data)

    def app(self) -> int:
        return self.rng.randrange(self.apps)

    def run(self) -> TreeStats:
        rng = self.rng
        for kind, low, high in (("png", 200, 150_000), ("jpg", 5_000, 300_000)):
            for i in range(self.counts[kind]):
                app = self.app()
                name = f"app{app:02d}/img/{kind}-{i:05d}.{kind}"
                magic = b"\x89PNG\r\n\x1a\n" if kind == "png" else b"\xff\xd8\xff\xe0"
                self.write(name, magic + rng.randbytes(_log_uniform(rng, low, high)))
                self.images[app].append(name)
        for i in range(self.counts["svg"]):
            app = self.app()
            name = f"app{app:02d}/img/icon-{i:05d}.svg"
            paths = "".join(
                f'<path d="M{rng.randrange(24)} {rng.randrange(24)}h{rng.randrange(9)}"/>'
                for _ in range(rng.randint(3, 60))
            )
            svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">{paths}</svg>\n'
            self.write(name, svg.encode())
            self.images[app].append(name)
        for i in range(self.counts["woff2"]):
            app = self.app()
            name = f"app{app:02d}/fonts/font-{i:05d}.woff2"
            self.write(name, b"wOF2" + rng.randbytes(_log_uniform(rng, 8_000, 120_000)))
            self.fonts[app].append(name)
        for app in range(self.apps):  # every app can refer to something of its own
            if not self.images[app]:
                self.images[app].append(self._extra(app, "img/pixel.png"))
            if not self.fonts[app]:
                self.fonts[app].append(self._extra(app, "fonts/default.woff2"))
        self._scripts()
        self._stylesheets()
        return self.stats

    def _extra(self, app: int, tail: str) -> str:
        name = f"app{app:02d}/{tail}"
        self.write(name, self.rng.randbytes(64))
        self.stats.kinds[tail.rsplit(".", 1)[1]] += 1
        return name

    def _scripts(self) -> None:
        rng = self.rng
        for i in range(self.counts["js"]):
            app = self.app()
            base = f"script-{i:05d}.js"
            name = f"app{app:02d}/js/{base}"
            size = _log_uniform(rng, 500, 150_000)
            lines = []
            while size > 0:
                n = rng.randrange(100_000)
                line = f"function f{n}(a, b) {{ return a * {n} + b.length; }} // {n:x}"
                lines.append(line)
                size -= len(line) + 1
            text = "\n".join(lines) + "\n"
            if i < self.counts["map"]:
                text += f"//# sourceMappingURL={base}.map\n"
                mappings = ";".join("AAAA,SAAS" * rng.randint(1, 6) for _ in range(len(lines)))
                source_map = {
                    "version": 3,
                    "file": base,
                    "sources": [f"../src/{base[:-3]}.ts"],
                    "names": [],
                    "mappings": mappings,
                }
                self.write(f"{name}.map", json.dumps(source_map).encode())
            self.write(name, text.encode())

    def _reference(self, app: int, directory: str, pool: list[list[str]]) -> tuple[str, str]:
        """(URL as written from ``directory``, logical name) of a file of this or another app."""
        rng = self.rng
        other = app if rng.random() < 0.8 else rng.randrange(self.apps)
        target = rng.choice(pool[other])
        if rng.random() < 0.05:
            return f"/static/{target}", target
        return os.path.relpath(target, directory).replace(os.sep, "/"), target

    def _url(self, url: str) -> str:
        quote = self.rng.choice(("", '"', "'"))
        return f"url({quote}{url}{quote})"

    def _stylesheets(self) -> None:
        rng = self.rng
        written: list[list[str]] = [[] for _ in range(self.apps)]
        depth: dict[str, int] = {}
        for i in range(self.counts["css"]):
            app = self.app()
            nested = rng.random() < 0.3
            directory = f"app{app:02d}/css" + ("/components" if nested else "")
            name = f"{directory}/style-{i:05d}.css"
            size = _log_uniform(rng, 1_000, 60_000)
            parts: list[str] = []
            # @import only files written before this one, at most _IMPORT_DEPTH deep: Django
            # cannot hash cycles, and needs a pass per level of a chain (5 at most), in the
            # worst case, which depends on the order the file system lists files in.
            choices = [css for css in written[app] if depth[css] < _IMPORT_DEPTH]
            imported = rng.sample(choices, min(len(choices), rng.randint(0, 2)))
            depth[name] = 1 + max((depth[css] for css in imported), default=0)
            for earlier in imported:
                url = os.path.relpath(earlier, directory).replace(os.sep, "/")
                parts.append(rng.choice((f'@import "{url}";', f"@import url({url}) screen;")))
                self.stats.references += 1
            font, _ = self._reference(app, directory, self.fonts)
            parts.append(
                f"@font-face {{ font-family: f{i}; src: url(\"{font}?v=4.7.0\") format('woff2'), "
                f"url('{font}?#iefix') format('embedded-opentype'); }}"
            )
            self.stats.references += 2
            parts.append(f"/* {name}: generated by bench/build.py */")
            length = sum(map(len, parts))
            per_reference, here = rng.randint(800, 3_000), 0
            while length < size:
                declarations = _declarations(rng)
                roll = rng.random()
                if roll < 0.05:
                    declarations += "; background: url(data:image/gif;base64,R0lGODlhAQABAAAAACw=)"
                elif roll < 0.07:
                    declarations += "; background: url(https://cdn.example.com/x.png)"
                elif length // per_reference > here or roll < 0.1:
                    here += 1
                    url, _ = self._reference(app, directory, self.images)
                    suffix = rng.choice(("",) * 8 + ("?v=2", "#frag"))
                    declarations += f"; background-image: {self._url(url + suffix)}"
                    self.stats.references += 1
                rule = f"{_selector(rng)} {{ {declarations}; }}"
                parts.append(rule)
                length += len(rule) + 1
            self.write(name, ("\n".join(parts) + "\n").encode())
            written[app].append(name)


def generate_tree(root: Path, files: int, *, seed: int = 2, shape: str = "mixed") -> TreeStats:
    """Write a tree of about ``files`` files under ``root``: same seed, same bytes.

    :param shape: ``"mixed"`` (:data:`MIX`) or ``"binary"`` (:data:`BINARY_MIX`).
    """
    return _TreeWriter(root, files, seed, TREE_MIXES[shape]).run()


def write_big_file(path: Path, megabytes: int, *, seed: int = 2) -> int:
    """A binary file of ``megabytes`` MB written in 1 MB chunks (never whole in memory)."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for _ in range(megabytes):
            out.write(rng.randbytes(MB))
    return megabytes * MB


# --- running commands ---------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    """User plus system time of the child: less disturbed than wall time by other load."""
    max_rss: int
    """Peak resident memory of the child, bytes."""


# Linux charges an exec'd process with the peak RSS of the process it was forked from (even
# through vfork), so a command started straight from a large parent (a pytest worker) reports
# that parent's peak. A small launcher forks the command and reports its rusage instead.
_LAUNCHER = """\
import json, os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as report:
    json.dump([seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss], report)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_command(argv: list[str], *, env: dict[str, str] | None = None, log: Path) -> Run:
    """Run a command to completion; its wall time and peak memory (its own ``wait4`` rusage).

    :raises RuntimeError: the command failed (its output is in the message).
    """
    usage_file = log.with_name(log.name + ".rusage")
    launcher = [sys.executable, "-S", "-c", _LAUNCHER, str(usage_file), *argv]
    with log.open("wb") as out:
        returncode = subprocess.call(launcher, stdout=out, stderr=subprocess.STDOUT, env=env)
    if returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(argv)} exited {returncode}:\n{tail}")
    seconds, cpu_seconds, max_rss = json.loads(usage_file.read_text())
    usage_file.unlink()
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return Run(seconds, cpu_seconds, max_rss * scale)


def hashstore_command(tree: Path, out: Path, manifest: Path) -> list[str]:
    script = Path(sys.executable).with_name("hashstore")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "hashstore"]
    return [*head, "publish", str(tree), "--to", str(out), "--manifest", str(manifest)]


_DJANGO_SETTINGS = """\
SECRET_KEY = "bench"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["django.contrib.staticfiles"]
STATIC_URL = "/static/"
STATIC_ROOT = {static_root!r}
STATICFILES_DIRS = [{tree!r}]
STORAGES = {{
    "default": {{"BACKEND": "django.core.files.storage.FileSystemStorage"}},
    "staticfiles": {{
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
    }},
}}
"""


def django_command(work: Path, tree: Path, static_root: Path) -> tuple[list[str], dict[str, str]]:
    """``collectstatic`` with ``ManifestStaticFilesStorage`` from a generated settings module."""
    module = "bench_django_settings"
    (work / f"{module}.py").write_text(
        _DJANGO_SETTINGS.format(static_root=str(static_root), tree=str(tree))
    )
    # No .pyc: a rewritten module of the same size and second must not be read stale.
    env = {
        **os.environ,
        "PYTHONPATH": str(work),
        "DJANGO_SETTINGS_MODULE": module,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    argv = [sys.executable, "-m", "django", "collectstatic", "--noinput", "-v", "0"]
    return argv, env


# --- measuring ----------------------------------------------------------------------------


def _summary(runs: list[Run]) -> dict[str, Any]:
    return {
        "median_s": round(statistics.median(r.seconds for r in runs), 3),
        "best_s": round(min(r.seconds for r in runs), 3),
        "runs_s": [round(r.seconds, 3) for r in runs],
        "cpu_median_s": round(statistics.median(r.cpu_seconds for r in runs), 3),
        "max_rss_mb": round(max(r.max_rss for r in runs) / 2**20, 1),
    }


def measure_tree(
    work: Path, files: int, *, repeat: int, seed: int, shape: str = "mixed"
) -> dict[str, Any]:
    """Generate a tree and time the three commands on it, alternating their order."""
    tree = work / f"tree-{shape}-{files}"
    stats = generate_tree(tree, files, seed=seed, shape=shape)
    runs: dict[str, list[Run]] = {"hashstore_cold": [], "hashstore_warm": [], "django": []}
    log = work / "command.log"
    out, static_root, manifest = work / "out", work / "static_root", work / "hashstore.json"
    hashstore_argv = hashstore_command(tree, out, manifest)
    django_argv, django_env = django_command(work, tree, static_root)
    for i in range(repeat):
        for step in ("hashstore", "django") if i % 2 == 0 else ("django", "hashstore"):
            if step == "hashstore":
                runs["hashstore_cold"].append(run_command(hashstore_argv, log=log))
                runs["hashstore_warm"].append(run_command(hashstore_argv, log=log))
                entries = json.loads(manifest.read_text())["files"]
                assert len(entries) == stats.files, (len(entries), stats.files)
            else:
                runs["django"].append(run_command(django_argv, env=django_env, log=log))
                paths = json.loads((static_root / "staticfiles.json").read_text())["paths"]
                assert len(paths) == stats.files, (len(paths), stats.files)
        # Not timed: every cold run starts from an empty directory.
        for path in (out, static_root):
            shutil.rmtree(path, ignore_errors=True)
        manifest.unlink(missing_ok=True)
    shutil.rmtree(tree)
    result: dict[str, Any] = {"shape": shape, "files": stats.files, "tree": asdict(stats)}
    for label, measured in runs.items():
        result[label] = _summary(measured)
    cold, django = result["hashstore_cold"], result["django"]
    result["ratio"] = round(django["median_s"] / cold["median_s"], 2)
    result["cpu_ratio"] = round(django["cpu_median_s"] / cold["cpu_median_s"], 2)
    result["best_ratio"] = round(django["best_s"] / cold["best_s"], 2)
    return result


def measure_big(work: Path, megabytes: int, *, repeat: int, seed: int) -> dict[str, Any]:
    """Publish one big binary file; report time and the child's peak memory."""
    tree = work / "big"
    size = write_big_file(tree / "media" / "big.bin", megabytes, seed=seed)
    runs = []
    for _ in range(repeat):
        out, manifest = work / "big-out", work / "big.json"
        runs.append(run_command(hashstore_command(tree, out, manifest), log=work / "big.log"))
        stored = out / json.loads(manifest.read_text())["files"]["media/big.bin"]["key"]
        assert stored.stat().st_size == size
        shutil.rmtree(out)
    small = work / "small"
    (small / "a.txt").parent.mkdir(parents=True, exist_ok=True)
    (small / "a.txt").write_text("a\n")
    baseline = run_command(
        hashstore_command(small, work / "small-out", work / "small.json"), log=work / "big.log"
    )
    shutil.rmtree(tree)
    return {
        "megabytes": megabytes,
        "bytes": size,
        **_summary(runs),
        "baseline_rss_mb": round(baseline.max_rss / 2**20, 1),
        "limit_mb": RSS_LIMIT / 2**20,
        "ok": max(r.max_rss for r in runs) < RSS_LIMIT,
    }


def machine() -> dict[str, Any]:
    import django

    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
    }


def print_table(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"\n{m['date']}  {m['cpus']} CPUs  Python {m['python']}  Django {m['django']}")
    if report["trees"]:
        header = (
            f"{'tree':>6} {'files':>6} {'tree MB':>8} {'hashstore':>10} {'warm':>7} {'Django':>8} "
            f"{'ratio':>6} {'CPU ratio':>10} {'RSS hashstore':>14} {'RSS Django':>11}"
        )
        print(header)
        print("-" * len(header))
        for t in report["trees"]:
            cold, warm, django = t["hashstore_cold"], t["hashstore_warm"], t["django"]
            print(
                f"{t.get('shape', 'mixed'):>6} {t['files']:>6} {t['tree']['bytes'] / MB:>8.1f} "
                f"{cold['median_s']:>9.2f}s "
                f"{warm['median_s']:>6.2f}s {django['median_s']:>7.2f}s {t['ratio']:>5.1f}x "
                f"{t['cpu_ratio']:>9.1f}x {cold['max_rss_mb']:>11.1f} MB "
                f"{django['max_rss_mb']:>8.1f} MB"
            )
        print(
            f"(median of {report['repeat']} runs, wall time; ratio = Django / hashstore cold; "
            "CPU ratio: the same for user+system time)"
        )
    big = report.get("big")
    if big:
        print(
            f"\none {big['megabytes']} MB file: {big['median_s']:.2f}s, peak RSS "
            f"{big['max_rss_mb']:.1f} MB (a 1-file publish: {big['baseline_rss_mb']:.1f} MB; "
            f"limit {big['limit_mb']:.0f} MB: {'ok' if big['ok'] else 'EXCEEDED'})"
        )


def goals_missed(report: dict[str, Any]) -> list[str]:
    """The goals of issue 2 this report misses (only those it measured)."""
    missed = []
    for t in report["trees"]:
        if t["files"] == 2000 and t["ratio"] < SPEEDUP_GOAL:
            shape = t.get("shape", "mixed")
            missed.append(
                f"2,000 files ({shape}): {t['ratio']}x faster than Django, goal {SPEEDUP_GOAL}x"
            )
    big = report.get("big")
    if big and not big["ok"]:
        missed.append(f"{big['megabytes']} MB file: peak RSS {big['max_rss_mb']} MB >= 100 MB")
    return missed


def _trees(sizes: str, shape: str) -> list[tuple[int, str]]:
    return [(int(size), shape) for size in sizes.split(",") if size.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time hashstore publish against Django's ManifestStaticFilesStorage."
    )
    parser.add_argument(
        "--sizes",
        default="500,2000,5000",
        help="files per tree, comma-separated (default 500,2000,5000)",
    )
    parser.add_argument(
        "--binary-sizes",
        default="2000",
        help="files per tree of mostly images and fonts, comma-separated (default 2000; '' for "
        "none)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (default 3)")
    parser.add_argument("--seed", type=int, default=2, help="seed of the generated trees")
    parser.add_argument("--big", action="store_true", help="also publish one big binary file")
    parser.add_argument("--big-only", action="store_true", help="only the big file")
    parser.add_argument("--big-mb", type=int, default=200, help="size of the big file (200)")
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help=f"where to write the figures ({DEFAULT_JSON})",
    )
    parser.add_argument("--workdir", type=Path, help="where trees go (default: a temp directory)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    trees = (
        [] if args.big_only else _trees(args.sizes, "mixed") + _trees(args.binary_sizes, "binary")
    )

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hashstore-bench-", dir=args.workdir) as tmp:
        work = Path(tmp)
        report: dict[str, Any] = {"machine": machine(), "repeat": args.repeat, "seed": args.seed}
        report["trees"] = []
        for files, shape in trees:
            print(f"{files} files ({shape})...", file=sys.stderr, flush=True)
            report["trees"].append(
                measure_tree(work, files, repeat=args.repeat, seed=args.seed, shape=shape)
            )
        if args.big or args.big_only:
            print(f"one {args.big_mb} MB file...", file=sys.stderr, flush=True)
            report["big"] = measure_big(work, args.big_mb, repeat=args.repeat, seed=args.seed)
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print_table(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"figures written to {args.json}")
    missed = goals_missed(report)
    for line in missed:
        print(f"goal missed: {line}", file=sys.stderr)
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
