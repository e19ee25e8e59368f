"""A one-node Ceph cluster with radosgw on 127.0.0.1: a second, real S3 server for the tests.

Ceph 16.2 "Pacific" (Debian's ``radosgw`` package) has no standalone backend for radosgw, so
this starts the smallest cluster that serves S3: one monitor, one OSD whose objects live in
memory (``osd objectstore = memstore``), pools of size 1, no cephx authentication, and radosgw
with its ``beast`` frontend on a free port. Each daemon runs in the foreground (``-f``) as a
child process of the caller, so its PID is known and it is stopped by PID; everything else
(configuration, monitor store, logs, sockets) lives in one temporary directory.

:class:`Radosgw` is a context manager: ``with Radosgw(workdir) as rgw: rgw.endpoint_url``.
``python -m tests.radosgw`` starts one and prints its endpoint and credentials until Ctrl-C
(or SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import TracebackType

__all__ = [
    "ACCESS_KEY",
    "SECRET_KEY",
    "Radosgw",
    "RadosgwUnavailable",
    "install_or_reason",
    "missing_binaries",
]

ACCESS_KEY = "hashstoretestaccess"
SECRET_KEY = "hashstoretestsecretkey0123456789"
"""Credentials of the S3 user made with ``radosgw-admin user create`` (a throwaway cluster)."""

BINARIES = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "monmaptool")

START_TIMEOUT = 180.0
"""Seconds the whole start may take: about 13 s on an idle machine, much more on a busy one."""

MEMSTORE_BYTES = 1 << 30
"""The OSD's in-memory capacity: 1 GiB, ample for the suite (each test empties its bucket)."""


class RadosgwUnavailable(RuntimeError):
    """The cluster could not be started; the message says why (for a skip or a failure)."""


def missing_binaries() -> list[str]:
    """The Ceph programs this needs that are not on ``PATH`` (or in ``/usr/bin``)."""
    return [name for name in BINARIES if _which(name) is None]


