"""The estimate's stand-in provider: it answers each call as the latency model says the server would.

Every call is a job on one simulated server (``capacity.ServerSim``) with the endpoint's slots and
capacity, so a server that serves one request at a time queues the rest and a graph gets no speed-up
there. A job's solo work is its model's time to first token for the prompt (counted offline, then
scaled to the server's count) and its expected output at the model's speed; a step with a history is
corrected by how far its recorded runs were from the model (shrunk towards the model: it counts as one
run). The answer is text of the expected length, so downstream prompts render at realistic sizes; a
structured request gets JSON that follows its schema, and a judge passes every answer: a checked step is
planned without repairs (its judge's call included); given ``rejections`` (the estimate's high end,
``check_estimate``), every check rejects the answer until the step's last repair.
Virtual time only: it never sleeps for real.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from chainstudio.core.clock import Clock
from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.capacity import Job, ServerSim
from chainstudio.core.planning.check_estimate import Rejections
from chainstudio.core.planning.latency_model import LatencyModel, Scenario
from chainstudio.core.providers.base import ChatRequest, ChatResult, DeltaCallback
from chainstudio.core.providers.simulated import structured_text
from chainstudio.core.tokens import count_tokens

RESIDUAL_LIMITS = (0.5, 2.0)  # a step's own correction of the model, at most this far either way


def prompt_tokens(request: ChatRequest) -> int:
    """The request's input tokens, counted offline on its messages."""
    return sum(count_tokens(m.get("content", "")) for m in request.messages)


class OnlineServer:
    """``ServerSim`` driven by the running loop: ``submit`` returns futures for the first token and the end."""

    def __init__(self, clock: Clock, slots: int | None, capacity: float | None):
        self.clock = clock
        self.sim = ServerSim(slots, capacity)
        self._waiting: list[tuple[Job, asyncio.Future[float], asyncio.Future[float]]] = []
        self._timer: asyncio.TimerHandle | None = None

    def submit(self, ttft: float, gen: float) -> tuple[asyncio.Future[float], asyncio.Future[float]]:
        loop = asyncio.get_running_loop()
        first, end = loop.create_future(), loop.create_future()
        job = Job(self.clock.now(), ttft, gen)
        self.sim.add(job)
        self._waiting.append((job, first, end))
        self._settle()
        return first, end

    def _tick(self, when: float) -> None:
        self._timer = None
        self.sim.advance(max(when, self.clock.now()))
        self._settle()

    def _settle(self) -> None:
        for job, first, end in self._waiting:
            if job.first is not None and not first.done():
                first.set_result(job.first)
            if job.end is not None and not end.done():
                end.set_result(job.end)
        self._waiting = [w for w in self._waiting if not w[2].done()]
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        when = self.sim.next_event()
        if when is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.clock.real(when - self.clock.now()), self._tick, when)


class StandInProvider:
    """Answers each call after the time the latency model predicts, with text of the predicted length."""

    name = "estimate"
    simulated = True
    label = "Estimate (no model is called)"

    def __init__(
        self,
        graph: Graph,
        clock: Clock,
        latency: LatencyModel,
        scenario: Scenario = Scenario.CENTRAL,
        checkpoint: Callable[[], None] | None = None,
        rejections: Rejections | None = None,
    ):
        self.clock = clock
        self.rejections = rejections
        self.checkpoint = checkpoint  # called before each call: the GUI pauses (or stops) the estimate there
        self.by_name = {n.name: n.id for n in graph.nodes.values()}
        self.latency = latency
        self.scenario = scenario
        self.server = OnlineServer(clock, *latency.server(scenario))
        self.basis: dict[str, str] = {}  # step name -> where its figures came from

    def _work(self, request: ChatRequest) -> tuple[float, float, float, int, str]:
        """(solo ttft, solo generation, input tokens, output tokens, basis) of a request."""
        node_id = self.by_name.get(request.seed_key, "")
        fit = self.latency.fit(request.model, self.scenario)
        input_tokens = fit.input_tokens(prompt_tokens(request))
        out = self.latency.output_tokens(node_id, request.model, request.max_tokens, self.scenario)
        ttft, gen = fit.speed.solo(input_tokens, out)
        if fit.source == "fit":  # at the server's current pace (pace.py)
            ttft, gen = ttft * self.latency.pace, gen * self.latency.pace
        seen = self.latency.steps.get(node_id)
        if seen is None:
            return ttft, gen, input_tokens, out, fit.basis
        modelled = fit.speed.seconds(seen.input_tokens, seen.output_tokens)
        if modelled > 0:  # the step's own correction, shrunk like its output (the model counts as one run)
            low, high = RESIDUAL_LIMITS
            residual = min(high, max(low, seen.seconds / modelled))
            factor = 1 + (residual - 1) * seen.runs / (seen.runs + 1)
            ttft, gen = ttft * factor, gen * factor
        return ttft, gen, input_tokens, out, f"history ({seen.runs} run{'s' * (seen.runs != 1)})"

    async def stream_chat(self, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        if self.checkpoint is not None:
            self.checkpoint()  # the caller may pause the estimate here (or stop it, by raising)
        ttft, gen, input_tokens, out, basis = self._work(request)
        self.basis[request.seed_key] = basis
        first, end = self.server.submit(ttft, gen)
        first_at = await first
        scale = self.latency.fit(request.model, self.scenario).input_scale
        text = " word" * max(1, round(out / scale))  # read back by the server as about ``out`` tokens
        plain = self.rejections is not None and self.rejections.answer(request)  # to be rejected: not JSON
        if request.response_format is not None and not plain:  # a structured step: valid JSON; checks pass
            text = structured_text(request, text, random.Random(request.seed_key), truthy=1.0)
            if self.rejections is not None:
                text = self.rejections.verdict(request, text)
        on_delta(text[:5], first_at)
        await end
        return ChatResult(
            text=text, input_tokens=round(input_tokens), output_tokens=out, model=request.model, first_token_at=first_at
        )

    async def aclose(self) -> None:
        return None
