"""SIGINT and SIGTERM stop publish, prune and verify at a safe point, recording nothing.

The publish tests run the command line in a subprocess against moto through the counting proxy,
signal it once uploads are under way, and assert state rather than time: the exit status and
its one line, no release record and no manifest, how many uploads started after the signal
(those already sending, not the queue), and that a rerun uploads exactly what is missing.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from hashstore.errors import Interrupted
from hashstore.manifest import Manifest
from hashstore.progress import Progress, StatusLine, StopRequest
from hashstore.publish import INTERRUPTED, publish
from hashstore.retention import prune
from hashstore.settings import Settings
from hashstore.targets import ObjectInfo, open_target
from hashstore.targets.base import PRUNE_LOCK_KEY, pending_key
from hashstore.targets.local import LocalTarget
from hashstore.verify import verify

from .conftest import S3Bucket
from .helpers import make_tree
from .s3proxy import S3Proxy
from .test_releases import T0, publish_release, release_files
from .test_retention import Interleaved, stored_keys

FILES = 2000
JOBS = 8


def many_files(root: Path, count: int = FILES) -> Path:
    return make_tree(root, {f"img/{i:04}.txt": f"file {i}\n" for i in range(count)})


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def object_keys(bucket: S3Bucket) -> list[str]:
    return [key for key in bucket.keys() if not key.startswith(".hashstore/")]  # noqa: SIM118


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_2000_file_publish_and_a_rerun_uploads_the_rest(
    signum: int,
    code: int,
    s3_bucket: S3Bucket,
    s3_proxy: S3Proxy,
    tmp_path: Path,
) -> None:
    src = many_files(tmp_path / "src")
    manifest = tmp_path / "hashstore.json"
    command = [
        sys.executable,
        "-m",
        "hashstore",
        "publish",
        str(src),
        "--to",
        s3_bucket.target,
        "--endpoint-url",
        s3_proxy.url,
        "--manifest",
        str(manifest),
        "--jobs",
        str(JOBS),
    ]
    # Slow enough that 2,000 uploads take far longer than the test waits for one signal.
    s3_proxy.set_faults(latency=0.05)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: s3_proxy.operations["PutObject"] >= 40, "uploads to start")
        at_signal = s3_proxy.operations["PutObject"]
        child.send_signal(signum)
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == code, err
    assert err.strip().splitlines() == [INTERRUPTED]
    assert "Traceback" not in err
    assert out == ""
    # Queued uploads were cancelled: only those already being sent (at most one per worker,
    # plus what the workers began while the stop was being noticed) came after the signal.
    uploads = s3_proxy.operations["PutObject"] - 1  # the pending marker
    assert uploads < FILES
    assert s3_proxy.operations["PutObject"] - at_signal <= 3 * JOBS
    keys = s3_bucket.keys()
    assert not [key for key in keys if key.startswith(".hashstore/releases/")]
    assert not manifest.exists()
    stored = object_keys(s3_bucket)
    assert len(stored) == uploads
    # The pending marker stays, as after any failure: a prune keeps these objects for a day.
    assert [key for key in keys if key.startswith(".hashstore/pending/")]

    s3_proxy.reset()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"uploaded {FILES - len(stored)} new file(s)" in rerun.stdout
    assert f"{len(stored)} already present" in rerun.stdout
    assert s3_proxy.operations["PutObject"] == FILES - len(stored) + 2  # marker, record
    release = Manifest.load(manifest)
    assert len(object_keys(s3_bucket)) == FILES
    assert f".hashstore/releases/{release.release}.json" in s3_bucket.keys()  # noqa: SIM118


def stop_when(condition: Callable[[], bool], stop: StopRequest, signum: int) -> threading.Thread:
    """Set ``stop`` from another thread once ``condition`` holds (as a signal handler would)."""

    def watch() -> None:
        wait_for(condition, "the moment to stop")
        stop.set(signum)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_multipart_upload_in_flight_is_aborted(
    s3_bucket: S3Bucket, s3_proxy: S3Proxy, tmp_path: Path
) -> None:
    mib = 1024 * 1024
    src = make_tree(tmp_path / "src", {"big.bin": bytes(range(256)) * (30 * mib // 256)})
    settings = s3_bucket.settings(
        endpoint_url=s3_proxy.url,
        sources=(src,),
        manifest=tmp_path / "m.json",
        multipart_threshold=5 * mib,
        multipart_chunksize=5 * mib,
        jobs=2,
    )
    s3_proxy.set_faults(latency=0.2, operations=frozenset({"UploadPart"}))
    stop = StopRequest()
    stop_when(lambda: s3_proxy.operations["UploadPart"] >= 1, stop, signal.SIGTERM)
    with pytest.raises(Interrupted) as exc:
        publish(settings, progress=Progress(stop=stop))
    assert str(exc.value) == INTERRUPTED
    assert exc.value.exit_code == 143
    assert s3_proxy.operations["AbortMultipartUpload"] == 1
    assert s3_proxy.operations["CompleteMultipartUpload"] == 0
    assert s3_proxy.operations["UploadPart"] < 6  # 30 MiB in 5 MiB parts
    assert s3_bucket.client.list_multipart_uploads(Bucket=s3_bucket.name).get("Uploads", []) == []
    assert object_keys(s3_bucket) == []
    assert not (tmp_path / "m.json").exists()


def test_a_stop_during_hashing_stops_before_the_marker(tmp_path: Path) -> None:
    src = many_files(tmp_path / "src", 300)
    settings = Settings(sources=(src,), target=str(tmp_path / "out"), manifest=tmp_path / "m")
    stop = StopRequest()

    class Stopping(Progress):
        def advance(self, count: int = 1) -> None:
            stop.set(signal.SIGINT)

    with pytest.raises(Interrupted, match=r"^interrupted: nothing recorded"):
        publish(settings, progress=Stopping(stop=stop))
    assert not (tmp_path / "out").exists()  # not even a pending marker
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("when", ["the last upload", "the last check before the record"])
def test_a_stop_after_the_uploads_still_records_nothing(tmp_path: Path, when: str) -> None:
    """The check just before the release record: the record is what makes a release live.

    A stop asked as the last upload completes is seen by the upload loop; one that comes later
    (while the upload threads are joined) only by publish's own check before the record: that
    one is the first check after the upload loop's last (a signal arriving then).
    """
    src = many_files(tmp_path / "src", 30)
    settings = Settings(sources=(src,), target=str(tmp_path / "out"), manifest=tmp_path / "m")
    stop = StopRequest()

    class StopAfterUploads(Progress):
        left = 0
        checks_after = 0

        def phase(self, name: str, total: int | None = None, *, unit: str = "file") -> None:
            self.left = total or 0 if name == "uploading" else -1

        def advance(self, count: int = 1) -> None:
            self.left -= count
            if self.left == 0 and when == "the last upload":
                stop.set(signal.SIGINT)

        def check(self, message: str = "interrupted") -> None:
            if self.left == 0 and when != "the last upload":
                self.checks_after += 1
                if self.checks_after == 2:  # the upload loop's last check has passed
                    stop.set(signal.SIGINT)
            super().check(message)

    with pytest.raises(Interrupted):
        publish(settings, progress=StopAfterUploads(stop=stop))
    target = LocalTarget(tmp_path / "out")
    assert not [key for key in stored_keys(target) if key.startswith(".hashstore/releases/")]
    assert not (tmp_path / "m").exists()
    # Every upload happened and the marker stays: a rerun uploads nothing and records.
    markers = [key for key in stored_keys(target) if key.startswith(".hashstore/pending/")]
    assert len(markers) == 1
    rerun = publish(settings)
    assert rerun.uploaded == ()
    assert markers == [pending_key(rerun.manifest.release)]


def test_prune_stops_between_batches_and_releases_its_lock(tmp_path: Path) -> None:
    settings = Settings(target=str(tmp_path / "bucket"))
    old = publish_release(settings, release_files(1), work=tmp_path, at=T0)
    publish_release(settings, release_files(2), work=tmp_path, at=T0 + timedelta(days=1))
    junk = [ObjectInfo(f"junk/{i:04}.txt", 1, T0) for i in range(2500)]
    stop = StopRequest()
    target = Interleaved(
        open_target(settings), listed_too=junk, after_delete=lambda: stop.set(signal.SIGINT)
    )
    with pytest.raises(Interrupted) as exc:
        prune(
            settings,
            keep_releases=1,
            keep_days=0,
            dry_run=False,
            target=target,  # type: ignore[arg-type]
            progress=Progress(stop=stop),
        )
    assert str(exc.value).startswith(
        "interrupted: prune stopped after deleting 1000 of 2504 object(s), between batches"
    )
    assert exc.value.exit_code == 130
    # One batch, then the lock went; the dropped release's record is still there.
    assert [len(batch) for batch in target.deletes] == [1000, 1]
    assert target.deletes[-1] == [PRUNE_LOCK_KEY]
    assert f".hashstore/releases/{old.release}.json" in stored_keys(target.inner)


def test_verify_stops_between_objects(tmp_path: Path) -> None:
    settings = Settings(target=str(tmp_path / "bucket"), jobs=1)
    manifest = publish_release(settings, release_files(1), work=tmp_path)
    stop = StopRequest()

    stats: list[str] = []

    class Slow(LocalTarget):
        def stat(self, key: str) -> ObjectInfo | None:
            stats.append(key)
            stop.set(signal.SIGINT)
            time.sleep(0.2)
            return super().stat(key)

    with pytest.raises(Interrupted, match=r"^interrupted: verify stopped after [01] of 5 object"):
        verify(settings, manifest, target=Slow(Path(settings.target)), progress=Progress(stop=stop))
    assert len(stats) == 1  # one check at a time (jobs=1); the queued ones were cancelled


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers need the main thread",
)
def test_the_cli_turns_a_signal_into_its_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process: the handlers main() installs set the stop; publish exits 143 with one line."""
    import importlib

    from hashstore.cli import main

    publish_module = importlib.import_module("hashstore.publish")

    src = many_files(tmp_path / "src", 200)

    class Signalling(LocalTarget):
        sent = False

        def put_if_absent(self, file: object) -> bool:
            if not Signalling.sent:
                Signalling.sent = True
                signal.raise_signal(signal.SIGTERM)
            return super().put_if_absent(file)  # type: ignore[arg-type]

    monkeypatch.setattr(
        publish_module, "open_target", lambda settings: Signalling(Path(settings.target))
    )
    before = signal.getsignal(signal.SIGTERM)
    code = main(["publish", str(src), "--to", str(tmp_path / "out"), "--jobs", "1"])
    assert code == 143
    assert capsys.readouterr().err.strip() == INTERRUPTED
    assert signal.getsignal(signal.SIGTERM) == before  # handlers put back
    assert not (tmp_path / "hashstore.json").exists()


