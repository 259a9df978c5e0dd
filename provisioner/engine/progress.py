"""Progress of an apply whose operations run concurrently.
Engine: what the apply stage reports while operations run and wait.

The executor tells a ``Reporter`` when an operation starts and ends; a provider
client that waits (an Auth0 build, a Lambda function becoming Active) says what
it waits for with ``with waiting("building slack-new-user"):`` from inside the
operation, and the reporter shows it with the time spent so far. While it waits,
the operation gives its place among the ``--parallelism`` running ones to the
next (the executor's ``Gate``), and takes one back before it calls again.

- ``LineReporter`` (no terminal: CI logs, pipes): a start line and a done line per
  operation, and every ``heartbeat`` seconds one line per operation still running.
- ``LiveReporter`` (a terminal): done lines scroll up as usual, and below them one
  live line per running operation with its elapsed time, redrawn every tick.

Operation numbers are their place in the plan (``[3/13]``), so the same operation
has the same number whatever order the operations happen to run in.
No I/O beyond the stream the reporter is given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, TextIO

Clock = Callable[[], float]
HEARTBEAT_SECONDS = 10.0

_local = threading.local()


@dataclass
class Slot:
    """One running operation, as the reporter shows it."""

    index: int
    total: int
    description: str
    started: float
    activity: str | None = None
    heartbeats: int = field(default=0)

    @property
    def tag(self) -> str:
        return f"[{self.index}/{self.total}]"


class Place(Protocol):
    """An operation's place among those allowed to run at once (the executor's ``Gate``)."""

    def leave(self) -> None: ...
    def resume(self) -> None: ...


@contextmanager
def waiting(activity: str) -> Iterator[None]:
    """Within the block, the current operation is waiting for ``activity`` and holds no place.

    Provider clients wrap what only waits (a sleep before polling again, a shared status
    round) in it: the reporter shows the activity, and another operation may start
    meanwhile; leaving the block takes a place back, waiting for one if need be. Outside
    an operation (a plan, a rollback) it does nothing, so clients need not know whether
    anyone is listening. Nested blocks keep the outer block's place given up.
    """
    slot: Slot | None = getattr(_local, "slot", None)
    place: Place | None = getattr(_local, "place", None)
    outer = getattr(_local, "away", False)
    previous = slot.activity if slot is not None else None
    if slot is not None:
        slot.activity = activity
    if place is not None and not outer:
        place.leave()
        _local.away = True
    try:
        yield
    finally:
        if place is not None and not outer:
            place.resume()
            _local.away = False
        if slot is not None:
            slot.activity = previous


def bind(slot: Slot | None, place: Place | None = None) -> None:
    """Make ``slot`` the current thread's operation (the executor's worker calls this)."""
    _local.slot = slot
    _local.place = place
    _local.away = False


def _seconds(elapsed: float) -> str:
    return f"{int(elapsed)} s"


class Reporter:
    """Receives the executor's events. The base class reports nothing."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.running: dict[int, Slot] = {}
        self._lock = threading.Lock()

    def start(self, index: int, total: int, description: str) -> Slot:
        slot = Slot(index, total, description, self.clock())
        with self._lock:
            self.running[index] = slot
            self._started(slot)
        return slot

    def finish(self, slot: Slot, error: Exception | None = None) -> None:
        with self._lock:
            self.running.pop(slot.index, None)
            self._finished(slot, self.clock() - slot.started, error)

    def tick(self) -> None:
        with self._lock:
            self._tick()

    def close(self) -> None:
        with self._lock:
            self._close()

    # hooks, called under the lock
    def _started(self, slot: Slot) -> None: ...
    def _finished(self, slot: Slot, seconds: float, error: Exception | None) -> None: ...
    def _tick(self) -> None: ...
    def _close(self) -> None: ...


class LineReporter(Reporter):
    """Plain lines for logs: ``[i/N] desc …``, ``[i/N] desc: done (1.2s)``, and a heartbeat."""

    def __init__(
        self, emit: Callable[[str], None], clock: Clock = time.monotonic, heartbeat: float = HEARTBEAT_SECONDS
    ) -> None:
        super().__init__(clock)
        self.emit = emit
        self.heartbeat = heartbeat

    def _started(self, slot: Slot) -> None:
        self.emit(f"{slot.tag} {slot.description} …")

    def _finished(self, slot: Slot, seconds: float, error: Exception | None) -> None:
        if error is None:
            self.emit(f"{slot.tag} {slot.description}: done ({seconds:.1f}s)")
        else:
            self.emit(f"{slot.tag} {slot.description}: failed ({seconds:.1f}s)")

    def _tick(self) -> None:
        now = self.clock()
        for index in sorted(self.running):
            slot = self.running[index]
            due = int((now - slot.started) // self.heartbeat)
            if due > slot.heartbeats:
                slot.heartbeats = due
                doing = slot.activity or "still running"
                self.emit(f"{slot.tag} {slot.description}: {doing} … {_seconds(now - slot.started)}")


class LiveReporter(Reporter):
    """For a terminal: finished operations scroll; each running one has a live line below them."""

    def __init__(self, stream: TextIO, clock: Clock = time.monotonic, width: int = 120) -> None:
        super().__init__(clock)
        self.stream = stream
        self.width = width
        self._drawn = 0  # live lines currently on screen

    def _clear(self) -> None:
        if self._drawn:
            # Up to the first live line, then erase to the end of the screen.
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        now = self.clock()
        for index in sorted(self.running):
            slot = self.running[index]
            doing = f" — {slot.activity}" if slot.activity else ""
            line = f"  {slot.tag} {slot.description}{doing} … {_seconds(now - slot.started)}"
            self.stream.write(line[: self.width] + "\n")
            self._drawn += 1
        self.stream.flush()

    def _started(self, slot: Slot) -> None:
        self._clear()
        self._draw()

    def _finished(self, slot: Slot, seconds: float, error: Exception | None) -> None:
        self._clear()
        word = "done" if error is None else "failed"
        self.stream.write(f"{slot.tag} {slot.description}: {word} ({seconds:.1f}s)\n")
        self._draw()

    def _tick(self) -> None:
        self._clear()
        self._draw()

    def _close(self) -> None:
        self._clear()
        self.stream.flush()
