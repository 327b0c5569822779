"""The latency and capacity model: the server simulation, and fits on recorded runs with known parameters."""

import asyncio
import random

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.planning.capacity import (
    Hypothesis,
    Job,
    Observed,
    ServerSim,
    Speed,
    infer,
    solo_times,
    streams_one_at_a_time,
)
from chainstudio.core.planning.latency_model import LatencyModel, ModelFit, ServerCapacity, fit_model, is_local
from chainstudio.core.planning.stand_in import StandInProvider
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.virtual_time import run_virtual
from chainstudio.core.storage.fileformat import load
from tests.conftest import EXAMPLES

ENDPOINT = "http://127.0.0.1:8080/v1"
TRUE_SPEED = Speed(ttft=0.4, prefill_per_token=0.004, tokens_per_second=50.0)


def true_server(slots, capacity, *, scale=1.0, offset=0.0, fraction=1.0):
    """A server with known figures, as a latency model (its stand-in provider plays the server)."""
    fit = ModelFit(TRUE_SPEED, fraction, scale, offset)
    return LatencyModel(ENDPOINT, {"gemma": fit}, ServerCapacity(slots, capacity, measured=True))


def record(graph, server, strategy="eager", concurrency=None):
    """Run ``graph`` against ``server`` on virtual time; its RunState, as the history would replay it."""

    async def go():
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        provider = StandInProvider(graph, clock, server)
        run = Run(graph, RunContext(provider, clock=clock, concurrency=concurrency), strategy=strategy, model="gemma")
        return await run.execute()

    return run_virtual(go())


def research(name):
    return load(EXAMPLES / f"research-{name}.chain.json")


# --- the server simulation -------------------------------------------------------------------------------
def test_a_one_at_a_time_server_queues_the_others():
    jobs = [Job(0.0, 0.5, 2.0) for _ in range(3)]
    ServerSim(1, 1).run(jobs)
    assert [(j.admitted, j.first, j.end) for j in jobs] == [(0.0, 0.5, 2.5), (2.5, 3.0, 5.0), (5.0, 5.5, 7.5)]


def test_slots_sharing_one_speed_slow_every_stream_down():
    jobs = [Job(0.0, 0.5, 2.0) for _ in range(3)]
    ServerSim(4, 1).run(jobs)  # three admitted at once, each at a third of the speed
    assert [(j.first, j.end) for j in jobs] == [pytest.approx((1.5, 7.5))] * 3
    unlimited = [Job(0.0, 0.5, 2.0) for _ in range(3)]
    ServerSim(None, None).run(unlimited)
    assert [(j.first, j.end) for j in unlimited] == [pytest.approx((0.5, 2.5))] * 3


def test_a_request_arriving_later_shares_what_is_left():
    first, second = Job(0.0, 0.0, 4.0), Job(2.0, 0.0, 4.0)
    ServerSim(None, 1).run([first, second])
    # 0-2 s: first alone (2 s of work left); then both at half speed: first ends at 6, second has 2 s left
    assert first.end == pytest.approx(6.0) and second.end == pytest.approx(8.0)


def test_requests_sent_together_are_served_in_the_order_the_server_saw_them():
    """Four requests sent within a second of each other race to a one-at-a-time server: it answers them in
    its own arrival order (here the reverse of the client's), and each one's solo time is still recovered."""
    starts = [0.0, 0.2, 0.4, 0.6]
    served = [3, 2, 1, 0]  # the server's order
    run = []
    for position, i in enumerate(served):
        begin = 1.0 + 3.0 * position  # solo: 1 s to the first token, 2 s of generation
        run.append((i, Observed(starts[i], begin, begin + 2.0, 50, 100, "gemma", True, f"s{i}")))
    observed = [o for _, o in sorted(run, key=lambda pair: pair[0])]
    solo = solo_times(observed, Hypothesis(1, 1))
    served_first = next(o for i, o in run if i == 3)
    assert solo[3] == pytest.approx((served_first.first - starts[3], 2.0))  # the first served waited for none
    assert [round(ttft, 6) for ttft, _ in solo[:3]] == [1.0, 1.0, 1.0]
    assert [gen for _, gen in solo] == pytest.approx([2.0] * 4)


# research-parallel (64 tokens a step) recorded on llama-cpp-python's server on a 2-core box at load ~10:
# (start, first token, end, input tokens, output tokens); four angles sent within 0.05 s, answered in another order
BUSY_ONE_AT_A_TIME = [
    (0.00, 6.8, 34.7, 58, 58),
    (0.65, 74.1, 109.2, 56, 61),
    (0.66, 132.8, 161.3, 56, 56),
    (0.67, 180.6, 202.3, 60, 69),
    (0.69, 38.1, 71.9, 55, 60),
    (202.26, 263.1, 291.2, 411, 63),
]


def test_a_noisy_record_of_a_one_at_a_time_server_still_shows_capacity_one():
    """Five in flight, never two streaming at once: one at a time, although the busy machine's noise makes
    the replay error of 'one at a time' only a little better than that of 'no limit'."""
    run = [Observed(s, f, e, i, o, "gemma", True, f"s{k}") for k, (s, f, e, i, o) in enumerate(BUSY_ONE_AT_A_TIME)]
    assert streams_one_at_a_time([run])
    result = infer([run])
    assert result is not None and result.hypothesis == Hypothesis(1, 1)
    overlapping = [Observed(0.0, 1.0, 9.0, 50, 100, "gemma", True, "a"), Observed(0.1, 1.2, 9.5, 50, 100, "gemma")]
    assert not streams_one_at_a_time([overlapping])
    assert not streams_one_at_a_time([run[-1:]])  # one request alone shows nothing