def install_or_reason(script: Path) -> str | None:
    """Install the Ceph programs with ``script`` (``scripts/ensure-debian.sh``) when absent.

    :returns: ``None`` when they are installed (now or already), else why they are not, for a
        skip: the installer's own message (not root, no apt-get, apt-get failed...).
    """
    if not missing_binaries():
        return None
    done = subprocess.run(
        ["bash", str(script), "radosgw"], capture_output=True, text=True, check=False
    )
    still = missing_binaries()
    if done.returncode == 0 and not still:
        return None
    said = (done.stderr or done.stdout).strip() or f"it exited {done.returncode}"
    return (
        f"radosgw is not installed ({', '.join(still)} missing) and {script.name} could not "
        f"install it: {said}"
    )


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Radosgw:
    """One monitor, one memstore OSD and radosgw, started in ``workdir`` on free ports.

    :param workdir: an empty directory for configuration, data, logs and sockets.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.mon_port = _free_port()
        self.rgw_port = _free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.rgw_port}"
        self.conf = workdir / "ceph.conf"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Radosgw:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Write the configuration, start the three daemons and create the S3 user.

        :raises RadosgwUnavailable: a program is missing or a step failed (the message names
            it and the log to read).
        """
        missing = missing_binaries()
        if missing:
            raise RadosgwUnavailable(f"Ceph programs not installed: {', '.join(missing)}")
        deadline = time.monotonic() + START_TIMEOUT
        for name in ("mon", "osd0", "rgw", "run", "log"):
            (self.workdir / name).mkdir(parents=True, exist_ok=True)
        self._write_conf()
        self._run(
            "monmaptool",
            "--create",
            "--clobber",
            "--fsid",
            self.fsid,
            "--addv",
            "a",
            f"[v2:127.0.0.1:{self.mon_port}]",
            str(self.workdir / "monmap"),
        )
        self._run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(self.workdir / "monmap"))
        self._spawn("mon", "ceph-mon", "-i", "a")
        osd_id = self._ceph(["osd", "create"], deadline).strip()
        if osd_id != "0":
            raise RadosgwUnavailable(f"`ceph osd create` gave id {osd_id!r}, 0 expected")
        self._run("ceph-osd", "-i", "0", "--mkfs")
        self._spawn("osd", "ceph-osd", "-i", "0")
        self._wait_for_osd(deadline)
        self._spawn("rgw", "radosgw", "-n", "client.rgw")
        self._wait_for_rgw(deadline)
        self._run(
            "radosgw-admin",
            "-n",
            "client.admin",
            "user",
            "create",
            "--uid",
            "hashstore-test",
            "--display-name",
            "hashstore tests",
            "--access-key",
            ACCESS_KEY,
            "--secret-key",
            SECRET_KEY,
        )

    def stop(self) -> None:
        """Stop every daemon this started, by PID (radosgw first), and wait for each."""
        for name in ("rgw", "osd", "mon"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)

    # -- steps ---------------------------------------------------------------------------

    @property
    def fsid(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, str(self.workdir)))

    def _write_conf(self) -> None:
        d = self.workdir
        self.conf.write_text(
            f"""[global]
fsid = {self.fsid}
mon host = v2:127.0.0.1:{self.mon_port}
mon initial members = a
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind msgr1 = false
# radosgw asks for a secure monitor connection, which needs cephx; plain crc does not.
ms mon client mode = crc
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
run dir = {d}/run
admin socket = {d}/run/$name.asok
log file = {d}/log/$name.log
pid file = {d}/run/$name.pid
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd objectstore = memstore
memstore device bytes = {MEMSTORE_BYTES}
[mon]
mon data = {d}/mon
[osd]
osd data = {d}/osd$id
osd journal size = 0
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:{self.rgw_port}
rgw data = {d}/rgw
rgw dns name = 127.0.0.1
"""
        )

    def _command(self, program: str, *args: str) -> list[str]:
        path = _which(program)
        assert path is not None, program
        return [path, "-c", str(self.conf), *args]

    def _run(self, program: str, *args: str, timeout: float = 120) -> str:
        command = self._command(program, *args)
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=timeout, check=False, cwd=self.workdir
            )
        except subprocess.TimeoutExpired as exc:
            raise RadosgwUnavailable(f"{' '.join(command)} took over {timeout:.0f} s") from exc
        if done.returncode != 0:
            raise RadosgwUnavailable(
                f"{' '.join(command)} exited {done.returncode}: "
                f"{done.stderr.decode(errors='replace').strip()[-2000:]}"
            )
        return done.stdout.decode(errors="replace")

    def _spawn(self, name: str, program: str, *args: str) -> None:
        log = (self.workdir / "log" / f"{name}.out").open("wb")
        with log:
            self.processes[name] = subprocess.Popen(
                self._command(program, "-f", *args),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
            )

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RadosgwUnavailable(
                    f"{name} exited {process.returncode} while starting: see "
                    f"{self.workdir / 'log'}/ ({name}.out and the daemon's .log)"
                )

    def _ceph(self, args: list[str], deadline: float) -> str:
        """``ceph ARGS``, retried until the monitor answers."""
        last = ""
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                return self._run("ceph", "--connect-timeout", "10", *args, timeout=30)
            except RadosgwUnavailable as exc:
                last = str(exc)
                time.sleep(0.5)
        raise RadosgwUnavailable(f"the monitor did not answer in time: {last}")

    def _wait_for_osd(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            self._check_alive()
            if "1 up" in self._ceph(["osd", "stat"], deadline):
                return
            time.sleep(0.5)
        raise RadosgwUnavailable(f"the OSD did not come up: see {self.workdir / 'log'}/")

    def _wait_for_rgw(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(self.endpoint_url, timeout=5):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer: radosgw serves
            except OSError:
                time.sleep(0.5)
        raise RadosgwUnavailable(f"radosgw did not answer in time: see {self.workdir / 'log'}/")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    import tempfile

    # Background jobs of a shell start with SIGINT ignored: stop on SIGTERM and SIGINT alike.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    with tempfile.TemporaryDirectory(prefix="hashstore-rgw-") as tmp, Radosgw(Path(tmp)) as rgw:
        print(f"endpoint {rgw.endpoint_url}  access key {ACCESS_KEY}  secret key {SECRET_KEY}")
        pids = ", ".join(f"{name}={p.pid}" for name, p in rgw.processes.items())
        print(f"pids {pids}; Ctrl-C or SIGTERM stops")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
