"""Requests-per-minute and tokens-per-minute limits for one provider: two token buckets on a Clock.

A ``RateLimiter`` may be shared by several runs on the same provider. Buckets start full (a burst of up
to the per-minute amount) and refill continuously. Token costs are estimated before a call (prompt
tokens + max_tokens) and corrected with the real usage afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chainstudio.core.clock import Clock

# Waits shorter than this are no wait: after sleeping a computed delay, float rounding can leave a bucket
# a hair short, and on a virtual clock a sleep too small to move the time would then repeat forever.
NEGLIGIBLE_WAIT = 1e-9


@dataclass(frozen=True)
class RateLimits:
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None

    @property
    def any(self) -> bool:
        return bool(self.requests_per_minute) or bool(self.tokens_per_minute)


class _Bucket:
    def __init__(self, per_minute: float, now: float):
        self.capacity = float(per_minute)
        self.level = float(per_minute)
        self.rate = float(per_minute) / 60.0
        self.updated = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        amount = min(amount, self.capacity)  # a request larger than the bucket waits for a full one
        missing = amount - self.level
        return 0.0 if missing <= 0 else missing / self.rate


class RateLimiter:
    def __init__(self, limits: RateLimits, clock: Clock | None = None):
        self.limits = limits
        self.clock = clock or Clock()
        now = self.clock.now()
        self._requests = _Bucket(limits.requests_per_minute, now) if limits.requests_per_minute else None
        self._tokens = _Bucket(limits.tokens_per_minute, now) if limits.tokens_per_minute else None

    def _buckets(self) -> list[tuple[_Bucket, float]]:
        return [b for b in ((self._requests, 1.0), (self._tokens, None)) if b[0] is not None]  # type: ignore[misc]

    def delay(self, tokens: int) -> float:
        """Seconds until a call estimated at ``tokens`` tokens may start (0: now)."""
        now = self.clock.now()
        wait = 0.0
        for bucket, amount in self._buckets():
            bucket.refill(now)
            wait = max(wait, bucket.wait_for(float(tokens) if amount is None else amount))
        return wait

    def take(self, tokens: int) -> None:
        for bucket, amount in self._buckets():
            bucket.level -= min(bucket.capacity, float(tokens) if amount is None else amount)

    def adjust_tokens(self, difference: int) -> None:
        """Correct the token bucket once the real usage is known (positive: more was used)."""
        if self._tokens is not None:
            self._tokens.level = min(self._tokens.capacity, self._tokens.level - difference)

    async def acquire(self, tokens: int, on_wait: Callable[[], None] | None = None) -> float:
        """Wait until the call may start, then take its share; returns the seconds waited."""
        waited_from = None
        while True:
            delay = self.delay(tokens)
            if delay <= NEGLIGIBLE_WAIT:
                self.take(tokens)
                return 0.0 if waited_from is None else self.clock.now() - waited_from
            if waited_from is None:
                waited_from = self.clock.now()
                if on_wait is not None:
                    on_wait()
            await self.clock.sleep(delay)
