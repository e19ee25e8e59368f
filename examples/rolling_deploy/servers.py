"""The simulation's processes: nginx (load balancer and CDN), the app servers and S3 (moto).

Every server listens on 127.0.0.1 on a port chosen free at run time, writes its logs into the
simulation's work directory and is stopped by whoever started it (each class is a context
manager). Nothing here knows about scenarios; :mod:`runner` wires these parts together.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

HERE = Path(__file__).resolve().parent
NGINX_TEMPLATE = HERE / "nginx.conf.template"
APP_SERVER = HERE / "appserver.py"
ENSURE_NGINX = HERE.parent.parent / "scripts" / "ensure-nginx.sh"

# Credentials for moto; passed explicitly so that no real ones are ever picked up.
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child process: this one's without settings that would change what
    the simulation does (``FLASK_*``, ``HASHSTORE_*``, ``AWS_*``, ``MOTO_*``), plus ``extra``."""
    own = ("FLASK_", "HASHSTORE_", "AWS_", "MOTO_")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(own)}, **extra}


class SimulationError(RuntimeError):
    """A part of the simulation could not be started; the message says which and why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing uses now, below the ephemeral range if possible.

    An app server's port is free for a moment while the deploy swaps it; a port outside the
    range the kernel hands to outgoing connections cannot be taken meanwhile by one of them.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    candidates = [random.randrange(10000, low) for _ in range(20)] if low > 11000 else []
    for port in [*candidates, 0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            chosen: int = sock.getsockname()[1]
            return chosen
    raise SimulationError("no free TCP port on 127.0.0.1")


def wait_for_port(
    port: int, *, process: subprocess.Popen[Any] | None, what: str, log: Path, timeout: float = 20
) -> None:
    """Wait until something accepts connections on ``port``; fail early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise SimulationError(
                f"{what} exited with code {process.returncode} before listening on "
                f"127.0.0.1:{port}; its log {log}:\n{tail(log)}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SimulationError(
                    f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s; "
                    f"its log {log}:\n{tail(log)}"
                ) from None
            time.sleep(0.02)


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file, indented, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "  (no log)"
    return "\n".join("  " + line for line in text.splitlines()[-lines:]) or "  (empty)"


