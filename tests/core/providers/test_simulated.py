"""The simulated provider: deterministic, labelled, token counts from the text, latency from the profile."""

import asyncio

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.providers.base import ChatRequest, Provider, ProviderError
from chainstudio.core.providers.simulated import MARKER, PROFILES, Faults, SimulatedProvider
from chainstudio.core.run.virtual_time import run_virtual
from chainstudio.core.storage.fileformat import load
from chainstudio.core.tokens import count_tokens
from tests.conftest import EXAMPLES
from tests.support.engine import run_simulated

REQUEST = ChatRequest(
    "gpt-4o", ({"role": "user", "content": "Research qubit counts in 2026"},), max_tokens=200, seed_key="hardware"
)


def call(provider_kwargs=None, request=REQUEST, times=1):
    async def main():
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        provider = SimulatedProvider(clock=clock, **(provider_kwargs or {}))
        out = []
        for _ in range(times):
            deltas: list = []
            t0 = clock.now()

            def on_delta(text, t, deltas=deltas, t0=t0):
                deltas.append((text, t - t0))

            try:
                result = await provider.stream_chat(request, on_delta)
            except ProviderError as exc:
                result = exc
            out.append((result, deltas, clock.now() - t0))
        return provider, out

    return run_virtual(main())


def test_output_is_deterministic_for_a_seed_says_simulated_and_streams():
    _, [(a, deltas, elapsed)] = call({"seed": 1})
    _, [(b, _, elapsed_b)] = call({"seed": 1})
    _, [(c, _, _)] = call({"seed": 2})
    assert a == b and elapsed == elapsed_b
    assert a.text != c.text
    assert a.text.startswith(MARKER) and "qubit" in a.text.lower()
    assert "".join(text for text, _ in deltas) == a.text and len(deltas) > 3
    assert a.output_tokens == count_tokens(a.text) <= REQUEST.max_tokens
    assert a.input_tokens == count_tokens(REQUEST.messages[0]["content"])
    assert [t for _, t in deltas] == sorted(t for _, t in deltas)


def test_latency_is_time_to_first_token_plus_tokens_over_rate_within_the_jitter():
    provider, [(result, deltas, elapsed)] = call()
    profile = PROFILES["gpt-4o"]
    ttft = deltas[0][1]
    assert profile.ttft * (1 - profile.jitter) <= ttft <= profile.ttft * (1 + profile.jitter) + 0.01
    rate = result.output_tokens / (elapsed - ttft)
    assert profile.tokens_per_second * 0.8 <= rate <= profile.tokens_per_second * 1.2
    assert provider.estimate_seconds(REQUEST) == pytest.approx(profile.ttft + 200 * 0.835 / 90, rel=0.01)


def test_it_is_a_provider_labelled_simulated():
    provider = SimulatedProvider(clock=Clock(speed=25))
    assert isinstance(provider, Provider)
    assert provider.simulated and "Simulated" in provider.label and "x25" in provider.label


def test_injected_faults():
    _, [(err, _, _)] = call({"faults": Faults(rate_limit=1.0, retry_after=2.0)})
    assert isinstance(err, ProviderError) and err.status == 429 and err.retry_after == 2.0 and err.retryable
    _, [(err, _, _)] = call({"faults": Faults(server_error=1.0)})
    assert err.status == 500 and err.retryable
    _, [(err, deltas, _)] = call({"faults": Faults(dropped=1.0)})
    assert err.kind == "dropped" and err.retryable and err.partial_text == "".join(t for t, _ in deltas)
    assert len(err.partial_text) > 0
    _, results = call({"faults": Faults(rate_limit=0.5), "seed": 3}, times=8)
    outcomes = [isinstance(r, ProviderError) for r, _, _ in results]
    assert True in outcomes and False in outcomes  # decided per attempt


def test_faulty_runs_recover_through_the_executor_retries():
    graph = load(EXAMPLES / "research-parallel.chain.json")
    run = run_simulated(graph, seed=4, provider={"faults": Faults(rate_limit=0.3, server_error=0.1, dropped=0.1)})
    assert run.state.status == "succeeded"
    assert run.state.totals().api_calls > 6  # some attempts failed and were retried


def test_research_examples_reproduce_the_seed_pattern():
    walls = {}
    for name in ("sequential", "parallel", "hybrid"):
        run = run_simulated(load(EXAMPLES / f"research-{name}.chain.json"))
        assert run.state.status == "succeeded" and run.state.totals().api_calls == 6
        walls[name] = run.state.totals().wall
    speedup = walls["sequential"] / walls["parallel"]
    assert 3.0 <= speedup <= 4.0, walls
    assert walls["parallel"] < walls["hybrid"] < walls["sequential"]


def test_a_wave_of_calls_generates_one_answer_per_loop_turn_with_the_same_answers(monkeypatch):
    """64 calls start together at a run's start: each answer is generated in a loop turn of its own (a GUI
    stays responsive between them), and the answers are those of calls made one at a time."""
    import asyncio

    from chainstudio.core.clock import Clock
    from chainstudio.core.providers import simulated
    from chainstudio.core.providers.base import ChatRequest

    requests = [
        ChatRequest(
            "gpt-4o-mini", ({"role": "user", "content": f"write about wave {i}"},), max_tokens=60, seed_key=f"s{i}"
        )
        for i in range(8)
    ]

    original = simulated.simulated_text

    async def wave(together: bool) -> tuple[list[str], list[int]]:
        turns, generated_at = 0, []

        def spy(*args, **kwargs):
            generated_at.append(turns)
            return original(*args, **kwargs)

        async def ticker():
            nonlocal turns
            while True:
                turns += 1
                await asyncio.sleep(0)

        monkeypatch.setattr(simulated, "simulated_text", spy)
        provider = simulated.SimulatedProvider(clock=Clock(speed=1000.0))
        counting = asyncio.create_task(ticker())
        if together:
            results = await asyncio.gather(*(provider.stream_chat(r, lambda *_: None) for r in requests))
        else:
            results = [await provider.stream_chat(r, lambda *_: None) for r in requests]
        counting.cancel()
        return [r.text for r in results], generated_at

    texts, turns = asyncio.run(wave(together=True))
    one_by_one, _ = asyncio.run(wave(together=False))
    assert len(turns) == len(set(turns)), turns  # never two answers generated in one loop turn
    assert texts == one_by_one


def test_calls_waiting_their_turn_can_be_cancelled_and_the_others_go_on():
    """The calls of a wave wait their turn in a queue (the k-th spun k loop turns before: a 9,997-call fan-out
    was quadratic); a call cancelled while it waits, or just as its turn comes, passes the turn on."""
    requests = [
        ChatRequest("gpt-4o-mini", ({"role": "user", "content": f"wave {i}"},), max_tokens=20, seed_key=f"s{i}")
        for i in range(300)
    ]

    async def main():
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        provider = SimulatedProvider(clock=clock)
        tasks = [asyncio.ensure_future(provider.stream_chat(r, lambda *_: None)) for r in requests]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(provider._turns) > 250  # one generates, the others wait their turn
        for task in tasks[::3]:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return provider, results

    provider, results = run_virtual(main())
    cancelled = [r for r in results if isinstance(r, asyncio.CancelledError)]
    done = [r for r in results if not isinstance(r, BaseException)]
    assert len(cancelled) >= 99 and len(done) + len(cancelled) == 300 and done
    assert not provider._busy and not provider._turns  # nothing left waiting for a turn that never comes
