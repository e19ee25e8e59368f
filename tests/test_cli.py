from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hashstore.cli import main
from hashstore.settings import Settings

from .helpers import make_tree

FILES = {"css/app.css": "@import 'base.css';", "css/base.css": "body{}", "img/a.png": b"png"}


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "src", FILES)


def test_publish_prints_a_summary_and_writes_the_manifest(
    src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "m.json"
    code = main(
        [
            "publish",
            str(src),
            "--to",
            str(tmp_path / "out"),
            "--manifest",
            str(manifest),
            "--base-url",
            "https://cdn.example.com/static/",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "uploaded 3 new file(s)" in out
    assert f"manifest written to {manifest}" in out
    assert json.loads(manifest.read_text())["base_url"] == "https://cdn.example.com/static/"


def test_publish_json_report(src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "publish",
        str(src),
        "--to",
        str(tmp_path / "out"),
        "--manifest",
        str(tmp_path / "m.json"),
    ]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(report["uploaded"]) == sorted(FILES)
    assert main([*args, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["uploaded"] == []
    assert again["already_present"] == 3


def test_verbose_lists_each_file(
    src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(
        ["publish", str(src), "--to", str(tmp_path / "o"), "--manifest", str(tmp_path / "m"), "-v"]
    )
    out = capsys.readouterr().out
    assert "uploaded img/a.png -> img/a." in out


def test_missing_references_warn_and_strict_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make_tree(tmp_path / "src", {"css/a.css": "\n.x{background:url(nope.png)}"})
    args = [
        "publish",
        str(src),
        "--to",
        str(tmp_path / "out"),
        "--manifest",
        str(tmp_path / "m.json"),
    ]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "warning: css/a.css:2: url(nope.png) -> 'css/nope.png' not found" in err
    (tmp_path / "m.json").unlink()
    assert main([*args, "--strict"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 1 reference(s) point at files in no source root")
    assert not (tmp_path / "m.json").exists()


def test_bad_option_value_is_a_clear_error(src: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["publish", str(src), "--to", "x", "--jobs", "0"])
    assert info.value.code == 2
    assert "--jobs = 0 is invalid: a whole number from 1 to 512" in capsys.readouterr().err


def test_missing_source_directory_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["publish", str(tmp_path / "nope"), "--to", str(tmp_path / "out")]) == 1
    assert str(tmp_path / "nope") in capsys.readouterr().err


def test_url_command(src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = str(tmp_path / "m.json")
    main(
        [
            "publish",
            str(src),
            "--to",
            str(tmp_path / "out"),
            "--manifest",
            manifest,
            "--base-url",
            "https://cdn.example.com/s/",
        ]
    )
    capsys.readouterr()
    assert main(["url", "img/a.png", "--manifest", manifest, "--integrity"]) == 0
    url, integrity = capsys.readouterr().out.split()
    assert url.startswith("https://cdn.example.com/s/img/a.")
    assert url.endswith(".png")
    assert integrity.startswith("sha256-")
    assert main(["url", "img/b.png", "--manifest", manifest]) == 1
    assert "'img/b.png' is not in manifest" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["publish", "--jobs"])
    assert info.value.code == 2
    assert "hashstore publish: error: argument --jobs: expected one argument" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "command",
    [["-m", "hashstore"], ["-c", "from hashstore.cli import main; raise SystemExit(main())"]],
)
def test_python_dash_m_and_the_console_script_run(
    src: Path, tmp_path: Path, command: list[str]
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            *command,
            "publish",
            str(src),
            "--to",
            str(tmp_path / "out"),
            "--manifest",
            str(tmp_path / "m.json"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert result.returncode == 0, result.stderr
    assert "uploaded 3 new file(s)" in result.stdout
    script = Path(sys.executable).parent / "hashstore"
    if script.exists():
        version = subprocess.run([str(script), "--help"], capture_output=True, text=True)
        assert "publish" in version.stdout


def test_help_marks_required_options_and_shows_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["publish", "--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert out.startswith("usage: hashstore publish [-h] --to TARGET ")
    assert "--to TARGET s3://bucket/prefix/ or a directory (required)" in out
    assert "--jobs N parallel requests (default: 32)" in out
    assert "--manifest PATH manifest file (default: hashstore.json)" in out
    assert "--hash-length N hex digits in names (default: 12)" in out
    assert "(default: public, max- age=31536000, immutable)" in out
    assert "--ignore GLOB names to leave out (default: CVS, .*, *~)" in out
    assert "--release ID release id (default: derived from the content)" in out


def test_help_shows_an_adapters_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    defaults = Settings(target="s3://assets/static/", manifest=Path("instance/h.json"), jobs=4)
    with pytest.raises(SystemExit):
        main(["verify", "--help"], defaults=defaults, prog="flask hashstore")
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage: flask hashstore verify [-h] [--to TARGET] ")
    assert "(required)" not in out
    assert "--jobs N parallel requests (default: 4)" in out
    assert "manifest file (default: instance/h.json)" in out
    assert "--base-url URL prefix of asset URLs (default: the manifest's)" in out


@pytest.mark.parametrize(
    "args",
    [
        ["publish", "src", "--to", "x", "--bogus"],
        ["url", "css/app.css", "--bogus"],
        ["releases", "--to", "x", "--bogus"],
        ["verify", "--to", "x", "--bogus"],
        ["prune", "--to", "x", "--bogus"],
        ["doctor", "--to", "x", "--bogus"],
    ],
)
def test_a_bad_flag_after_a_subcommand_prints_its_usage(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: hashstore {args[0]} [-h]")
    assert err.endswith(f"hashstore {args[0]}: error: unrecognized arguments: --bogus\n")


def test_prehashed_and_hashed_pattern_flags_keep_names_and_refuse_changed_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make_tree(
        tmp_path / "src",
        {"vendor/lib-1a2b3c4d.js": "1", "css/app-20240115.css": "a{color:red}", "x.txt": "x"},
    )
    args = ["publish", str(src), "--to", str(tmp_path / "o"), "--manifest", str(tmp_path / "m")]
    trust = ["--prehashed", "vendor/*", r"--hashed-pattern=-\d{8}\.css$"]
    assert main([*args, *trust, "-v"]) == 0
    out = capsys.readouterr().out
    assert "vendor/lib-1a2b3c4d.js: keeps its name (it matches `prehashed`)" in out
    assert "css/app-20240115.css: keeps its name (its name matches `hashed_pattern`)" in out
    files = json.loads((tmp_path / "m").read_text())["files"]
    assert files["vendor/lib-1a2b3c4d.js"]["key"] == "vendor/lib-1a2b3c4d.js"
    assert files["css/app-20240115.css"]["key"] == "css/app-20240115.css"
    assert files["x.txt"]["key"] != "x.txt"

    (src / "css/app-20240115.css").write_text("a{color:tan}")
    assert main([*args, *trust]) == 1
    err = capsys.readouterr().err
    assert f"css/app-20240115.css ({src / 'css/app-20240115.css'}): " in err
    assert f"{tmp_path / 'o' / 'css/app-20240115.css'} holds other bytes of the same size" in err
    # Without the pattern the date is just part of the name: a new key, published.
    assert main([*args, "--prehashed", "vendor/*"]) == 0
    files = json.loads((tmp_path / "m").read_text())["files"]
    assert files["css/app-20240115.css"]["key"].startswith("css/app-20240115.")
    assert files["css/app-20240115.css"]["key"] != "css/app-20240115.css"


def test_warnings_the_core_logs_are_warning_lines(tmp_path: Path) -> None:
    """A warning logged deep in the core (here: the prune lock could not be deleted) reads as
    the command's own warnings do: one ``warning:`` line on stderr, the command still exits 0."""
    script = f"""
import sys
from hashstore.errors import TargetError
from hashstore.targets.base import PRUNE_LOCK_KEY
from hashstore.targets.local import LocalTarget

delete = LocalTarget.delete

def refuse_the_lock(self, keys):
    keys = list(keys)
    if PRUNE_LOCK_KEY in keys:
        raise TargetError("Permission denied", operation="delete", key=PRUNE_LOCK_KEY)
    delete(self, keys)

LocalTarget.delete = refuse_the_lock
from hashstore.cli import main
sys.exit(main(["prune", "--to", {str(tmp_path / "bucket")!r}, "--yes"]))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"warning: could not delete {tmp_path / 'bucket'}/.hashstore/")
    assert "prune.lock (publishes list the target twice until it is 1 day old)" in lines[0]
    assert "Permission denied" in lines[0]