def test_status_line_draws_counts_rate_and_eta_and_clears_itself() -> None:
    from io import StringIO

    stream = StringIO()
    line = StatusLine(stream, enabled=True)
    line.phase("uploading", 4)
    line._started -= 2.0  # two seconds in
    line.advance(2)
    assert line.text() == "uploading 2/4 files  1/s  ETA 2s"
    line.advance(2)
    line.done()
    written = stream.getvalue()
    assert "\ruploading 0/4 files" in written
    assert "\ruploading 4/4 files" in written
    assert written.endswith("\r")
    assert written.rsplit("\r", 2)[-2].strip() == ""


def test_status_line_is_silent_off_a_terminal() -> None:
    from io import StringIO

    stream = StringIO()
    line = StatusLine(stream)  # StringIO is no terminal
    line.phase("hashing", 10)
    line.advance(10)
    line.done()
    assert stream.getvalue() == ""


class _SignalOnFirstUpload(LocalTarget):
    """A directory that sends this process SIGTERM as its first upload begins."""

    sent = False

    def put_if_absent(self, file: object) -> bool:
        if not _SignalOnFirstUpload.sent:
            _SignalOnFirstUpload.sent = True
            signal.raise_signal(signal.SIGTERM)
        return super().put_if_absent(file)  # type: ignore[arg-type]


