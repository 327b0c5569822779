"""One step's model call: its attempts, with retries, backoff, timeouts, budget and rate limits.

``StepAttempts(...).run()`` makes the step's attempts one after another and says how the step ended; it
emits every attempt's events (``NodeStarted``, ``NodeFirstToken``, ``NodeOutputDelta``, then
``NodeRetrying`` between attempts, and ``NodeFinished``, ``NodeFailed`` or ``NodeSkipped`` at the end).
Before each attempt it reserves the attempt's worst case in the run's budget (a refused reservation ends
the step: skipped before its first attempt, failed after a retry) and waits for the rate limiter; each
attempt has its own timeout on the run's clock. What to do after a failure is the ``RetryPolicy``'s call.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from chainstudio.core.clock import Clock
from chainstudio.core.providers.base import ChatRequest, ChatResult, Provider, ProviderError
from chainstudio.core.run import events as ev
from chainstudio.core.run.budget import BudgetGuard
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.rate_limits import RateLimiter
from chainstudio.core.run.retry import GiveUp, RetryPolicy, jitter_rng
from chainstudio.core.run.status import StepStatus

Emit = Callable[[ev.RunEvent], None]


@dataclass
class PreparedCall:
    """What a step's attempts send: the request with its rendered messages, and the step's limits."""

    request: ChatRequest
    prompt: str
    system: str
    retries: int
    timeout: float
    estimated_tokens: int = 0  # prompt + max_tokens, counted only when a budget or a rate limit needs it


@dataclass(frozen=True)
class StepOutcome:
    """How a step's model call ended: its final status, its output when it succeeded, and the reason a
    budget gave when it stopped the step (which its descendants are skipped with)."""

    status: StepStatus
    output: str | None = None
    reason: str | None = None


@dataclass
class AttemptServices:
    """What every step's attempts of one run share."""

    run_id: str
    provider: Provider
    clock: Clock
    pricing: Pricing
    policy: RetryPolicy
    budget: BudgetGuard
    limiter: RateLimiter | None
    seed: int
    emit: Emit


