"""Run time: a monotonic clock and a sleep that agree, optionally sped up for the simulated provider.

Everything a run measures or waits for goes through one ``Clock``: event timestamps, per-attempt
timeouts, backoff waits, rate-limit waits and the simulated provider's latencies. With ``speed`` > 1 the
simulated world runs faster than the wall (a 4 s simulated call takes 4/speed s) while every timestamp
and duration stays in *simulated* seconds, so figures do not depend on the speed chosen.

``monotonic`` defaults to ``time.monotonic``; pass ``loop.time`` of a virtual-time loop
(``chainstudio.core.run.virtual_time``) to run on a virtual clock.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager


class Clock:
    def __init__(self, speed: float = 1.0, monotonic: Callable[[], float] = time.monotonic):
        if not speed > 0 or math.isinf(speed):
            raise ValueError("speed must be a positive, finite number")
        self.speed = float(speed)
        self._monotonic = monotonic

    def now(self) -> float:
        """Seconds on this clock (simulated seconds when sped up)."""
        return self._monotonic() * self.speed

    def real(self, seconds: float) -> float:
        """How many real seconds ``seconds`` on this clock take."""
        return max(0.0, seconds) / self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.real(seconds))

    async def sleep_until(self, when: float) -> None:
        delay = when - self.now()
        if delay > 0:
            await asyncio.sleep(delay / self.speed)

    def timeout(self, seconds: float | None) -> AbstractAsyncContextManager[object]:
        """``asyncio.timeout`` measured on this clock (None: no limit)."""
        return asyncio.timeout(None if seconds is None else self.real(seconds))

    def __repr__(self) -> str:
        return f"Clock(speed={self.speed:g})"
