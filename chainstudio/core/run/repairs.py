"""A checked step's side of its attempts (``core.run.attempt.StepAttempts``): checking an answer, the judge's
model call booked to the step, the repair attempt's request, and the failure when no repair is left."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from typing import TYPE_CHECKING

from chainstudio.core.providers.base import ChatRequest, ChatResult, ProviderError, when_sent
from chainstudio.core.run import events as ev
from chainstudio.core.run.checks import Verdict, cut_off_verdict, repair_request
from chainstudio.core.run.retry import GiveUp, jitter_rng
from chainstudio.core.tokens import count_tokens

if TYPE_CHECKING:
    from chainstudio.core.run.attempt import PreparedCall, StepAttempts


class Repairs:
    def __init__(self, attempts: StepAttempts):
        self.attempts = attempts

    async def checked(self, result: ChatResult, attempt: int) -> Verdict:
        """The check's verdict on this answer, announced (``NodeChecked``)."""
        a = self.attempts
        s, check = a.services, a.call.check
        assert check is not None
        started = s.clock.now() if check.has_judge else None
        verdict = await check.check(result.text, self.judge)
        verdict = cut_off_verdict(verdict, result.finish_reason, a.call.request.max_tokens)
        event = ev.NodeChecked(
            s.run_id, s.clock.now(), a.step_id, attempt, verdict.passed, verdict.kind, verdict.reason[:2000], started
        )
        s.emit(event)
        return verdict

    async def judge(self, request: ChatRequest) -> ChatResult:
        """A judge's model call, booked to the step: its tokens and cost count in the step's. Like the step's
        own attempts it reserves its worst case in the run's budget first (refused: ``ProviderError`` of kind
        "budget", with the budget's reason), waits for the rate limiter, is bounded by the step's timeout and
        is retried on a retryable failure (429, 5xx, a dropped connection, a timeout) up to the step's retries."""
        a = self.attempts
        s = a.services
        rng: random.Random | None = None
        tries = 0
        counted = s.limiter is not None or s.budget.active
        prompt = sum(count_tokens(str(m.get("content", ""))) for m in request.messages) if counted else 0
        while True:
            tries += 1
            key = f"{s.run_id}:{a.step_id}:{a.attempts}:judge:{a.judge_calls + 1}"
            self._reserve(key, request, prompt)
            try:
                return await self._send(request, key, prompt)
            except asyncio.CancelledError:
                if s.budget.active:
                    s.budget.settle(key, 0, 0.0)  # the run was stopped: no reservation stays held
                raise
            except ProviderError as error:
                if rng is None:
                    rng = jitter_rng(s.seed, f"{a.step_name}:judge")
                decision = s.policy.decide(error, tries, a.call.retries, rng)
                if isinstance(decision, GiveUp):
                    raise error from None
                await s.clock.sleep(decision.delay)

    async def _send(self, request: ChatRequest, key: str, prompt: int) -> ChatResult:
        """One judge call, after the rate limiter; its usage booked to the step (a failed one's: what the
        server processed, settled in the limiter and the budget)."""
        a = self.attempts
        s = a.services
        grant = await s.limiter.acquire(prompt + request.max_tokens) if s.limiter is not None else None
        a.judge_calls += 1
        when_sent(grant.confirm if grant is not None else None)
        try:
            call = s.provider.stream_chat(request, lambda text, t: s.answers.take(len(text)))
            result = await asyncio.wait_for(call, a.call.timeout)
        except (ProviderError, TimeoutError) as exc:
            error = exc if isinstance(exc, ProviderError) else _judge_timeout(a.call.timeout)
            used = error.input_tokens + error.output_tokens
            if grant is not None:
                grant.settle(used)
            if s.budget.active:
                s.budget.settle(key, used, s.pricing.cost_usd(request.model, error.input_tokens, error.output_tokens))
            raise error from None
        finally:
            when_sent(None)
        a._book(result, grant, request, key)
        return result

    def _reserve(self, key: str, request: ChatRequest, prompt: int) -> None:
        """Reserve a judge call's worst case (its prompt and max_tokens, priced) in the run's budget."""
        s = self.attempts.services

        def worst_cost() -> float | None:
            return s.pricing.cost_usd(request.model, prompt, request.max_tokens)

        reason = s.budget.admit(key, self.attempts.step_name, request.model, prompt + request.max_tokens, worst_cost)
        if reason is not None:
            raise ProviderError(f"{reason} (the judge call of its check)", kind="budget", retryable=False)

    def repaired_call(self, answer: str, verdict: Verdict) -> PreparedCall:
        """The next attempt's call: the request followed by the rejected answer and the complaint."""
        call = self.attempts.call
        request = repair_request(call.request, answer, verdict)
        added = count_tokens(answer) + count_tokens(request.messages[-1]["content"]) if call.estimated_tokens else 0
        return replace(
            call,
            request=request,
            # what the run shows as the attempt's prompt: the conversation after the step's own prompt
            prompt=f"{call.prompt}\n\n[assistant]\n{answer}\n\n[user]\n{request.messages[-1]['content']}",
            estimated_tokens=call.estimated_tokens + added,
            cache_request=call.cache_request or call.request,
        )

    def rejected_event(
        self, verdict: Verdict, attempt: int, repaired: int, used: tuple[int, int, float | None, int, bool]
    ) -> ev.NodeFailed:
        """The step's failure when its last answer was rejected and no repair is left."""
        a = self.attempts
        s = a.services
        after = f" after {repaired} repair{'s' if repaired != 1 else ''}" if repaired else ""
        message = f"the answer failed its {verdict.kind} check{after}: {verdict.reason}"
        if verdict.stopped:  # a budget refused the judge call: the step's error is the budget's
            message = verdict.reason
        return ev.NodeFailed(s.run_id, s.clock.now(), a.step_id, message, attempt + a.judge_calls, None, *used)


def _judge_timeout(seconds: float) -> ProviderError:
    return ProviderError(f"the judge's answer took longer than the step's timeout ({seconds:g} s)", kind="timeout")
