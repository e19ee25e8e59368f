"""Ctrl-C during a publish: how fast the command stops, what it leaves, what a rerun uploads.

Starts moto's server on 127.0.0.1, writes a 2,000-file tree, runs ``hashstore publish`` in a
subprocess, sends SIGINT (or SIGTERM) after the given delays, and reports for each: seconds from
the signal to the exit, the exit status and stderr, objects stored, release records, whether a
manifest was written, and what a rerun uploaded::

    .venv/bin/python bench/interrupt.py                 # SIGINT at 1 s and 3 s, SIGTERM at 3 s
    .venv/bin/python bench/interrupt.py --files 500 --at 0.5
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--at", type=float, action="append", help="seconds before the signal")
    args = parser.parse_args()
    runs = [(signal.SIGINT, at) for at in args.at] if args.at else None
    runs = runs or [(signal.SIGINT, 1.0), (signal.SIGINT, 3.0), (signal.SIGTERM, 3.0)]

    import boto3
    from moto.server import ThreadedMotoServer

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    s3 = boto3.client("s3", endpoint_url=url)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for i in range(args.files):
            path = work / "src" / f"img/{i:04}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"file {i}\n" * 50)
        for number, (signum, delay) in enumerate(runs):
            bucket = f"interrupt-{number}"
            s3.create_bucket(Bucket=bucket)
            manifest = work / f"{bucket}.json"
            command = [
                sys.executable,
                "-m",
                "hashstore",
                "publish",
                str(work / "src"),
                "--to",
                f"s3://{bucket}/static/",
                "--endpoint-url",
                url,
                "--manifest",
                str(manifest),
            ]
            child = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            time.sleep(delay)
            sent = time.monotonic()
            child.send_signal(signum)
            _, err = child.communicate()
            stopped = time.monotonic() - sent
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
            objects = [key for key in keys if "/.hashstore/" not in key]
            records = [key for key in keys if "/.hashstore/releases/" in key]
            print(
                f"{signal.Signals(signum).name} at {delay:g}s: exit {child.returncode} "
                f"{stopped:.2f}s after the signal; stderr {err.strip()!r}; {len(objects)} "
                f"object(s) stored, {len(records)} release record(s), manifest written: "
                f"{manifest.exists()}"
            )
            rerun = subprocess.run(command, capture_output=True, text=True, check=True)
            print(f"  rerun: {rerun.stdout.splitlines()[0]}")
    server.stop()


if __name__ == "__main__":
    main()
