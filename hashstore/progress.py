"""Progress of long runs, and the one place the core asks whether to stop.

The core (build, publish, verify, prune) takes an optional :class:`Progress` and calls it: a
phase begins (:meth:`Progress.phase`), items complete (:meth:`Progress.advance`, from any
thread), and at safe points :meth:`Progress.check` raises :class:`~hashstore.errors.Interrupted`
once a stop was requested. The default reports nothing and never stops, so the core stays
silent and framework-free; the command line passes a :class:`StatusLine`, which draws one line
on a terminal, and a :class:`StopRequest` its signal handlers set (:mod:`hashstore.interrupts`).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Collection, Iterator
from concurrent.futures import Future
from typing import TextIO, TypeVar

from .errors import Interrupted

__all__ = ["Progress", "StatusLine", "StopRequest", "until_stopped"]

T = TypeVar("T")

POLL = 0.1
"""Seconds between checks for a stop while waiting for workers."""


class StopRequest:
    """A request to stop, set from a signal handler or another thread.

    .. versionadded:: 0.1
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None
        """The signal that asked, if one did."""

    def set(self, signum: int | None = None) -> None:
        """Ask every run that checks this to stop at its next safe point."""
        if self.signum is None:
            self.signum = signum
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


class Progress:
    """What a long run reports as it goes; this base reports nothing.

    :param stop: checked by :meth:`check`; ``None``: never stop.

    .. versionadded:: 0.1
    """

    def __init__(self, *, stop: StopRequest | None = None) -> None:
        self.stop = stop

    def phase(self, name: str, total: int | None = None, *, unit: str = "file") -> None:
        """A phase begins (``hashing``, ``listing``, ``uploading``...), of ``total`` items if
        known."""

    def advance(self, count: int = 1) -> None:
        """``count`` more items of the current phase are done (thread-safe)."""

    def done(self) -> None:
        """The run is over (it succeeded, failed or stopped): leave the terminal clean."""

    def check(self, message: str = "interrupted") -> None:
        """Raise :class:`~hashstore.errors.Interrupted` with ``message`` if a stop was asked.

        Called by the core only where stopping leaves nothing half-written.
        """
        if self.stop is not None and self.stop.is_set():
            raise Interrupted(message, signum=self.stop.signum)


SILENT = Progress()
"""Reports nothing, never stops: the core's default."""


def until_stopped(
    futures: Collection[Future[T]], progress: Progress, message: str
) -> Iterator[Future[T]]:
    """``futures`` as they complete, like ``as_completed``, checking ``progress`` meanwhile.

    On a stop the futures not yet started are cancelled and
    :class:`~hashstore.errors.Interrupted` is raised; those running finish on their own (the
    caller's executor waits for them).
    """
    # Each future reports itself to a queue when done: linear in the number of futures, where
    # wait(FIRST_COMPLETED) in a loop re-registers on every pending future per completion and
    # cost more CPU than the copies themselves when 2,000 files finish one at a time.
    finished: queue.SimpleQueue[Future[T]] = queue.SimpleQueue()
    for future in futures:
        future.add_done_callback(finished.put)
    remaining = len(futures)
    try:
        while remaining:
            try:
                future = finished.get(timeout=POLL)
            except queue.Empty:
                pass
            else:
                remaining -= 1
                yield future
            progress.check(message)
    except BaseException:
        for future in futures:
            future.cancel()  # only those not started yet; the others finish on their own
        raise


class StatusLine(Progress):
    """One status line on a terminal, rewritten in place: phase, counts, rate and ETA.

    ``hashing 1,204/2,000 files  812/s  ETA 1s``. Drawn at most ten times a second, cleared
    when the run is over. Draws nothing when ``stream`` is not a terminal, unless ``enabled``
    says otherwise (tests).

    :param stream: where to draw (stderr).
    :param enabled: draw or not; default: whether ``stream`` is a terminal.
    :param stop: see :class:`Progress`.

    .. versionadded:: 0.1
    """

    interval = 0.1

    def __init__(
        self, stream: TextIO, *, enabled: bool | None = None, stop: StopRequest | None = None
    ) -> None:
        super().__init__(stop=stop)
        self.stream = stream
        self.enabled = _is_terminal(stream) if enabled is None else enabled
        self._lock = threading.Lock()
        self._name = ""
        self._unit = "file"
        self._total: int | None = None
        self._count = 0
        self._started = 0.0
        self._drawn = 0.0
        self._width = 0

    def phase(self, name: str, total: int | None = None, *, unit: str = "file") -> None:
        with self._lock:
            self._name, self._total, self._unit = name, total, unit
            self._count = 0
            self._started = time.monotonic()
            self._draw(force=True)

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self._count += count
            self._draw(force=self._total is not None and self._count >= self._total)

    def done(self) -> None:
        with self._lock:
            if self.enabled and self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
            self._width = 0

    def text(self) -> str:
        """The line as it reads now."""
        elapsed = max(time.monotonic() - self._started, 1e-9)
        unit = self._unit if self._count == 1 and self._total in (None, 1) else f"{self._unit}s"
        if self._total is None:
            counted = f"{self._count:,} {unit}" if self._count else ""
            return f"{self._name} {counted}".rstrip() + f"  {elapsed:.0f}s"
        line = f"{self._name} {self._count:,}/{self._total:,} {unit}"
        if self._count and elapsed >= 0.2:
            rate = self._count / elapsed
            left = max(self._total - self._count, 0) / rate
            line += f"  {rate:,.0f}/s  ETA {_duration(left)}"
        return line

    def _draw(self, *, force: bool) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn < self.interval:
            return
        self._drawn = now
        line = self.text()
        pad = max(self._width - len(line), 0)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self._width = len(line)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False