def _stop(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def find_nginx() -> str | None:
    """The nginx binary, if installed (Debian puts it in /usr/sbin, not always on PATH)."""
    found = shutil.which("nginx")
    if found is None and os.access("/usr/sbin/nginx", os.X_OK):
        found = "/usr/sbin/nginx"
    return found


def ensure_nginx() -> str:
    """The nginx binary, installing Debian's package through scripts/ensure-nginx.sh if absent.

    :raises SimulationError: nginx is absent and could not be installed (the script's output
        says why).
    """
    found = find_nginx()
    if found is not None:
        return found
    result = subprocess.run(
        ["bash", str(ENSURE_NGINX)], capture_output=True, text=True, check=False
    )
    found = find_nginx()
    if result.returncode != 0 or found is None:
        raise SimulationError(
            f"nginx is not installed and {ENSURE_NGINX.name} could not install it:\n"
            + (result.stdout + result.stderr).strip()
        )
    return found


class Nginx:
    """nginx as a child process (not a daemon) with its own prefix, config, logs and cache.

    :param prefix: a directory of its own; config, pid, logs, temp files and cache go there.
    :param values: the ``@NAME@`` placeholders of ``nginx.conf.template``.
    :param ports: the ports it listens on, to wait for.
    """

    def __init__(self, prefix: Path, values: Mapping[str, str], ports: Sequence[int]) -> None:
        self.prefix = prefix
        self.values = dict(values)
        self.ports = tuple(ports)
        self.binary = ensure_nginx()
        self.process: subprocess.Popen[bytes] | None = None

    def render(self) -> str:
        """The configuration file's text."""
        text = NGINX_TEMPLATE.read_text()
        values = {"PREFIX": str(self.prefix), **self.values}
        # `user` makes sense only for a root master; nginx would warn about it otherwise.
        values.setdefault("USER", "user root;" if os.geteuid() == 0 else "")
        for name, value in values.items():
            text = text.replace(f"@{name}@", value)
        if "@" in "".join(line.split("#")[0] for line in text.splitlines()):
            raise SimulationError(f"nginx.conf.template has unfilled placeholders:\n{text}")
        return text

    def start(self) -> None:
        """Write the config and start nginx; returns once every port accepts connections."""
        for sub in ("tmp", "cache"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.render())
        log = self.prefix / "error.log"
        stderr = (self.prefix / "stderr.log").open("ab")
        with stderr:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "-p", str(self.prefix),
                    "-c", str(conf),
                    "-e", str(log),
                    "-g", "daemon off;",
                ],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )  # fmt: skip
        for port in self.ports:
            wait_for_port(port, process=self.process, what="nginx", log=log)

    def stop(self) -> None:
        """Stop nginx (SIGTERM: fast shutdown) and wait for it."""
        if self.process is not None:
            _stop(self.process)
            self.process = None

    def restart(self, *, clear_cache: bool) -> None:
        """Stop and start again on the same ports, optionally with an empty cache."""
        self.stop()
        if clear_cache:
            shutil.rmtree(self.prefix / "cache", ignore_errors=True)
        self.start()

    def __enter__(self) -> Nginx:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class AppServer:
    """One app server: ``appserver.py`` serving a release of the Flask example in a subprocess.

    :param index: its place in the load balancer's upstream list.
    :param port: its port (kept when a deploy replaces it by another release).
    :param logs: where its log goes.
    """

    def __init__(self, index: int, port: int, logs: Path) -> None:
        self.index = index
        self.port = port
        self.logs = logs
        self.release: str | None = None
        self.log = logs / f"app{index}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def launch(
        self,
        release_dir: Path,
        release: str,
        *,
        mode: str,
        env: Mapping[str, str],
    ) -> None:
        """Start ``release`` (a directory holding its ``flask_app``) in ``mode``; returns at once
        (:meth:`wait` waits until it listens)."""
        if self.process is not None:
            raise SimulationError(f"app server {self.index} is running already")
        log = self.logs / f"app{self.index}-{release}.log"
        args = [
            sys.executable,
            str(APP_SERVER),
            "--release-dir", str(release_dir),
            "--release", release,
            "--port", str(self.port),
            "--mode", mode,
        ]  # fmt: skip
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=child_env(env),
                cwd=release_dir,
            )
        self.release = release
        self.log = log

    def wait(self) -> None:
        """Wait until the server launched last listens."""
        what = f"app server {self.index} ({self.release})"
        wait_for_port(self.port, process=self.process, what=what, log=self.log)

    def start(
        self,
        release_dir: Path,
        release: str,
        *,
        mode: str,
        env: Mapping[str, str],
    ) -> None:
        """:meth:`launch` and :meth:`wait`."""
        self.launch(release_dir, release, mode=mode, env=env)
        self.wait()

    def stop(self) -> None:
        """Stop the server and wait until its port is free."""
        if self.process is not None:
            _stop(self.process)
            self.process = None
            self.release = None


class S3Server:
    """S3 for the simulation: moto's server in a child process, or a given endpoint.

    moto runs with ``MOTO_DISABLE_GLOBAL_CORS=1`` so that it answers CORS as S3 does, from the
    bucket's CORS rules only (by default its server adds ``Access-Control-Allow-Origin: *`` to
    every response, which would hide a missing rule from the browser test).

    :param endpoint_url: an S3 endpoint that is running already; moto is started on 127.0.0.1
        (a free port) when it is ``None``.
    :param logs: where moto's log goes (a temporary file by default).
    """

    def __init__(self, endpoint_url: str | None = None, *, logs: Path | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def port(self) -> int:
        """The endpoint's port (nginx proxies to it)."""
        assert self.endpoint_url is not None, "start() first"
        return int(self.endpoint_url.rsplit(":", 1)[1].split("/")[0])

    def start(self) -> None:
        if self.endpoint_url is not None:
            return
        port = free_port()
        if self.logs is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="moto-")
            self.logs = Path(self._tmp.name)
        log = self.logs / "moto.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=child_env({**S3_CREDENTIALS, "MOTO_DISABLE_GLOBAL_CORS": "1"}),
            )
        wait_for_port(port, process=self.process, what="moto (S3)", log=log, timeout=60)
        self.endpoint_url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None
            self.endpoint_url = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.logs = None

    def client(self) -> Any:
        """A boto3 S3 client for the endpoint (path-style, the simulation's credentials)."""
        import boto3
        import botocore.config

        return boto3.session.Session(
            aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=S3_CREDENTIALS["AWS_DEFAULT_REGION"],
        ).client(
            "s3",
            endpoint_url=self.endpoint_url,
            config=botocore.config.Config(s3={"addressing_style": "path"}),
        )

    def __enter__(self) -> S3Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