@pytest.fixture
def signal_on_first_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers need the main thread")
    _SignalOnFirstUpload.sent = False
    monkeypatch.setattr(
        importlib.import_module("hashstore.publish"),
        "open_target",
        lambda settings: _SignalOnFirstUpload(Path(settings.target)),
    )


@pytest.mark.flask
@pytest.mark.usefixtures("signal_on_first_upload")
def test_flask_hashstore_publish_stops_on_sigterm(tmp_path: Path) -> None:
    pytest.importorskip("flask")
    from .test_flask import flask_cli, make_app

    app = make_app(tmp_path / "site", files={f"f{i}.txt": str(i) for i in range(50)})
    app.config["HASHSTORE_JOBS"] = 1
    result = flask_cli(app, "hashstore", "publish")
    assert result.exit_code == 143, result.output
    assert INTERRUPTED in result.output
    assert "Traceback" not in result.output
    assert not Path(app.config["HASHSTORE_MANIFEST"]).exists()


@pytest.mark.django
@pytest.mark.usefixtures("signal_on_first_upload")
def test_django_collectstatic_stops_on_sigterm(tmp_path: Path) -> None:
    pytest.importorskip("django")
    from django.core.management.base import CommandError

    from .django_support import collectstatic, setup_django, site, storages

    setup_django()
    static_root, public = tmp_path / "static", tmp_path / "public"
    with (
        site(static_root, STORAGES=storages(target=str(public), jobs=1)),
        pytest.raises(CommandError) as exc,
    ):
        collectstatic()
    assert exc.value.returncode == 143
    assert str(exc.value) == f"hashstore: {INTERRUPTED}"
    assert not (static_root / "hashstore.json").exists()
    assert not (public / ".hashstore" / "releases").exists()


