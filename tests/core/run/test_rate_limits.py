"""Rate limits on virtual time: waits are exact, and a wait that float rounding leaves a hair short ends."""

import asyncio

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.run.rate_limits import RateLimiter, RateLimits
from chainstudio.core.run.virtual_time import run_virtual
from chainstudio.core.storage.fileformat import load
from tests.conftest import EXAMPLES
from tests.support.engine import run_simulated


def test_requests_per_minute_space_the_calls_out_after_a_full_bucket():
    async def main() -> list[tuple[float, float]]:
        loop = asyncio.get_running_loop()
        limiter = RateLimiter(RateLimits(requests_per_minute=3, tokens_per_minute=4000), Clock(monotonic=loop.time))
        out = []
        for _ in range(5):
            waited = await limiter.acquire(1500)
            out.append((loop.time(), waited))
        return out

    times = run_virtual(main())
    assert [t for t, _ in times] == pytest.approx([0.0, 0.0, 7.5, 30.0, 52.5])  # the token bucket, then requests
    assert [w for _, w in times] == pytest.approx([0.0, 0.0, 7.5, 22.5, 22.5])


@pytest.mark.timeout(60)
def test_a_rate_limited_run_on_virtual_time_ends():
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    run = run_simulated(graph, context={"rate_limits": RateLimits(requests_per_minute=3, tokens_per_minute=4000)})
    assert run.state.status == "succeeded"
    assert any(s.wait_time > 0 for s in run.state.spans.values())
