"""A live run's figures kept from the steps that changed (``core.run.tally``) equal a recount over every span
after every event of a real run (HTTP on 127.0.0.1) with retries, failures, skips and Stop."""

import asyncio
import math

import pytest

from chainstudio.core.gantt.text import live_node_time, totals_items
from chainstudio.core.providers.openai_compat import OpenAICompatProvider, OpenAISettings
from chainstudio.core.run import events as ev
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.state import RunState
from chainstudio.core.run.tally import LIVE, ExactSum, recount, tallied
from tests.core.run.test_fault_injection import KEY, graph_of
from tests.support.fake_openai_server import FakeOpenAIServer


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer(api_key=KEY, chunk_delay=0.001) as srv:
        yield srv


def directive(i: int) -> str:
    """Every 7th step fails for good (the steps reading it are skipped); every 3rd is retried once."""
    if i % 7 == 3:
        return "[[fail=500*9]]"
    return "[[fail=429*1]] [[retry_after_ms=20]]" if i % 3 == 1 else ""


def checked_run(url: str, stop_after: int | None, prepared: bool = False) -> tuple[Run, list[str], int]:
    """Run 60 steps, comparing the tally with a recount after each event; ``stop_after``: Stop once that many
    steps finished; ``prepared``: the tally made with the spans before the run (as a window's worker makes a
    big run). Returns the run, the mismatches and the events checked."""
    mismatches: list[str] = []
    checked = [0]

    async def main() -> Run:
        provider = OpenAICompatProvider(OpenAISettings(base_url=url, api_key=KEY))
        run = Run(graph_of(60, directive, retries=1), RunContext(provider=provider, concurrency=8, backoff_base=0.01))
        finished = [0]
        made = []
        if prepared:
            run.state.prepare_tally()
            made.append(run.state._prepared[4])

        def check(event: ev.RunEvent) -> None:  # after the run's own state applied it (the first listener)
            state = run.state
            if isinstance(event, ev.NodeFinished):
                finished[0] += 1
                if stop_after is not None and finished[0] == stop_after:
                    run.cancel("stopped by test")
            if not state.running:
                return
            if made and state.tally() is not made[0]:
                mismatches.append("the prepared tally was not kept")
            kept, counted = tallied(state.tally()), recount(state.spans)
            if kept != counted:
                mismatches.append(f"after {type(event).__name__}: {kept} != {counted}")
            live = frozenset(n for n, s in state.spans.items() if s.status in LIVE)
            if live != kept.live:
                mismatches.append(f"live after {type(event).__name__}: {sorted(kept.live)} != {sorted(live)}")
            totals = state.totals(path=False)
            spans = state.spans.values()
            if (totals.input_tokens, totals.output_tokens, totals.api_calls) != (
                sum(s.input_tokens for s in spans),
                sum(s.output_tokens for s in spans),
                sum(s.api_calls for s in spans),
            ):
                mismatches.append(f"totals after {type(event).__name__}")
            if totals.node_time != math.fsum(s.duration or 0.0 for s in spans):
                mismatches.append(f"node time after {type(event).__name__}")
            checked[0] += 1

        return await executed(run, provider, check)

    run = asyncio.run(main())
    return run, mismatches, checked[0]


def test_the_tally_equals_a_recount_after_every_event_of_a_run_with_retries_failures_and_skips(server):
    run, mismatches, checked = checked_run(server.url, stop_after=None)
    state = run.state
    statuses = {s.status for s in state.spans.values()}
    assert {"succeeded", "failed", "skipped"} <= statuses
    assert any(len(s.attempts) > 1 and s.status == "succeeded" for s in state.spans.values())  # retried
    assert checked > 200 and mismatches == []
    # the finished run's totals (summed over its spans, as before) agree with the tally's
    kept, totals = tallied(state.tally()), state.totals(path=False)
    assert (kept.input_tokens, kept.output_tokens, kept.api_calls) == (
        totals.input_tokens,
        totals.output_tokens,
        totals.api_calls,
    )
    assert kept.node_time == pytest.approx(totals.node_time, rel=1e-12)
    assert kept.live == frozenset() and kept.open == {}


