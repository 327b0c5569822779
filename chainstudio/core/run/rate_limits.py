"""Requests-per-minute and tokens-per-minute limits for one provider, kept over every 60 s window.

``RateLimiter`` keeps a log of the requests it let start in the last window (their start times and token
amounts). A request may start when, counting it, the requests and tokens started in the window that ends
now stay within the limits; otherwise it waits until enough of the log is older than a window. So no
window of ``window`` seconds (a minute) ever holds more than the limits, wherever it is placed (a token
bucket that starts full and refills on top lets nearly twice the limit into one minute). A window is
measured with a small safety margin (``SAFETY_MARGIN``), so the server, which sees each request a little
after it was sent, counts no more either.

Token amounts are estimated before a call (prompt tokens + max_tokens, an upper bound) and replaced by
the real usage when it is known (``Grant.settle``). One request estimated at more tokens than the limit
waits for an empty window and then goes alone.

A ``RateLimiter`` may be shared by several runs on the same provider.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from chainstudio.core.clock import Clock

# Waits shorter than this are no wait: after sleeping a computed delay, float rounding can leave a window
# a hair short, and on a virtual clock a sleep too small to move the time would then repeat forever.
NEGLIGIBLE_WAIT = 1e-9
WINDOW = 60.0  # seconds: the limits are per minute
SAFETY_MARGIN = 0.25  # seconds added to each window: a request reaches the server a little after it is sent


@dataclass(frozen=True)
class RateLimits:
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    window: float = WINDOW  # the period the limits count over (a minute; tests may shorten it)

    @property
    def any(self) -> bool:
        return bool(self.requests_per_minute) or bool(self.tokens_per_minute)


class Grant:
    """One request let through: its start time and token amount in the limiter's log."""

    __slots__ = ("start", "tokens", "waited")

    def __init__(self, start: float, tokens: float, waited: float):
        self.start = start
        self.tokens = tokens
        self.waited = waited  # seconds it waited for the limits

    def settle(self, tokens: int) -> None:
        """Replace the estimate by what the request really used (once the usage is known)."""
        self.tokens = float(max(0, tokens))


class RateLimiter:
    def __init__(self, limits: RateLimits, clock: Clock | None = None, margin: float = SAFETY_MARGIN):
        self.limits = limits
        self.clock = clock or Clock()
        self.span = limits.window + margin  # how long a request counts against the limits
        self._log: deque[Grant] = deque()  # requests started within the last ``span`` seconds, oldest first

    def _expire(self, now: float) -> None:
        while self._log and self._log[0].start <= now - self.span:
            self._log.popleft()

    def delay(self, tokens: int) -> float:
        """Seconds until a call estimated at ``tokens`` tokens may start (0: now)."""
        now = self.clock.now()
        self._expire(now)
        wait = 0.0
        if self.limits.requests_per_minute:
            allowed = max(1, int(self.limits.requests_per_minute))
            if len(self._log) >= allowed:
                # it may start once all but (allowed - 1) of the logged requests have left the window
                oldest_to_leave = self._log[len(self._log) - allowed]
                wait = max(wait, oldest_to_leave.start + self.span - now)
        tpm = self.limits.tokens_per_minute
        if tpm:
            wait = max(wait, self._token_wait(float(tokens), float(tpm), now))
        return max(0.0, wait)

    def _token_wait(self, tokens: float, tpm: float, now: float) -> float:
        used = sum(g.tokens for g in self._log)
        if used + tokens <= tpm:
            return 0.0
        if tokens > tpm:  # larger than the limit on its own: wait for an empty window, then go alone
            return self._log[-1].start + self.span - now
        for grant in self._log:  # oldest first: wait until enough has left the window
            used -= grant.tokens
            if used + tokens <= tpm:
                return grant.start + self.span - now
        return 0.0  # unreachable: an empty log leaves room for tokens <= tpm

    def take(self, tokens: int, waited: float = 0.0) -> Grant:
        grant = Grant(self.clock.now(), float(max(0, tokens)), waited)
        self._log.append(grant)
        return grant

    async def acquire(self, tokens: int, on_wait: Callable[[], None] | None = None) -> Grant:
        """Wait until the call may start, then log it; the grant says how long it waited."""
        waited_from = None
        while True:
            delay = self.delay(tokens)
            if delay <= NEGLIGIBLE_WAIT:
                return self.take(tokens, 0.0 if waited_from is None else self.clock.now() - waited_from)
            if waited_from is None:
                waited_from = self.clock.now()
                if on_wait is not None:
                    on_wait()
            await self.clock.sleep(delay)

    def starts(self) -> list[float]:
        """Start times of the requests in the current window (for tests and diagnostics)."""
        return [g.start for g in self._log]