# --- fitting on recorded runs with known parameters -----------------------------------------------------
@pytest.mark.parametrize(
    "slots,capacity,effective",
    [(1, 1, 1), (4, 1, 1), (4, 4, 4), (None, None, None)],
    ids=["one-at-a-time", "four-slots-one-speed", "four-at-once", "unlimited"],
)
def test_fit_recovers_the_speed_and_the_capacity(slots, capacity, effective):
    server = true_server(slots, capacity, scale=1.3, offset=12.0)
    states = [record(research(name), server) for name in ("parallel", "hybrid", "sequential")]
    model = fit_model(states, ENDPOINT)
    fit = model.fit("gemma")
    assert fit.calibrated and fit.source == "fit" and fit.runs == 3 and fit.attempts == 18
    assert fit.speed.ttft == pytest.approx(TRUE_SPEED.ttft, abs=0.05)
    assert fit.speed.prefill_per_token == pytest.approx(TRUE_SPEED.prefill_per_token, rel=0.05)
    assert fit.speed.tokens_per_second == pytest.approx(TRUE_SPEED.tokens_per_second, rel=0.02)
    assert fit.input_scale == pytest.approx(1.3, rel=0.05) and fit.input_offset == pytest.approx(12.0, abs=6)
    assert fit.output_fraction == pytest.approx(1.0)
    assert model.capacity.measured and model.capacity.max_in_flight == 5
    assert model.capacity.effective == effective


def noisy_runs(slots, capacity, seed, runs=2):
    """Five requests at once, then an aggregate: each recorded time off by up to 3 %."""
    rng = random.Random(seed)
    out = []
    for _ in range(runs):
        sizes = [(rng.randint(40, 80), rng.randint(300, 400)) for _ in range(5)]
        jobs = [Job(0.0, *TRUE_SPEED.solo(i, o)) for i, o in sizes]
        ServerSim(slots, capacity).run(jobs)
        end = max(j.end for j in jobs)
        sizes.append((2000, 400))
        last = Job(end, *TRUE_SPEED.solo(2000, 400))
        ServerSim(slots, capacity).run([last])
        jobs.append(last)

        def off(t, start):
            return start + (t - start) * rng.uniform(0.97, 1.03)

        out.append(
            [
                Observed(j.arrival, off(j.first, j.arrival), off(j.end, j.arrival), i, o, "gemma", True)
                for j, (i, o) in zip(jobs, sizes, strict=True)
            ]
        )
    return out


@pytest.mark.parametrize("seed", range(4))
def test_capacity_one_against_four_with_noisy_timings(seed):
    one = infer(noisy_runs(1, 1, seed))
    four = infer(noisy_runs(4, 4, seed))
    shared = infer(noisy_runs(4, 1, seed))
    unlimited = infer(noisy_runs(None, None, seed))
    assert (one.hypothesis.slots, one.hypothesis.capacity) == (1, 1)
    assert four.hypothesis.capacity in (4, None) and four.hypothesis.slots == 4  # 4 at once; a 5th queues
    assert shared.hypothesis.capacity == 1 and shared.hypothesis.slots in (4, 6, 8, 12, 16, 24, 32, None)
    assert unlimited.hypothesis.capacity is None and unlimited.hypothesis.slots is None
    assert one.speeds["gemma"].tokens_per_second == pytest.approx(50.0, rel=0.05)


def test_without_overlap_the_capacity_is_not_measured():
    model = fit_model([record(research("sequential"), true_server(1, 1), strategy="sequential")], ENDPOINT)
    assert model.fit("gemma").calibrated
    assert not model.capacity.measured and model.capacity.max_in_flight == 1
    assert "not measured" in model.capacity.describe()
    assert model.assumed_capacity == 1  # a local server: planned as one at a time until measured
    assert fit_model([], "https://api.openai.com/v1").assumed_capacity is None


def test_step_histories_take_the_queueing_out():
    graph = research("parallel")
    state = record(graph, true_server(1, 1))
    model = fit_model([state], ENDPOINT, graph=graph)
    hardware = graph.node_by_name("hardware").id
    span = state.spans[hardware]
    solo = TRUE_SPEED.seconds(span.input_tokens, span.output_tokens)
    assert model.steps[hardware].seconds == pytest.approx(solo, rel=0.01)
    slowest = max(s.duration for s in state.spans.values() if s.kind == "llm" and s.name != "aggregate")
    assert slowest > 4 * solo  # the last of five queued behind the other four
    seconds = model.step_seconds(graph)
    assert set(seconds) == {n.id for n in graph.nodes.values() if n.kind == "llm"}


def test_local_endpoints():
    assert is_local("http://127.0.0.1:8080/v1") and is_local("http://localhost:11434/v1")
    assert is_local("http://192.168.1.20:8000/v1") and not is_local("https://api.openai.com/v1")


def test_the_capacity_in_words_says_what_one_request_gets():
    """A fractional capacity used to read 'serves 1 request at a time (3 at once, sharing the speed of 1.3)'."""
    queue = ServerCapacity(slots=1, capacity=1.0, measured=True, max_in_flight=5)
    assert queue.describe() == "serves 1 request at a time, the rest queue (measured on up to 5 in flight)"
    shared = ServerCapacity(slots=3, capacity=1.3, measured=True, max_in_flight=5)
    assert shared.describe() == "runs 3 at once, together 1.3x as fast as one (measured on up to 5 in flight)"
    flat = ServerCapacity(slots=None, capacity=1.02, measured=True, max_in_flight=4)
    assert (
        flat.describe() == "serves 1 request at a time (all at once share one's speed; measured on up to 4 in flight)"
    )
