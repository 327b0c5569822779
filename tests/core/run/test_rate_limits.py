"""Rate limits on virtual time: waits are exact, and a wait that float rounding leaves a hair short ends."""

import asyncio

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.run.rate_limits import RateLimiter, RateLimits
from chainstudio.core.run.virtual_time import run_virtual
from chainstudio.core.storage.fileformat import load
from tests.conftest import EXAMPLES
from tests.support.engine import run_simulated


def test_no_window_holds_more_than_the_limits():
    async def main() -> list[tuple[float, float]]:
        loop = asyncio.get_running_loop()
        limiter = RateLimiter(RateLimits(requests_per_minute=3, tokens_per_minute=4000), Clock(monotonic=loop.time))
        out = []
        for _ in range(5):
            grant = await limiter.acquire(1500)
            grant.confirm()  # the server has it at once
            out.append((loop.time(), grant))
        return out

    times = run_virtual(main())
    # two calls fill the token limit (3,000 of 4,000); the next ones wait until they left the window
    # (60 s plus the safety margin); a bucket that started full let five through in 52.5 s
    assert [t for t, _ in times] == pytest.approx([0.0, 0.0, 60.1, 60.1, 120.2])
    assert [w.waited for _, w in times] == pytest.approx([0.0, 0.0, 60.1, 0.0, 60.1])


@pytest.mark.timeout(60)
def test_a_rate_limited_run_on_virtual_time_ends():
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    run = run_simulated(graph, context={"rate_limits": RateLimits(requests_per_minute=3, tokens_per_minute=4000)})
    assert run.state.status == "succeeded"
    assert any(s.wait_time > 0 for s in run.state.spans.values())
