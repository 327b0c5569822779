"""One step's attempts on their own, with the scripted provider on virtual time (exact, instant):
retries, backoff, Retry-After, timeouts, budget reservations, rate limits and the events they emit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.providers.base import ChatRequest, ChatResult, ProviderError
from chainstudio.core.providers.scripted import ScriptedProvider
from chainstudio.core.run import events as ev
from chainstudio.core.run.attempt import AttemptServices, PreparedCall, StepAttempts, StepOutcome
from chainstudio.core.run.budget import BudgetGuard
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.rate_limits import RateLimiter, RateLimits
from chainstudio.core.run.retry import RetryPolicy
from chainstudio.core.run.status import StepStatus
from chainstudio.core.run.virtual_time import run_virtual

PRICES = Pricing({"m": {"input": 1_000_000, "output": 1_000_000}}, use_table=False)  # $1 per token


def call(retries: int = 2, timeout: float = 60.0, estimated: int = 0) -> PreparedCall:
    request = ChatRequest("m", ({"role": "user", "content": "hi"},), max_tokens=5, timeout=timeout, seed_key="a")
    return PreparedCall(request, "hi", "", retries, timeout, estimated)


def attempt(
    prepared: PreparedCall,
    *,
    script: dict[str, list[Any]] | None = None,
    latency: float = 1.0,
    budget: BudgetGuard | None = None,
    limits: RateLimits | None = None,
    policy: RetryPolicy | None = None,
    seed: int = 0,
    provider: Any = None,
    steps: int = 1,
) -> tuple[list[StepOutcome], list[ev.RunEvent], Any, list[str]]:
    """Run the attempts of ``steps`` steps named a, b, ... one after another; returns their outcomes, the
    events, the provider and the calls made to ``on_first_token``."""
    events: list[ev.RunEvent] = []
    hooked: list[str] = []

    async def main() -> tuple[list[StepOutcome], Any]:
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        used = provider or ScriptedProvider(script=script or {}, clock=clock, default_latency=latency)
        if hasattr(used, "clock"):
            used.clock = clock
        services = AttemptServices(
            "run-1",
            used,
            clock,
            PRICES,
            policy or RetryPolicy(),
            budget or BudgetGuard(),
            RateLimiter(limits, clock) if limits else None,
            seed,
            events.append,
        )
        outcomes = []
        for i in range(steps):
            name = "abcdefgh"[i]
            prepared_i = PreparedCall(
                ChatRequest("m", prepared.request.messages, max_tokens=5, timeout=prepared.timeout, seed_key=name),
                prepared.prompt,
                prepared.system,
                prepared.retries,
                prepared.timeout,
                prepared.estimated_tokens,
            )
            attempts = StepAttempts(services, name, name, prepared_i, on_first_token=lambda n=name: hooked.append(n))
            outcomes.append(await attempts.run())
        return outcomes, used

    outcomes, used = run_virtual(main())
    return outcomes, events, used, hooked


def kinds(events: list[ev.RunEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_a_successful_call_emits_its_events_and_returns_the_output():
    (outcome,), events, provider, hooked = attempt(call())
    assert outcome == StepOutcome(StepStatus.SUCCEEDED, output="a says: hi")
    assert kinds(events) == ["NodeStarted", "NodeFirstToken", "NodeOutputDelta", "NodeFinished"]
    finished = events[-1]
    assert isinstance(finished, ev.NodeFinished)
    assert (finished.t, finished.attempts, finished.input_tokens, finished.output_tokens) == (1.0, 1, 10, 5)
    assert finished.cost_usd == pytest.approx(15.0) and finished.request_id == "a-1"
    assert hooked == ["a"]


def test_retry_after_is_waited_exactly_and_every_attempt_is_recorded():
    script = {
        "a": [
            ProviderError("slow down", kind="http", status=429, retry_after=2.5),
            ProviderError("x", status=500),
            None,
        ]
    }
    (outcome,), events, provider, hooked = attempt(call(), script=script, policy=RetryPolicy(backoff_base=0.0))
    assert outcome.status is StepStatus.SUCCEEDED
    retries = [e for e in events if isinstance(e, ev.NodeRetrying)]
    assert [(r.attempt, r.delay, r.status, r.reason) for r in retries] == [
        (1, 2.5, 429, "HTTP 429: slow down"),
        (2, 0.0, 500, "HTTP 500: x"),
    ]
    assert [c.start for c in provider.calls] == [0.0, 3.5, 4.5]
    assert [e.attempt for e in events if isinstance(e, ev.NodeStarted)] == [1, 2, 3]
    assert hooked == ["a"]  # only the successful attempt streamed a token


def test_backoff_has_full_jitter_under_an_exponential_ceiling_and_repeats_for_a_seed():
    boom = ProviderError("unavailable", kind="http", status=503)
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=3.0)

    def delays(seed: int) -> list[float]:
        _, events, _, _ = attempt(call(retries=4), script={"a": [boom] * 5}, policy=policy, seed=seed)
        return [e.delay for e in events if isinstance(e, ev.NodeRetrying)]

    first = delays(7)
    assert len(first) == 4 and all(0 <= d <= min(3.0, 2**i) for i, d in enumerate(first))
    assert delays(7) == first and delays(8) != first


def test_giving_up_says_why_and_counts_the_attempts():
    boom = ProviderError("unavailable", kind="http", status=503, input_tokens=3)
    (outcome,), events, provider, _ = attempt(call(retries=1), script={"a": [boom, boom]})
    assert outcome == StepOutcome(StepStatus.FAILED)
    failed = events[-1]
    assert isinstance(failed, ev.NodeFailed)
    assert failed.error == "HTTP 503: unavailable (gave up after 2 attempts)"
    assert (failed.attempts, failed.status, failed.input_tokens, failed.cost_usd) == (2, 503, 6, pytest.approx(6.0))
    assert len(provider.calls) == 2


def test_a_non_retryable_error_fails_at_once():
    (outcome,), events, provider, _ = attempt(call(), script={"a": [ProviderError("bad key", status=401)]})
    assert outcome.status is StepStatus.FAILED and len(provider.calls) == 1
    assert kinds(events) == ["NodeStarted", "NodeFailed"]
    assert events[-1].error == "HTTP 401: bad key"


def test_a_retry_after_over_the_limit_fails_instead_of_waiting():
    late = ProviderError("later", kind="http", status=429, retry_after=600)
    (outcome,), events, _, _ = attempt(call(), script={"a": [late]}, policy=RetryPolicy(max_retry_after=120))
    assert outcome.status is StepStatus.FAILED
    assert events[-1].error == "HTTP 429: later (the server asked to retry after 600 s, over the 120 s limit)"


def test_each_attempt_has_its_own_timeout():
    (outcome,), events, provider, _ = attempt(
        call(retries=1, timeout=2.0), script={"a": ["hang"]}, latency=0.5, policy=RetryPolicy(backoff_base=0.0)
    )
    assert outcome.status is StepStatus.SUCCEEDED
    assert provider.calls[0].outcome == "cancelled" and provider.calls[0].end == 2.0
    retrying = next(e for e in events if isinstance(e, ev.NodeRetrying))
    assert retrying.reason == "no first token within 2 s of the server taking the request" and retrying.t == 2.0
    assert events[-1].t == 2.5


def test_a_provider_bug_fails_the_step_without_a_retry():
    class Broken:
        name, simulated, label = "broken", True, "Broken"

        async def stream_chat(self, request: ChatRequest, on_delta: Any) -> ChatResult:
            raise KeyError("oops")

        async def aclose(self) -> None:
            return None

    (outcome,), events, _, _ = attempt(call(retries=3), provider=Broken())
    assert outcome.status is StepStatus.FAILED
    assert kinds(events) == ["NodeStarted", "NodeFailed"] and events[-1].error == "KeyError: 'oops'"


def test_a_budget_that_refuses_the_first_attempt_skips_the_step_and_stops_later_ones():
    budget = BudgetGuard(token_cap=12)
    outcomes, events, provider, _ = attempt(call(estimated=10), budget=budget, steps=2)
    # a reserves 10 of 12 and uses 15; b's worst case no longer fits: b and every later call stop here
    assert outcomes[0].status is StepStatus.SUCCEEDED
    assert outcomes[1].status is StepStatus.SKIPPED and outcomes[1].reason == budget.stop_reason
    assert budget.stop_reason.startswith("stopped by the token cap (12): step 'b' could use up to 10 tokens")
    assert kinds(events)[-1] == "NodeSkipped" and len(provider.calls) == 1
    assert budget.admit("c:1", "c", "m", 0, lambda: 0.0) == budget.stop_reason  # sticky


def test_a_budget_that_refuses_a_retry_fails_the_step_after_its_attempts():
    budget = BudgetGuard(cost_cap=17.0)  # $1 per token: each attempt may cost 15; the failed one used 3
    boom = ProviderError("unavailable", kind="http", status=503, input_tokens=3)
    (outcome,), events, provider, _ = attempt(
        call(estimated=15), script={"a": [boom, None]}, budget=budget, policy=RetryPolicy(backoff_base=0.0)
    )
    assert outcome.status is StepStatus.FAILED and outcome.reason == budget.stop_reason
    failed = events[-1]
    assert isinstance(failed, ev.NodeFailed) and failed.attempts == 1
    assert failed.error == "stopped by the cost cap ($17.0000): step 'a' could cost up to $15.0000 and $14.0000 is left"
    assert len(provider.calls) == 1


def test_a_rate_limit_wait_is_announced_once_per_wait():
    outcomes, events, provider, _ = attempt(call(), limits=RateLimits(requests_per_minute=1), steps=2)
    waits = [e for e in events if isinstance(e, ev.NodeWaiting)]
    assert [(w.node_id, w.reason, w.t) for w in waits] == [("b", "rate_limit", 1.0)]
    assert [c.start for c in provider.calls] == [0.0, 60.1]  # a window of 60 s plus the safety margin
    assert all(o.status is StepStatus.SUCCEEDED for o in outcomes)


def test_without_a_budget_no_cost_is_computed_for_settling():
    class CountingPricing(Pricing):
        calls = 0

        def cost_usd(
            self, model: str | None, input_tokens: int, output_tokens: int, cached_tokens: int = 0
        ) -> float | None:
            CountingPricing.calls += 1
            return super().cost_usd(model, input_tokens, output_tokens, cached_tokens)

    events: list[ev.RunEvent] = []

    async def main() -> StepOutcome:
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        services = AttemptServices(
            "run-1",
            ScriptedProvider(clock=clock, default_latency=1.0),
            clock,
            CountingPricing(use_table=False),
            RetryPolicy(),
            BudgetGuard(),
            None,
            0,
            events.append,
        )
        return await StepAttempts(services, "a", "a", call()).run()

    assert run_virtual(main()).status is StepStatus.SUCCEEDED
    assert CountingPricing.calls == 1  # the NodeFinished cost only
