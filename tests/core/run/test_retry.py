"""The retry policy's typed decisions."""

import random

import pytest

from chainstudio.core.providers.base import ProviderError
from chainstudio.core.run.retry import GiveUp, Retry, RetryPolicy, jitter_rng

POLICY = RetryPolicy(backoff_base=0.5, backoff_cap=4.0, max_retry_after=120.0)


def decide(error: ProviderError, attempt: int = 1, retries: int = 3, seed: int = 0):
    return POLICY.decide(error, attempt, retries, random.Random(seed))


def test_errors_that_are_not_retryable_give_up_without_a_reason():
    assert decide(ProviderError("bad request", kind="http", status=400)) == GiveUp("")
    assert decide(ProviderError("bug", kind="other", retryable=False)) == GiveUp("")


def test_the_last_attempt_gives_up_and_says_after_how_many():
    boom = ProviderError("down", kind="http", status=503)
    assert decide(boom, attempt=4, retries=3) == GiveUp("gave up after 4 attempts")
    assert decide(boom, attempt=1, retries=0) == GiveUp("")  # no retries were allowed: nothing to add


def test_the_servers_retry_after_is_used_exactly_up_to_the_limit():
    assert decide(ProviderError("slow", kind="http", status=429, retry_after=2.5)) == Retry(2.5)
    assert decide(ProviderError("slow", kind="http", status=429, retry_after=0.0)) == Retry(0.0)
    too_long = decide(ProviderError("slow", kind="http", status=429, retry_after=600))
    assert too_long == GiveUp("the server asked to retry after 600 s, over the 120 s limit")


@pytest.mark.parametrize("attempt, ceiling", [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0)])
def test_backoff_is_full_jitter_under_a_capped_exponential_ceiling(attempt, ceiling):
    boom = ProviderError("timeout", kind="timeout")
    delays = [decide(boom, attempt=attempt, retries=9, seed=s) for s in range(50)]
    assert all(isinstance(d, Retry) and 0.0 <= d.delay <= ceiling for d in delays)
    assert max(d.delay for d in delays) > ceiling / 2  # jitter spreads over the range, not a constant


def test_the_jitter_repeats_for_a_seed_and_a_step():
    assert jitter_rng(7, "a").random() == jitter_rng(7, "a").random()
    assert jitter_rng(7, "a").random() != jitter_rng(7, "b").random()
