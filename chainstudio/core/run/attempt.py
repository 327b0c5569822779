"""One step's model call: its attempts, with retries, backoff, timeouts, budget and rate limits.

``StepAttempts(...).run()`` makes the step's attempts one after another and says how the step ended; it
emits every attempt's events (``NodeStarted``, ``NodeFirstToken``, ``NodeOutputDelta``, then
``NodeRetrying`` between attempts, and ``NodeFinished``, ``NodeFailed`` or ``NodeSkipped`` at the end).

Before each attempt it reserves the attempt's worst case in the run's budget (a refused reservation ends
the step: skipped before its first attempt, failed after a retry), waits for its turn at the server (once
the server was seen to cut streams off, one request at a time), for the adaptive pace and for the rate
limiter. Each attempt's timeout measures the model's progress (``progress.Watchdog``: the first token
after the server takes the request, then the gaps between chunks). While an answer streams, its tokens
are counted against the budget and the stream is stopped at a cap. What to do after a failure is the
``RetryPolicy``'s call.

A checked step's answers are checked (``core.run.checks``, ``repairs``); a rejected one is followed by a
repair attempt, up to ``PreparedCall.repairs`` (they do not use up the retries).

Every attempt's usage is kept (``spent``): failed, cut and cancelled attempts count what the server
processed (the prompt, once a token came back, and the text so far). Figures that are an offline guess
are flagged; ``recount`` asks the server to count them once the run's calls are over.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from chainstudio.core.clock import Clock
from chainstudio.core.providers.base import ChatRequest, ChatResult, Provider, ProviderError, when_sent
from chainstudio.core.run import events as ev
from chainstudio.core.run.budget import AnswerAllowance, BudgetGuard
from chainstudio.core.run.checks import AnswerCheck, Verdict
from chainstudio.core.run.pace import AdaptivePace
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.progress import ServerLoad, Watchdog
from chainstudio.core.run.rate_limits import Grant, RateLimiter
from chainstudio.core.run.repairs import Repairs
from chainstudio.core.run.retry import GiveUp, RetryPolicy, jitter_rng
from chainstudio.core.run.status import StepStatus
from chainstudio.core.run.usage import Counter, Spent, StepUsage
from chainstudio.core.tokens import count_tokens_bounded

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
    check: AnswerCheck | None = None  # what an answer must pass (core.run.checks)
    repairs: int = 0  # repair attempts after a rejected answer
    cache_request: ChatRequest | None = None  # the first request, once a repair changed ``request``

    def prompt_tokens(self) -> int:
        """The prompt's offline token count: as counted for ``estimated_tokens``, else bounded (on the loop)."""
        if self.estimated_tokens:
            return max(0, self.estimated_tokens - self.request.max_tokens)
        return count_tokens_bounded(self.system) + count_tokens_bounded(self.prompt)


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
    pace: AdaptivePace | None = None
    load: ServerLoad = field(default_factory=ServerLoad)
    answers: AnswerAllowance = field(default_factory=AnswerAllowance)  # one per run: lanes share it


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
        self.usage = StepUsage(services.pricing)
        self.attempts = 0
        self.judge_calls = 0  # a checked step's judge calls (API calls of the step too)
        self._parts: list[str] = []  # the current attempt's text so far
        self._live_tokens = 0  # its output tokens so far (counted only under a budget)
        self._watchdog: Watchdog | None = None

    @property
    def tokens_estimated(self) -> bool:
        return self.usage.estimated

    # --- the attempts ------------------------------------------------------------------------------
    async def run(self) -> StepOutcome:
        s, call, nid = self.services, self.call, self.step_id
        rng: random.Random | None = None  # backoff jitter, seeded per step; made on the first failure
        attempt = repaired = 0
        while True:
            attempt += 1
            stopped = self._budget_stop(attempt)
            if stopped is not None:
                return stopped
            grant, paced_at = await self._wait_turn()
            s.emit(ev.NodeStarted(s.run_id, s.clock.now(), nid, attempt, call.prompt, call.system))
            self.attempts = attempt
            result, error = await self._attempt(attempt, grant, paced_at)
            if result is not None:
                verdict = await Repairs(self).checked(result, attempt) if call.check is not None else None
                if verdict is None or verdict.passed:
                    return self._succeeded(result, attempt, verdict)
                if verdict.fatal or repaired >= call.repairs:
                    s.emit(Repairs(self).rejected_event(verdict, attempt, repaired, self._used()))
                    return StepOutcome(StepStatus.FAILED, reason=verdict.reason if verdict.stopped else None)
                repaired += 1
                call = self.call = Repairs(self).repaired_call(result.text, verdict)
                continue
            assert error is not None
            if error.kind == "interrupted":
                s.load.exclusive = True  # from now on, one request at a time
            if error.kind == "budget":
                return self._gave_up(error, attempt, GiveUp(), reason=error.message)
            if rng is None:
                rng = jitter_rng(s.seed, self.step_name)
            decision = s.policy.decide(error, attempt - repaired, call.retries, rng)
            if isinstance(decision, GiveUp):
                return self._gave_up(error, attempt, decision)
            s.emit(ev.NodeRetrying(s.run_id, s.clock.now(), nid, attempt, decision.delay, str(error), error.status))
            await s.clock.sleep(decision.delay)

    async def _wait_turn(self) -> tuple[Grant | None, float | None]:
        """Wait for the server (exclusive mode), the adaptive pace and the rate limiter, in that order, so
        that the limiter logs the request at the moment it is sent."""
        s, nid = self.services, self.step_id
        told: set[str] = set()

        def waiting(reason: ev.WaitReason) -> Callable[[], None]:
            def tell() -> None:
                if reason not in told:
                    told.add(reason)
                    s.emit(ev.NodeWaiting(s.run_id, s.clock.now(), nid, reason))

            return tell

        if s.load.must_wait():
            waiting("slot")()
            await s.load.turn()
        paced_at = await s.pace.acquire(waiting("rate_limit")) if s.pace is not None else None
        grant = None
        if s.limiter is not None:
            grant = await s.limiter.acquire(self.call.estimated_tokens, waiting("rate_limit"))
        return grant, paced_at

    async def _attempt(
        self, attempt: int, grant: Grant | None, paced_at: float | None
    ) -> tuple[ChatResult | None, ProviderError | None]:
        """One request: its result, or the error it failed with (its usage booked either way)."""
        s, call = self.services, self.call
        task = asyncio.current_task()
        watchdog = self._watchdog = Watchdog(s.clock, call.timeout, task, call.request.max_tokens)
        ticket = s.load.enter(watchdog.arm, watchdog.disarm)
        watchdog.on_first = lambda: s.load.serving(ticket)
        self._parts, self._live_tokens = [], 0
        result: ChatResult | None = None
        error: ProviderError | None = None
        when_sent(grant.confirm if grant is not None else None)  # the limiter counts it from then
        try:
            result = await s.provider.stream_chat(call.request, self._delta_callback(attempt))
        except asyncio.CancelledError:
            if not watchdog.fired or (task is not None and task.uncancel() > 0):
                self._book_partial(grant)  # the run was stopped: keep what the server processed
                raise
            error = ProviderError(watchdog.message(), kind="timeout")
        except ProviderError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - a provider bug fails the step, not the run
            error = ProviderError(f"{type(exc).__name__}: {exc}", kind="other", retryable=False)
        finally:
            when_sent(None)
            watchdog.close()
            self._watchdog = None
            s.load.leave(ticket)
            if s.pace is not None and paced_at is not None:
                throttled = error is not None and error.status == 429 and error.retry_after is None
                s.pace.release(paced_at, throttled=throttled, succeeded=result is not None)
        if result is not None:
            self._book(result, grant)
        else:
            assert error is not None
            self._book_error(error, grant)
        return result, error

    # --- one attempt's parts ---------------------------------------------------------------------------
    def _budget_stop(self, attempt: int) -> StepOutcome | None:
        """Reserve this attempt's worst case; when it may not be made, end the step here."""
        s, call = self.services, self.call
        request = call.request

        def worst_cost() -> float | None:
            worst_in = call.estimated_tokens - request.max_tokens
            return s.pricing.cost_usd(request.model, worst_in, request.max_tokens)

        reason = s.budget.admit(
            f"{s.run_id}:{self.step_id}:{attempt}", self.step_name, request.model, call.estimated_tokens, worst_cost
        )
        if reason is None:
            return None
        now = s.clock.now()
        if attempt == 1:
            s.emit(ev.NodeSkipped(s.run_id, now, self.step_id, reason))
            return StepOutcome(StepStatus.SKIPPED, reason=reason)
        s.emit(
            ev.NodeFailed(
                s.run_id,
                now,
                self.step_id,
                reason,
                attempt - 1,
                None,
                *self._used(),
            )
        )
        return StepOutcome(StepStatus.FAILED, reason=reason)

    def _delta_callback(self, attempt: int) -> Callable[[str, float], None]:
        s, nid, parts, first = self.services, self.step_id, self._parts, True
        budget = s.budget if s.budget.active else None
        key = f"{s.run_id}:{nid}:{attempt}"
        prompt_tokens = self.call.prompt_tokens() if budget is not None else 0

        def on_delta(text: str, t: float) -> None:
            nonlocal first
            if self._watchdog is not None:
                self._watchdog.progress()
            s.answers.take(len(text))  # past the run's answers in all: a ProviderError, which stops the stream
            parts.append(text)
            if first:
                first = False
                s.emit(ev.NodeFirstToken(s.run_id, t, nid, attempt))
                if self._on_first_token is not None:
                    self._on_first_token()
            s.emit(ev.NodeOutputDelta(s.run_id, t, nid, attempt, text))
            if budget is not None:
                self._live_tokens += count_tokens_bounded(text)  # one huge chunk must not hold the loop
                used = prompt_tokens + self._live_tokens
                priced = budget.cost_cap is not None
                cost = s.pricing.cost_usd(self.call.request.model, prompt_tokens, self._live_tokens) if priced else None
                reason = budget.exceeded(key, self.step_name, used, cost)
                if reason is not None:
                    raise ProviderError(reason, kind="budget", retryable=False)  # stops the stream

        return on_delta

    def _book(self, result: ChatResult, grant: Grant | None, request: ChatRequest | None = None, key: str = "") -> None:
        """An answer's usage (a judge's: its ``request`` and budget ``key``; default the step's attempt's)."""
        request = request or self.call.request
        self._add(
            Spent(
                request,
                result.text,
                result.input_tokens,
                result.output_tokens,
                result.model or request.model,
                result.cached_tokens,
                result.tokens_estimated,
            ),
            grant,
            key,
        )

    def _book_error(self, error: ProviderError, grant: Grant | None) -> None:
        """A failed attempt's usage: the provider's figures, else what this side saw (once a token came
        back, the server had processed the prompt and generated the text so far)."""
        if error.input_tokens or error.output_tokens:
            text = error.partial_text or "".join(self._parts)
            spent = Spent(
                self.call.request,
                text,
                error.input_tokens,
                error.output_tokens,
                self.call.request.model,
                estimated=error.tokens_estimated,
            )
            self._add(spent, grant)
        else:
            self._book_partial(grant)

    def _book_partial(self, grant: Grant | None) -> None:
        text = "".join(self._parts)
        if not self._parts:
            self._add(None, grant)
            return
        # counted while streaming (under a budget: a server past max_tokens shows here), else a guess
        # that never exceeds max_tokens
        output = self._live_tokens or min(count_tokens_bounded(text), self.call.request.max_tokens)
        spent = Spent(self.call.request, text, self.call.prompt_tokens(), output, self.call.request.model, 0, True)
        self._add(spent, grant)

    def _add(self, spent: Spent | None, grant: Grant | None, key: str = "") -> None:
        s = self.services
        key = key or f"{s.run_id}:{self.step_id}:{self.attempts}"
        tokens = 0 if spent is None else spent.input_tokens + spent.output_tokens
        if grant is not None:
            grant.settle(tokens)
        if spent is not None:
            self.usage.add(spent)
        if s.budget.active:
            s.budget.settle(key, tokens, 0.0 if spent is None else self.usage.attempt_cost(spent))

    def _succeeded(self, result: ChatResult, attempt: int, verdict: Verdict | None = None) -> StepOutcome:
        s = self.services
        u = self.usage
        output = verdict.output if verdict is not None and verdict.output is not None else result.text
        if verdict is not None and verdict.scores:
            s.emit(ev.NodeScored(s.run_id, s.clock.now(), self.step_id, verdict.scores, verdict.best))
        s.emit(
            ev.NodeFinished(
                s.run_id,
                s.clock.now(),
                self.step_id,
                output,
                u.input_tokens,
                u.output_tokens,
                u.cost(),
                attempt + self.judge_calls,
                result.request_id,
                result.model,
                u.cached_tokens,
                u.estimated,
            )
        )
        return StepOutcome(StepStatus.SUCCEEDED, output=output)

    def _gave_up(self, error: ProviderError, attempt: int, decision: GiveUp, reason: str | None = None) -> StepOutcome:
        s = self.services
        message = str(error) + (f" ({decision.reason})" if decision.reason else "")
        s.emit(
            ev.NodeFailed(
                s.run_id,
                s.clock.now(),
                self.step_id,
                message,
                attempt,
                error.status,
                *self._used(),
            )
        )
        return StepOutcome(StepStatus.FAILED, reason=reason)

    def _used(self) -> tuple[int, int, float | None, int, bool]:
        """(input tokens, output tokens, cost, cached tokens, estimated): the order ``NodeFailed`` and
        ``NodeTokensCounted`` take them in."""
        u = self.usage
        return u.input_tokens, u.output_tokens, u.cost(), u.cached_tokens, u.estimated

    def cancelled_event(self, run_id: str, t: float) -> ev.NodeCancelled:
        """The step's ``NodeCancelled``, with the tokens its attempts had the server process."""
        u = self.usage
        return ev.NodeCancelled(
            run_id, t, self.step_id, self.attempts, u.input_tokens, u.output_tokens, u.cost(), u.estimated
        )

    async def recount(self, counter: Counter) -> ev.NodeTokensCounted | None:
        """Ask the server to count the attempts whose tokens are an offline guess; the step's new totals,
        or None when nothing changed."""
        if not await self.usage.recount(counter):
            return None
        s = self.services
        return ev.NodeTokensCounted(s.run_id, s.clock.now(), self.step_id, *self._used())