class StepAttempts:
    """The attempts of one step's model call (create one per step)."""

    def __init__(
        self,
        services: AttemptServices,
        step_id: str,
        step_name: str,
        call: PreparedCall,
        on_first_token: Callable[[], None] | None = None,
    ):
        self.services = services
        self.step_id = step_id
        self.step_name = step_name
        self.call = call
        self._on_first_token = on_first_token
        self._tokens_in = 0
        self._tokens_out = 0

    async def run(self) -> StepOutcome:
        s, call, nid = self.services, self.call, self.step_id
        rng: random.Random | None = None  # backoff jitter, seeded per step; made on the first failure
        attempt = 0
        while True:
            attempt += 1
            stopped = self._budget_stop(attempt)
            if stopped is not None:
                return stopped
            if s.limiter is not None:
                await s.limiter.acquire(
                    call.estimated_tokens,
                    lambda: s.emit(ev.NodeWaiting(s.run_id, s.clock.now(), nid, "rate_limit")),
                )
            s.emit(ev.NodeStarted(s.run_id, s.clock.now(), nid, attempt, call.prompt, call.system))
            try:
                async with s.clock.timeout(call.timeout):
                    result: ChatResult = await s.provider.stream_chat(call.request, self._delta_callback(attempt))
            except TimeoutError:
                error = ProviderError(f"no complete answer within {call.timeout:g} s", kind="timeout")
            except ProviderError as exc:
                error = exc
            except Exception as exc:  # noqa: BLE001 - a provider bug fails the step, not the run
                error = ProviderError(f"{type(exc).__name__}: {exc}", kind="other", retryable=False)
            else:
                return self._succeeded(result, attempt)
            self._settle(attempt, call.request.model, error.input_tokens, error.output_tokens)
            if rng is None:
                rng = jitter_rng(s.seed, self.step_name)
            decision = s.policy.decide(error, attempt, call.retries, rng)
            if isinstance(decision, GiveUp):
                return self._gave_up(error, attempt, decision)
            s.emit(ev.NodeRetrying(s.run_id, s.clock.now(), nid, attempt, decision.delay, str(error), error.status))
            await s.clock.sleep(decision.delay)

    # --- one attempt's parts ---------------------------------------------------------------------------
    def _budget_stop(self, attempt: int) -> StepOutcome | None:
        """Reserve this attempt's worst case; when it may not be made, end the step here."""
        s, call = self.services, self.call
        request = call.request

        def worst_cost() -> float | None:
            worst_in = call.estimated_tokens - request.max_tokens
            return s.pricing.cost_usd(request.model, worst_in, request.max_tokens)

        reason = s.budget.admit(
            f"{self.step_id}:{attempt}", self.step_name, request.model, call.estimated_tokens, worst_cost
        )
        if reason is None:
            return None
        now = s.clock.now()
        if attempt == 1:
            s.emit(ev.NodeSkipped(s.run_id, now, self.step_id, reason))
            return StepOutcome(StepStatus.SKIPPED, reason=reason)
        s.emit(ev.NodeFailed(s.run_id, now, self.step_id, reason, attempt - 1))
        return StepOutcome(StepStatus.FAILED, reason=reason)

    def _delta_callback(self, attempt: int) -> Callable[[str, float], None]:
        s, nid = self.services, self.step_id
        first = True

        def on_delta(text: str, t: float) -> None:
            nonlocal first
            if first:
                first = False
                s.emit(ev.NodeFirstToken(s.run_id, t, nid, attempt))
                if self._on_first_token is not None:
                    self._on_first_token()
            s.emit(ev.NodeOutputDelta(s.run_id, t, nid, attempt, text))

        return on_delta

    def _settle(self, attempt: int, model: str, tokens_in: int, tokens_out: int) -> float | None:
        """Book an attempt's usage; returns its cost (None: price unknown) when it had to be computed."""
        s, requested = self.services, self.call.request.model
        self._tokens_in += tokens_in
        self._tokens_out += tokens_out
        if not s.budget.active:  # nothing reads the spent amounts: no pricing on the way to the next step
            return None
        cost = s.pricing.call_cost(model, requested, tokens_in, tokens_out)
        s.budget.settle(f"{self.step_id}:{attempt}", tokens_in + tokens_out, cost)
        return cost

    def _succeeded(self, result: ChatResult, attempt: int) -> StepOutcome:
        s, request = self.services, self.call.request
        model = result.model or request.model
        attempt_cost = self._settle(attempt, model, result.input_tokens, result.output_tokens)
        if s.limiter is not None:
            s.limiter.adjust_tokens(result.input_tokens + result.output_tokens - self.call.estimated_tokens)
        if s.budget.active and (self._tokens_in, self._tokens_out) == (result.input_tokens, result.output_tokens):
            cost = attempt_cost  # the only attempt that used tokens: the same sum
        else:
            cost = s.pricing.call_cost(model, request.model, self._tokens_in, self._tokens_out)
        s.emit(
            ev.NodeFinished(
                s.run_id,
                s.clock.now(),
                self.step_id,
                result.text,
                self._tokens_in,
                self._tokens_out,
                cost,
                attempt,
                result.request_id,
                result.model,
            )
        )
        return StepOutcome(StepStatus.SUCCEEDED, output=result.text)

    def _gave_up(self, error: ProviderError, attempt: int, decision: GiveUp) -> StepOutcome:
        s, model = self.services, self.call.request.model
        message = str(error) + (f" ({decision.reason})" if decision.reason else "")
        s.emit(
            ev.NodeFailed(
                s.run_id,
                s.clock.now(),
                self.step_id,
                message,
                attempt,
                error.status,
                self._tokens_in,
                self._tokens_out,
                s.pricing.call_cost(model, model, self._tokens_in, self._tokens_out),
            )
        )
        return StepOutcome(StepStatus.FAILED)