def run_on_a_terminal(command: list[str]) -> tuple[int, str, bytes]:
    """Run ``command`` with its stderr a pseudo-terminal: exit status, what it drew, stdout."""
    import os
    import pty

    master, slave = pty.openpty()
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=slave, timeout=120)
        os.close(slave)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child's end is closed
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(master)
    return result.returncode, drawn.decode(), result.stdout


def test_a_status_line_on_a_terminal_and_nothing_off_it(tmp_path: Path) -> None:
    """The command line in a subprocess, its stderr a pseudo-terminal, then a pipe."""
    src = many_files(tmp_path / "src", 300)
    command = [sys.executable, "-m", "hashstore", "publish", str(src), "--jobs", "2"]

    def to(name: str) -> list[str]:
        return ["--to", str(tmp_path / name), "--manifest", str(tmp_path / f"{name}.json")]

    code, text, stdout = run_on_a_terminal([*command, *to("a")])
    assert code == 0
    assert "\rhashing 0/300 files" in text
    assert "\rhashing 300/300 files" in text
    assert "\ruploading 300/300 files" in text
    assert text.endswith("\r")  # cleared before the summary
    assert b"\r" not in stdout
    piped = subprocess.run([*command, *to("b")], capture_output=True, timeout=120)
    assert piped.returncode == 0
    assert piped.stderr == b""
    code, text, _ = run_on_a_terminal([*command, *to("c"), "--quiet"])
    assert code == 0
    assert text == ""
    code, text, _ = run_on_a_terminal([sys.executable, "-m", "hashstore", "verify", *to("a")])
    assert code == 0
    assert "\rverifying 300/300 objects" in text
    code, text, _ = run_on_a_terminal(
        [
            sys.executable,
            "-m",
            "hashstore",
            "prune",
            "--to",
            str(tmp_path / "a"),
            "--keep-days",
            "0",
        ]
    )
    assert code == 0
    assert "\rlisting " in text  # no total: the count and the seconds so far
    assert text.endswith("\r")


def test_a_second_ctrl_c_does_not_wait_and_prints_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first SIGINT asks for a safe point; a second one is Python's KeyboardInterrupt at
    once, which the command line reports as one line too."""
    import importlib

    from hashstore.cli import main

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers need the main thread")
    src = many_files(tmp_path / "src", 50)

    asked, second = threading.Event(), threading.Event()
    ask = StopRequest.set

    def set_and_tell(self: StopRequest, signum: int | None = None) -> None:
        ask(self, signum)
        asked.set()
        # The main thread, still in the first handler, waits for the second signal: it cannot
        # reach a safe point and stop cleanly first, however late the worker runs (a loaded
        # machine). The second handler runs as soon as this one goes on.
        assert second.wait(60)

    monkeypatch.setattr(StopRequest, "set", set_and_tell)

    class Twice(LocalTarget):
        def put_if_absent(self, file: object) -> bool:
            if not asked.is_set():
                signal.raise_signal(signal.SIGINT)
                assert asked.wait(60)  # the main thread ran the handler: now the second
                signal.raise_signal(signal.SIGINT)
                second.set()
            return super().put_if_absent(file)  # type: ignore[arg-type]

    monkeypatch.setattr(
        importlib.import_module("hashstore.publish"),
        "open_target",
        lambda settings: Twice(Path(settings.target)),
    )
    # The second Ctrl-C goes to the handler from before the command: Python's own here,
    # whatever an earlier test in this process left installed.
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = main(["publish", str(src), "--to", str(tmp_path / "out"), "--jobs", "1"])
        assert code == 130
        assert capsys.readouterr().err.strip() == "interrupted"
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)
    assert not (tmp_path / "hashstore.json").exists()


@pytest.mark.parametrize("during", ["build_parser", "_settings"])
def test_a_ctrl_c_while_the_options_are_read_is_one_line(
    during: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGINT before the command's handlers are in place (measured by bench/interrupt.py on a
    loaded machine: 1 s after the start, argparse was still being set up) is Python's
    KeyboardInterrupt: one line and 130, no traceback, nothing written."""
    import hashstore.cli

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(hashstore.cli, during, interrupted)
    src = many_files(tmp_path / "src", 3)
    manifest = tmp_path / "m.json"
    args = ["publish", str(src), "--to", str(tmp_path / "out"), "--manifest", str(manifest)]
    try:
        code = hashstore.cli.main(args)
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped the command: a traceback")
    assert code == 130
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "interrupted\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]