def test_the_tally_equals_a_recount_after_every_event_of_a_stopped_run(server):
    run, mismatches, checked = checked_run(server.url, stop_after=15, prepared=True)
    state = run.state
    assert state.status == "cancelled"
    assert "cancelled" in {s.status for s in state.spans.values()}
    assert checked > 50 and mismatches == []
    assert tallied(state.tally()) == recount(state.spans)


def test_a_live_header_reads_the_tally_as_a_recount_would(server):
    """While the run goes, node time counts the open steps up to now; once over, the header is summed as
    before."""
    seen: list[tuple[float, float]] = []  # (the header's node time, summed over the spans)
    calls: list[tuple[str, str]] = []  # (the header's calls, summed over the spans): a listener cannot raise

    async def main() -> Run:
        provider = OpenAICompatProvider(OpenAISettings(base_url=server.url, api_key=KEY))
        run = Run(graph_of(20, lambda i: ""), RunContext(provider=provider, concurrency=4))

        def check(event: ev.RunEvent) -> None:
            state = run.state
            if state.running and isinstance(event, ev.NodeOutputDelta):
                now = state.now()
                expected = sum(
                    s.duration if s.duration is not None else max(0.0, now - s.started_at)
                    for s in state.spans.values()
                    if s.duration is not None or (s.started_at is not None and not s.done)
                )
                seen.append((live_node_time(state), expected))
                calls.append((dict(totals_items(state))["Calls"], str(sum(s.api_calls for s in state.spans.values()))))

        return await executed(run, provider, check)

    run = asyncio.run(main())
    assert seen and all(a == pytest.approx(b, rel=1e-9, abs=1e-9) for a, b in seen)
    assert calls and all(a == b for a, b in calls)
    assert dict(totals_items(run.state))["Calls"] == "20"


def test_an_exact_sum_takes_terms_out_without_rounding_left_behind():
    total = ExactSum()
    terms = [0.1, 1e16, 0.2, -3.3, 1e-9, 7.77]
    for x in terms:
        total.add(x)
    assert total.value() == math.fsum(terms)
    for x in terms[:3]:
        total.add(x, -1)
    assert total.value() == math.fsum(terms[3:])
    total.add(math.inf)
    assert total.value() == math.inf
    total.add(math.inf, -1)
    assert total.value() == math.fsum(terms[3:])
    total.add(math.nan)
    assert math.isnan(total.value())


def test_a_finished_run_s_totals_are_summed_once_and_as_before(server, monkeypatch):
    """The end's views, the history and the estimate's comparison each ask (each sum over 10,000 spans took
    20-40 ms of the window's thread): summed once, in the spans' order, as before."""
    run, _mismatches, _checked = checked_run(server.url, stop_after=None)
    state = run.state
    spans = list(state.spans.values())
    sums = []
    original = RunState._sum
    monkeypatch.setattr(RunState, "_sum", lambda self, wall: (sums.append(1), original(self, wall))[1])
    plain, with_path = state.totals(path=False), state.totals()
    assert sums == [1]
    assert plain.node_time == sum(s.duration or 0.0 for s in spans)  # bit for bit: the same order
    assert plain.cost_usd == sum(s.cost_usd or 0.0 for s in spans if s.api_calls > 0)
    assert plain.input_tokens == sum(s.input_tokens for s in spans) and plain.critical_path == []
    assert with_path.critical_path == state.critical_path()[0] and with_path.node_time == plain.node_time
    first_in = spans[0].input_tokens
    state.apply(ev.NodeTokensCounted(state.run_id, state.now(), spans[0].node_id, 7, 0, 0.0))  # a late recount
    assert state.totals(path=False).input_tokens == plain.input_tokens - first_in + 7
    assert sums == [1, 1]


async def executed(run: Run, provider: OpenAICompatProvider, check) -> Run:
    """``run`` executed with ``check`` told every event after the run's own state; its provider closed."""
    run.add_listener(check)
    try:
        await run.execute()
    finally:
        await provider.aclose()
    return run
