"""Requests-per-minute and tokens-per-minute limits for one provider, kept over every 60 s window.

``RateLimiter`` keeps a log of the requests it let through in the last window, with their token amounts.
A request may start when, counting it, the requests and tokens in the window that ends now stay within
the limits; otherwise it waits until enough of the log has left the window. So no window of ``window``
seconds (a minute) ever holds more than the limits, wherever it is placed (a token bucket that starts
full and refills on top lets nearly twice the limit into one minute).

Each request counts from the moment the server is known to have it (``Grant.confirm``: its response
began, or the attempt ended), not from when it was sent: a request can reach the server late (the first
one over a new connection took 0.15 s here), and counted from its sending it could leave the window
early and let one too many into the server's. Until then it stays in the window. A small safety margin
(``SAFETY_MARGIN``) is added to each window for clock rounding.

Token amounts are estimated before a call (prompt tokens + max_tokens, an upper bound) and replaced by
the real usage when it is known (``Grant.settle``). One request estimated at more tokens than the limit
waits for an empty window and then goes alone.

A ``RateLimiter`` may be shared by several runs on the same provider.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass

from chainstudio.core.clock import Clock

# Waits shorter than this are no wait: after sleeping a computed delay, float rounding can leave a window
# a hair short, and on a virtual clock a sleep too small to move the time would then repeat forever.
NEGLIGIBLE_WAIT = 1e-9
WINDOW = 60.0  # seconds: the limits are per minute
SAFETY_MARGIN = 0.1  # seconds added to each window


@dataclass(frozen=True)
class RateLimits:
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    window: float = WINDOW  # the period the limits count over (a minute; tests may shorten it)

    @property
    def any(self) -> bool:
        return bool(self.requests_per_minute) or bool(self.tokens_per_minute)


class Grant:
    """One request let through: when it was sent, since when it counts, its token amount."""

    __slots__ = ("_limiter", "at", "start", "tokens", "waited")

    def __init__(self, limiter: RateLimiter, start: float, tokens: float, waited: float):
        self._limiter = limiter
        self.start = start  # when it was let through
        self.at: float | None = None  # when the server had it (None: not known yet, it stays in the window)
        self.tokens = tokens
        self.waited = waited  # seconds it waited for the limits

    def confirm(self) -> None:
        """The server has the request (its response began, or the attempt ended): it counts from now."""
        if self.at is None:
            self.at = self._limiter.clock.now()
            self._limiter._changed()

    def settle(self, tokens: int) -> None:
        """Replace the estimate by what the request really used (once the usage is known)."""
        self.confirm()
        self.tokens = float(max(0, tokens))
        self._limiter._changed()


class RateLimiter:
    def __init__(self, limits: RateLimits, clock: Clock | None = None, margin: float = SAFETY_MARGIN):
        self.limits = limits
        self.clock = clock or Clock()
        self.span = limits.window + margin  # how long a request counts against the limits
        self._log: list[Grant] = []  # requests still in the window (unconfirmed ones always are)
        self._change: asyncio.Future[None] | None = None

    def _changed(self) -> None:
        if self._change is not None and not self._change.done():
            self._change.set_result(None)

    def _expire(self, now: float) -> None:
        self._log = [g for g in self._log if g.at is None or g.at > now - self.span]

    def _leaves(self, grant: Grant) -> float:
        """When ``grant`` leaves the window (infinity while unconfirmed)."""
        return math.inf if grant.at is None else grant.at + self.span

    def delay(self, tokens: int) -> float:
        """Seconds until a call estimated at ``tokens`` tokens may start (0: now; infinity: when a request
        in flight is confirmed)."""
        now = self.clock.now()
        self._expire(now)
        wait = 0.0
        leaving = sorted(self._log, key=self._leaves)
        if self.limits.requests_per_minute:
            allowed = max(1, int(self.limits.requests_per_minute))
            if len(leaving) >= allowed:
                # it may start once all but (allowed - 1) of the logged requests have left the window
                wait = max(wait, self._leaves(leaving[len(leaving) - allowed]) - now)
        tpm = self.limits.tokens_per_minute
        if tpm:
            wait = max(wait, self._token_wait(leaving, float(tokens), float(tpm), now))
        return max(0.0, wait)

    def _token_wait(self, leaving: list[Grant], tokens: float, tpm: float, now: float) -> float:
        used = sum(g.tokens for g in leaving)
        if used + tokens <= tpm or not leaving:
            return 0.0
        if tokens > tpm:  # larger than the limit on its own: wait for an empty window, then go alone
            return self._leaves(leaving[-1]) - now
        for grant in leaving:  # first to leave first: wait until enough has left the window
            used -= grant.tokens
            if used + tokens <= tpm:
                return self._leaves(grant) - now
        return 0.0  # unreachable: an empty window leaves room for tokens <= tpm

    def take(self, tokens: int, waited: float = 0.0) -> Grant:
        grant = Grant(self, self.clock.now(), float(max(0, tokens)), waited)
        self._log.append(grant)
        return grant

    async def acquire(self, tokens: int, on_wait: Callable[[], None] | None = None) -> Grant:
        """Wait until the call may start, then log it; the grant says how long it waited. The caller
        confirms the grant once the server has the request (``Grant.confirm``) and settles its tokens."""
        waited_from = None
        while True:
            delay = self.delay(tokens)
            if delay <= NEGLIGIBLE_WAIT:
                return self.take(tokens, 0.0 if waited_from is None else self.clock.now() - waited_from)
            if waited_from is None:
                waited_from = self.clock.now()
                if on_wait is not None:
                    on_wait()
            if math.isinf(delay):  # wait for a request in flight to be confirmed or settled
                if self._change is None or self._change.done():
                    self._change = asyncio.get_running_loop().create_future()
                await asyncio.shield(self._change)
            else:
                await self.clock.sleep(delay)

    def starts(self) -> list[float]:
        """When the requests in the current window were let through (for tests and diagnostics)."""
        return [g.start for g in self._log]
