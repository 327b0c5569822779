"""Adaptive pace: a run slows itself down when a server says "too many requests" without saying how long
to wait (HTTP 429 without ``Retry-After``), and speeds up again while it succeeds (AIMD, as TCP does).

Two knobs move together: the spacing between request starts (``interval``) and the number of requests
in flight (``limit``). On a 429 without ``Retry-After`` (at most once per round: only a request started
after the last cut can cut again) the interval becomes at least twice the spacing the requests had over
the last window and at least twice what it was, and the in-flight limit halves; every success raises
the request rate by one request per window and the in-flight limit by about one per round. Before any
429 there is no pacing at all. A server with a hidden requests-per-minute limit therefore sees a burst,
a few 429s, and then a pace just under its limit, instead of one 429 after another.

One ``AdaptivePace`` is shared by every step of a run (``RunContext.pace()``).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable

from chainstudio.core.clock import Clock

MIN_INTERVAL = 0.01  # seconds: the smallest spacing a cut sets


class AdaptivePace:
    def __init__(self, clock: Clock, window: float = 60.0):
        self.clock = clock
        self.window = window
        self.interval = 0.0  # seconds between request starts (0: no pacing)
        self.limit: float | None = None  # requests in flight (None: no limit)
        self.in_flight = 0
        self.throttled = 0  # 429s without Retry-After seen
        self.cuts = 0  # times the pace was lowered
        self._next_start = -math.inf
        self._last_cut = -math.inf
        self._starts: deque[float] = deque()
        self._released: asyncio.Future[None] | None = None

    @property
    def active(self) -> bool:
        return self.interval > 0 or self.limit is not None

    def _blocked(self) -> bool:
        return self.limit is not None and self.in_flight >= max(1, int(self.limit))

    async def acquire(self, on_wait: Callable[[], None] | None = None) -> float:
        """Wait for the pace to allow one more request, then count it in flight; returns its start time."""
        told = False
        while True:
            now = self.clock.now()
            if self._blocked():
                wait_for_release = True
            elif now + 1e-9 < self._next_start:
                wait_for_release = False
            else:
                break
            if not told and on_wait is not None:
                told = True
                on_wait()
            if wait_for_release:
                if self._released is None or self._released.done():
                    self._released = asyncio.get_running_loop().create_future()
                await asyncio.shield(self._released)
            else:
                await self.clock.sleep(self._next_start - now)
        self.in_flight += 1
        self._next_start = now + self.interval
        self._starts.append(now)
        while self._starts and self._starts[0] <= now - self.window:
            self._starts.popleft()
        return now

    def release(self, started: float, *, throttled: bool = False, succeeded: bool = False) -> None:
        """A request started at ``started`` ended: throttled (429 without Retry-After), succeeded, or
        neither (another failure, a cancel: the pace stays)."""
        self.in_flight = max(0, self.in_flight - 1)
        now = self.clock.now()
        if throttled:
            self.throttled += 1
            if started >= self._last_cut:
                self._cut(now)
        elif succeeded:
            if self.interval > 0:
                self.interval = 1.0 / (1.0 / self.interval + 1.0 / self.window)
                if self.interval < MIN_INTERVAL / 2:
                    self.interval = 0.0
            if self.limit is not None:
                self.limit += 1.0 / self.limit
        if self._released is not None and not self._released.done():
            self._released.set_result(None)

    def _cut(self, now: float) -> None:
        self.cuts += 1
        self._last_cut = now
        recent = [t for t in self._starts if t > now - self.window]
        spacing = (now - recent[0]) / len(recent) if recent else MIN_INTERVAL
        self.interval = min(self.window, max(MIN_INTERVAL, 2 * self.interval, 2 * spacing))
        self.limit = max(1.0, (self.in_flight + 1) / 2)
        self._next_start = max(self._next_start, now + self.interval)
