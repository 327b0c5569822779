"""The retry policy: after a failed attempt, retry after a delay or give up, and why.

Retryable errors (429, 408, 409, 5xx, connection errors, timeouts, dropped streams: see
``ProviderError.retryable``) are retried up to the step's ``retries``: after exactly the delay the server
asked for (``retry-after-ms`` / ``Retry-After``), unless that is over ``max_retry_after``; otherwise with
exponential backoff and full jitter, ``uniform(0, min(cap, base * 2**(attempt - 1)))``. Other errors are
not retried.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from chainstudio.core.providers.base import ProviderError


@dataclass(frozen=True)
class Retry:
    """Try again after ``delay`` seconds."""

    delay: float


@dataclass(frozen=True)
class GiveUp:
    """No more attempts; ``reason`` adds to the error's own message ("" when the error says it all)."""

    reason: str = ""


RetryDecision = Retry | GiveUp


@dataclass(frozen=True)
class RetryPolicy:
    backoff_base: float = 0.5  # seconds
    backoff_cap: float = 30.0
    max_retry_after: float = 120.0

    def decide(self, error: ProviderError, attempt: int, retries: int, rng: random.Random) -> RetryDecision:
        """What to do after attempt number ``attempt`` (from 1) failed with ``error``; ``rng`` gives the jitter."""
        if not error.retryable:
            return GiveUp()
        if attempt > retries:
            return GiveUp(f"gave up after {attempt} attempt{'s' if attempt != 1 else ''}" if retries else "")
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return GiveUp(
                    f"the server asked to retry after {error.retry_after:g} s, over the "
                    f"{self.max_retry_after:g} s limit"
                )
            return Retry(max(0.0, float(error.retry_after)))
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return Retry(rng.uniform(0.0, ceiling))


def jitter_rng(seed: int, step_name: str) -> random.Random:
    """The backoff jitter of one step: seeded by the run's seed and the step's name, so runs repeat."""
    return random.Random(f"{seed}\x00{step_name}")
