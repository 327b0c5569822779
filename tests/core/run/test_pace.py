"""Adaptive pace: a 429 without Retry-After lowers the run's own pace (AIMD); a run against a server with a
hidden requests-per-window limit gets fewer 429s than one with a fixed cap."""

from __future__ import annotations

import asyncio

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.run.pace import AdaptivePace
from chainstudio.core.run.virtual_time import run_virtual
from tests.core.helpers import fan_out
from tests.support.engine import run_on_server
from tests.support.fake_openai_server import FakeOpenAIServer, Mode


def test_no_pacing_until_a_429_then_halving_and_additive_recovery():
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        pace = AdaptivePace(Clock(monotonic=loop.time), window=60.0)
        starts = [await pace.acquire() for _ in range(4)]  # no pacing yet: all at once
        assert starts == [0.0] * 4 and not pace.active
        await asyncio.sleep(2.0)
        pace.release(starts[0], throttled=True)
        assert pace.cuts == 1 and pace.interval == pytest.approx(1.0)  # twice the 0.5 s spacing of 4 in 2 s
        assert pace.limit == pytest.approx(2.0)  # half of what was in flight
        pace.release(starts[1], throttled=True)  # the same round: no second cut
        assert pace.cuts == 1 and pace.throttled == 2
        pace.release(starts[2], succeeded=True)
        pace.release(starts[3], succeeded=True)
        assert pace.interval == pytest.approx(1 / (1 + 2 / 60))  # +1 request per window per success
        later = [await pace.acquire() for _ in range(2)]
        return later

    later = run_virtual(main())
    assert later[1] - later[0] == pytest.approx(1 / (1 + 2 / 60))


def run_against_hidden_limit(adaptive: bool) -> tuple[str, int, int]:
    """(run status, 429s the server sent, requests) for 16 steps, at most 8 at once, against a server that
    allows 4 requests in any second and answers 429 without Retry-After beyond that."""

    graph = fan_out(16)
    for node in graph.nodes.values():
        if node.kind == "llm":
            node.params["retries"] = 12
    context = {"concurrency": 8, "adaptive_pace": adaptive, "pace_window": 1.0, "backoff_base": 0.05}
    with FakeOpenAIServer(mode=Mode(rpm_limit=(4, 1.0)), chunk_delay=0.002, default_tokens=8) as server:
        run = run_on_server(server.url, graph, backoff_cap=1.0, seed=3, **context)
        stats = server.stats
    return run.state.status, stats.statuses.get(429, 0), stats.requests


@pytest.mark.timeout(120)
def test_adaptive_pace_meets_fewer_429s_than_a_fixed_cap():
    fixed_status, fixed_429, _ = run_against_hidden_limit(adaptive=False)
    adaptive_status, adaptive_429, _ = run_against_hidden_limit(adaptive=True)
    assert adaptive_status == "succeeded"
    assert fixed_429 > 0 and adaptive_429 < fixed_429, (adaptive_429, fixed_429, fixed_status)
