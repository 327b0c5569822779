"""Rate limits that hold: no 60 s window ever holds more requests or tokens than the limits, checked over
minutes of virtual time and, in real time, from a local server's own request log."""

from __future__ import annotations

import pytest

from chainstudio.core.run import events as ev
from chainstudio.core.run.executor import Run
from chainstudio.core.run.rate_limits import RateLimits
from tests.core.helpers import fan_out
from tests.support.engine import run_on_server, run_scripted
from tests.support.fake_openai_server import FakeOpenAIServer


def most_in_a_window(items: list[tuple[float, int]], seconds: float) -> tuple[int, int]:
    """The most items and the largest sum of amounts that fall in any window of ``seconds`` (the busiest
    window starts at some item, so checking the windows that start at items checks them all)."""
    items = sorted(items)
    most = heaviest = 0
    for i, (start, _) in enumerate(items):
        inside = [amount for t, amount in items[i:] if t < start + seconds]
        most, heaviest = max(most, len(inside)), max(heaviest, sum(inside))
    return most, heaviest


def starts_and_tokens(run: Run) -> list[tuple[float, int]]:
    """Each request's start and the tokens its step was charged (one attempt per step here)."""
    tokens = {s.node_id: s.input_tokens + s.output_tokens for s in run.state.spans.values()}
    return [(e.t, tokens[e.node_id]) for e in run.events if isinstance(e, ev.NodeStarted)]


@pytest.mark.parametrize("rpm", [10, 30])
def test_no_minute_holds_more_requests_than_the_limit_over_minutes_of_virtual_time(rpm):
    steps = 3 * rpm  # three minutes' worth, where the old bucket let two minutes' worth into the first
    run, provider = run_scripted(
        fan_out(steps), latency={f"b{i}": 0.5 for i in range(steps)}, context={"rate_limits": RateLimits(rpm)}
    )
    items = starts_and_tokens(run)
    assert run.state.status == "succeeded" and len(items) == steps
    assert items[-1][0] - items[0][0] >= 120.0  # at least two minutes of (virtual) time
    assert most_in_a_window(items, 60.0)[0] == rpm  # full windows, never one over


def test_no_minute_holds_more_tokens_than_the_limit():
    tpm = 900
    run, provider = run_scripted(
        fan_out(40), latency={f"b{i}": 0.5 for i in range(40)}, context={"rate_limits": RateLimits(None, tpm)}
    )
    items = starts_and_tokens(run)
    assert run.state.status == "succeeded" and items[-1][0] - items[0][0] >= 120.0
    most, heaviest = most_in_a_window(items, 60.0)
    assert heaviest <= tpm
    # each call reserves its prompt + max_tokens (512) up front, so one fits per window at this limit
    assert most == 1


@pytest.mark.timeout(60)
def test_a_local_server_log_shows_no_window_over_the_limit_in_real_time():
    """The server logs each request's arrival; every window of the (shortened) period holds at most the
    limit. The limiter adds its safety margin to each window, so network delay cannot push one over."""
    limit, window = 3, 1.0

    with FakeOpenAIServer(chunk_delay=0) as server:
        run = run_on_server(server.url, fan_out(10), rate_limits=RateLimits(limit, window=window))
        most, _ = server.windows(window)
        arrivals = sorted(e["start"] for e in server.stats.log)
    assert run.state.status == "succeeded" and len(arrivals) == 10
    assert most == limit
    assert arrivals[-1] - arrivals[0] >= 3 * window  # it really spread ten requests over three windows
