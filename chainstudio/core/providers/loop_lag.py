"""How long this process's event loop was held up lately, so that a timeout tells our own stall from the server's.

A connect timeout is measured by a timer on the event loop. When the loop is held (a busy process: a batch
of 1,000 rows preparing its calls and folding its events, on cores other work shares), the handshake has
long finished in the kernel but the loop learns of it only after the timer has fired: the attempt fails
with "no response in time" although the server answered at once (issue 17's scale benchmark lost rows so).

``LoopLag`` is a heartbeat on the loop: a callback due every ``PERIOD`` seconds notes how late it ran; a
lateness over ``progress.LOOP_LAG`` is a stall, kept for ``KEEP`` seconds. ``stalled_since(t)`` is the loop
time lost to stalls since ``t`` (counted from the heartbeat before the stall, so never less than the stall).
One heartbeat per loop (``for_loop``). It beats only while something watches (``watching()``: a request
connecting), so an idle process (the window at rest) is not woken ``1 / PERIOD`` times a second for nothing;
a stall is only ever asked about for a time after its watcher began.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import deque
from collections.abc import Iterator

PERIOD = 0.1  # seconds between heartbeats
KEEP = 600.0  # seconds a stall is remembered
LOOP_LAG = 0.05  # as core.run.progress.LOOP_LAG: a callback later than this was held up by the loop

_beats: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopLag] = weakref.WeakKeyDictionary()


class LoopLag:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._stalls: deque[tuple[float, float]] = deque()  # (start, end) in loop time
        self._watchers = 0
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None  # the next heartbeat, while something watches

    @property
    def beating(self) -> bool:
        """Whether a heartbeat is scheduled (only while something watches)."""
        return self._handle is not None

    @contextlib.contextmanager
    def watching(self) -> Iterator[LoopLag]:
        """The heartbeat goes on while the block runs (and any other watcher's); stalls from its start on are
        counted. The last watcher out cancels it, counting a stall still going on."""
        self._watchers += 1
        if self._handle is None:
            self._due = self._loop.time() + PERIOD
            self._handle = self._loop.call_at(self._due, self._beat)
        try:
            yield self
        finally:
            self._watchers -= 1
            if self._watchers == 0 and self._handle is not None:
                self._beat_if_late()
                self._handle.cancel()
                self._handle = None

    def _beat(self) -> None:
        now = self._loop.time()
        if now - self._due > LOOP_LAG:
            self._stalls.append((self._due - PERIOD, now))  # the loop ran nothing of ours since the last beat
        while self._stalls and self._stalls[0][1] < now - KEEP:
            self._stalls.popleft()
        self._due = now + PERIOD
        self._handle = self._loop.call_at(self._due, self._beat)

    def stalled_since(self, since: float) -> float:
        """Seconds of loop time lost to stalls after ``since`` (a ``loop.time()``)."""
        self._beat_if_late()
        return sum(end - max(start, since) for start, end in self._stalls if end > since)

    def _beat_if_late(self) -> None:
        """A stall still going on (the heartbeat not yet run after it) counts too."""
        if self._handle is not None and self._loop.time() - self._due > LOOP_LAG:
            self._handle.cancel()
            self._beat()


def for_loop(loop: asyncio.AbstractEventLoop | None = None) -> LoopLag:
    """The heartbeat of ``loop`` (the running loop by default); it beats while something watches."""
    loop = loop or asyncio.get_running_loop()
    lag = _beats.get(loop)
    if lag is None:
        lag = _beats[loop] = LoopLag(loop)
    return lag
