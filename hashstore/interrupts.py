"""SIGINT and SIGTERM as a request to stop, for the commands (never installed by the core).

A command that runs inside :func:`stop_on_signals` passes the :class:`~hashstore.progress.
StopRequest` it yields to the core (through a :class:`~hashstore.progress.Progress`), which
stops at its next safe point: a publish before its release record, a prune between batches, a
verify between objects. A second signal of the same kind is not waited on: the previous handler
gets it (Python's default raises ``KeyboardInterrupt`` at once).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from .progress import StopRequest

__all__ = ["stop_on_signals"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_on_signals(stop: StopRequest | None = None) -> Iterator[StopRequest]:
    """While inside, SIGINT and SIGTERM set the returned :class:`StopRequest`.

    Only the main thread may install signal handlers; elsewhere (a test runner's worker, a
    server thread) the request is yielded without handlers. The previous handlers come back
    on exit.
    """
    stop = stop if stop is not None else StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous: dict[int, Any] = {
        number: signal.getsignal(number) or signal.SIG_DFL for number in SIGNALS
    }

    def handler(number: int, frame: FrameType | None) -> None:
        if stop.is_set():
            # Asked twice: stop waiting for a clean stop.
            signal.signal(number, previous[number])
            signal.raise_signal(number)
            return
        stop.set(number)

    for number in SIGNALS:
        signal.signal(number, handler)
    try:
        yield stop
    finally:
        for restored, before in previous.items():
            signal.signal(restored, before)
