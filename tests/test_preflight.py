"""Bad input to ``hashstore publish``: refused before anything is written, in the user's terms.

Each case of issue 12's list is run through the command line, as a user meets it, on a local
directory and on S3 where the target matters: exit status, message, and that nothing was
written, overwritten or lost (target objects and records, the manifest file).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hashstore.build import build
from hashstore.cli import main
from hashstore.errors import ManifestError, SourceError
from hashstore.publish import publish
from hashstore.settings import Settings

from .conftest import S3Bucket
from .helpers import make_tree, tree_bytes
from .s3proxy import S3Proxy

FILES = {"css/app.css": "body{background:url(../img/a.png)}", "img/a.png": b"png", "js/x.js": "1"}


@dataclass
class Site:
    """A source tree, a target (directory or bucket) and a manifest path, as a user has them."""

    src: Path
    target: str
    manifest: Path
    flags: list[str]
    bucket: S3Bucket | None

    def publish(self, *extra: str, src: Path | None = None) -> int:
        args = ["publish", str(src or self.src), "--to", self.target]
        return main([*args, "--manifest", str(self.manifest), *self.flags, *extra])

    def stored(self) -> dict[str, bytes]:
        """Every object in the target (records included), by key."""
        if self.bucket is not None:
            return {key: self.bucket.get(key) for key in self.bucket.keys()}  # noqa: SIM118
        root = Path(self.target)
        return tree_bytes(root) if root.exists() else {}

    def settings(self, **changes: object) -> Settings:
        values: dict[str, object] = {
            "target": self.target,
            "sources": (self.src,),
            "manifest": self.manifest,
        }
        if self.bucket is not None:
            values.update(endpoint_url=self.bucket.endpoint_url, region="us-east-1")
        values.update(changes)
        return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["local", "s3"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    src = make_tree(tmp_path / "src", FILES)
    manifest = tmp_path / "site" / "hashstore.json"
    if request.param == "local":
        yield Site(src, str(tmp_path / "out"), manifest, [], None)
        return
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    flags = ["--endpoint-url", bucket.endpoint_url, "--region", "us-east-1"]
    yield Site(src, bucket.target, manifest, flags, bucket)


def _published(site: Site, capsys: pytest.CaptureFixture[str]) -> tuple[bytes, dict[str, bytes]]:
    assert site.publish() == 0
    capsys.readouterr()
    return site.manifest.read_bytes(), site.stored()


# -- empty and shrinking builds ---------------------------------------------------------------


def test_an_empty_build_is_refused_and_the_live_manifest_stays(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest, stored = _published(site, capsys)
    empty = tmp_path / "dist"
    empty.mkdir()
    make_tree(empty, {".gitkeep": ""})  # ignored by the default rules: still nothing to publish

    assert site.publish(src=empty) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: the build has no files: the source directories ({empty})")
    assert "set --allow-empty to publish an empty release on purpose" in err
    assert err.count("\n") == 1  # one line, no traceback
    assert site.manifest.read_bytes() == manifest
    assert site.stored() == stored  # no marker, no record, no object


def test_allow_empty_publishes_an_empty_release(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "dist"
    empty.mkdir()
    assert site.publish("--allow-empty", "--json", src=empty) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["files"] == 0
    assert json.loads(site.manifest.read_text())["files"] == {}
    assert any(key.startswith(".hashstore/releases/") for key in site.stored())


def test_an_empty_build_is_refused_in_a_dry_run_too(tmp_path: Path) -> None:
    empty = tmp_path / "dist"
    empty.mkdir()
    settings = Settings(target=str(tmp_path / "out"), sources=(empty,), manifest=tmp_path / "m")
    with pytest.raises(SourceError, match="the build has no files"):
        publish(settings, dry_run=True)
    assert not (tmp_path / "out").exists()


def test_names_the_previous_manifest_had_are_counted_and_listed(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _published(site, capsys)
    smaller = make_tree(tmp_path / "smaller", {"css/app.css": "body{}"})
    assert site.publish(src=smaller) == 0
    out = capsys.readouterr().out
    assert "; 2 name(s) of the previous manifest are gone: img/a.png, js/x.js\n" in out

    bigger = make_tree(tmp_path / "bigger", {f"n{i}.txt": str(i) for i in range(5)})
    assert site.publish("--json", src=bigger) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == ["css/app.css"]
    assert site.publish(src=smaller) == 0
    assert "5 name(s) of the previous manifest are gone: n0.txt, n1.txt, n2.txt and 2 more" in (
        capsys.readouterr().out
    )


# -- the manifest path, checked before the first upload ---------------------------------------


def _manifest_cases(tmp_path: Path) -> dict[str, tuple[str, str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    a_dir = tmp_path / "a-dir"
    a_dir.mkdir()
    return {
        "directory": (str(a_dir), f"error: manifest {a_dir} is a directory: give --manifest a"),
        "under a file": (
            str(a_file / "sub" / "m.json"),
            f"error: manifest {a_file / 'sub' / 'm.json'} cannot be created: {a_file} is a file, "
            "not a directory; give --manifest a file path in a writable directory",
        ),
        # Read-only even for root, so the check holds whoever runs the tests.
        "unwritable": (
            "/sys/hashstore-test.json",
            "error: manifest /sys/hashstore-test.json cannot be written: /sys: Permission denied",
        ),
    }


def _writable(directory: str) -> bool:
    try:
        Path(directory, "hashstore-test.json").touch()
    except OSError:
        return False
    os.unlink(Path(directory, "hashstore-test.json"))
    return True


@pytest.mark.parametrize("case", ["directory", "under a file", "unwritable"])
def test_an_unusable_manifest_path_fails_before_any_upload(
    site: Site, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if case == "unwritable" and _writable("/sys"):
        pytest.skip("/sys accepts new files on this system")
    path, message = _manifest_cases(tmp_path)[case]
    site.manifest = Path(path)
    before = tree_bytes(tmp_path)
    assert site.publish() == 1
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert "Traceback" not in err
    assert site.stored() == {}  # not even the pending marker
    after = tree_bytes(tmp_path)
    assert after == before  # no probe file or directory left behind


def test_an_empty_manifest_path_is_a_usage_error(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["publish", str(site.src), "--to", site.target, "--manifest", "", *site.flags])
    assert info.value.code == 2
    assert "error: --manifest cannot be empty: give a file path" in capsys.readouterr().err
    assert site.stored() == {}


def test_a_manifest_that_cannot_be_saved_is_a_manifest_error_after_the_record(
    site: Site, tmp_path: Path
) -> None:
    """The check passed, then the directory went away (a file took its place): the record is
    written, the manifest is not, the message names the path and what to do, and a rerun once
    fixed uploads nothing."""
    folder = site.manifest.parent

    def break_the_folder(_plan: object) -> None:
        folder.rmdir() if folder.is_dir() else None
        folder.write_text("now a file")

    with pytest.raises(ManifestError) as info:
        publish(site.settings(), on_plan=break_the_folder)
    message = str(info.value)
    assert message.startswith(f"cannot write manifest {site.manifest}: ")
    assert "Make its directory writable, or give manifest another path, and publish again" in (
        message
    )
    assert any(key.startswith(".hashstore/releases/") for key in site.stored())
    folder.unlink()
    report = publish(site.settings())
    assert report.uploaded == ()
    assert json.loads(site.manifest.read_text())["release"] == report.manifest.release


# -- targets and settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--to", "s3:/bucket/x"],
            "--to = 's3:/bucket/x' is invalid: an S3 target is written s3://bucket/prefix/ "
            "(two slashes): s3://bucket/x",
        ),
        (["--to", "s3:bucket"], "--to = 's3:bucket' is invalid: an S3 target is written"),
        (
            ["--to", "out", "--endpoint-url", "http://127.0.0.1:9000"],
            "--endpoint-url applies to S3 targets only, but --to = 'out' is a directory",
        ),
        (["--to", "out", "--no-conditional-writes"], "--no-conditional-writes applies to S3"),
        (["--to", "out", "--checksum", "md5"], "--checksum applies to S3 targets only"),
        (["--to", "out", "--acl", "private"], "--acl applies to S3 targets only"),
        (["--to", "out", "--region", "eu-west-1"], "--region applies to S3 targets only"),
        (["--to", "out", "--profile", "x"], "--profile applies to S3 targets only"),
        (
            ["--to", "s3://bucket/", "--endpoint-url", "127.0.0.1:5077"],
            "--endpoint-url = '127.0.0.1:5077' is invalid: a URL with a scheme and a host, e.g. "
            "http://127.0.0.1:9000; did you mean 'http://127.0.0.1:5077'?",
        ),
        (
            ["--to", "s3://bucket/", "--region", "eu west 1"],
            "--region = 'eu west 1' is invalid: a region name such as eu-west-1",
        ),
        (
            ["--to", "out", "--base-url", "cdn.example.com/static/"],
            "--base-url = 'cdn.example.com/static/' is invalid: a URL "
            "(https://cdn.example.com/static/, //cdn.example.com/static/) or a path starting "
            "with / (/static/); did you mean 'https://cdn.example.com/static/'?",
        ),
    ],
)
def test_mistyped_targets_and_settings_are_usage_errors_that_write_nothing(
    flags: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src = make_tree(tmp_path / "src", FILES)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["publish", str(src), *flags, "--json"])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert f"hashstore publish: error: {message}" in captured.err
    error = json.loads(captured.out)["error"]
    assert (error["type"], error["exit_code"]) == ("UsageError", 2)
    assert message in error["message"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # no `s3:` folder, no manifest


def test_a_target_that_is_a_regular_file_is_named_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make_tree(tmp_path / "src", FILES)
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    manifest = tmp_path / "m.json"
    assert main(["publish", str(src), "--to", str(target), "--manifest", str(manifest)]) == 1
    assert capsys.readouterr().err == (
        f"error: target {target} is an existing file, not a directory: give --to a directory "
        "(created if missing) or s3://bucket/prefix/\n"
    )
    assert target.read_text() == "mine"
    assert not manifest.exists()


def test_publish_without_sources_or_target_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["publish", "--to", str(tmp_path / "out")])
    assert info.value.code == 2
    assert "hashstore publish: error: no source directories" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["publish", str(tmp_path)])
    assert info.value.code == 2
    assert "hashstore publish: error: the following arguments are required: --to" in (
        capsys.readouterr().err
    )
    assert sorted(tmp_path.iterdir()) == []


# -- references and encodings -------------------------------------------------------------------


def test_a_reference_climbing_out_of_the_root_warns_and_fails_with_strict(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest, stored = _published(site, capsys)
    make_tree(tmp_path / "outside", {"x.png": b"beside the source root, never published"})
    climbing = make_tree(
        tmp_path / "climbing" / "root",
        {"css/a.css": "body{}\n.x{background:url(../../../outside/x.png)}"},
    )
    where = (
        "css/a.css:2: url(../../../outside/x.png) -> '../../outside/x.png' is outside the "
        "source root"
    )

    assert site.publish("--strict", src=climbing) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 1 reference(s) point at files in no source root")
    assert where in err
    assert "Traceback" not in err
    assert site.manifest.read_bytes() == manifest
    assert site.stored() == stored

    assert site.publish("--dry-run", src=climbing) == 0  # without --strict: said, not skipped
    assert f"warning: {where}" in capsys.readouterr().err


def test_css_in_utf16_that_does_not_decode_is_an_error_that_writes_nothing(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest, stored = _published(site, capsys)
    broken = make_tree(
        tmp_path / "broken", {"css/a.css": b"\xff\xfe" + ".a{}".encode("utf-16-le") + b"\x00"}
    )
    assert site.publish(src=broken) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "a.css: its byte order mark says UTF-16-LE" in err
    assert err.count("\n") == 1
    assert site.manifest.read_bytes() == manifest
    assert site.stored() == stored


# -- one message per failure ---------------------------------------------------------------------


def test_a_failed_publish_with_json_prints_an_error_object(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make_tree(tmp_path / "src", FILES)
    s3_proxy.inject(403, "AccessDenied", "Access Denied", operation="PutObject", times=None)
    manifest = tmp_path / "m.json"
    code = main(
        [
            "publish",
            str(src),
            "--to",
            s3_bucket.target,
            "--endpoint-url",
            s3_proxy.url,
            "--manifest",
            str(manifest),
            "--json",
        ]
    )
    assert code == 1
    captured = capsys.readouterr()
    error = json.loads(captured.out)["error"]
    assert error["type"] == "PublishError"
    assert error["exit_code"] == 1
    assert sorted(f["key"].split(".")[0] for f in error["failures"]) == ["css/app", "img/a", "js/x"]
    assert captured.err == f"error: {error['message']}\n"
    # The pending marker failed for the same reason: told once, within the one error.
    assert captured.err.lower().count("access denied") == 1
    assert "could not write the pending marker" not in captured.err
    assert not manifest.exists()
    assert s3_bucket.keys() == []


def test_a_pending_marker_that_failed_alone_is_one_warning(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make_tree(tmp_path / "src", FILES)
    release = build(Settings(sources=(src,))).release
    marker = f".hashstore/pending/{release}.json"
    s3_proxy.inject(403, "AccessDenied", "Access Denied", operation="PutObject", key=marker)
    args = ["publish", str(src), "--to", s3_bucket.target, "--endpoint-url", s3_proxy.url]
    assert main([*args, "--manifest", str(tmp_path / "m.json")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("warning: the pending marker could not be written (")
