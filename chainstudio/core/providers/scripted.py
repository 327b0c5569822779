"""A scripted provider for tests and benchmarks: fixed latencies and failures per step, no text model.

``latency`` maps a step's name (the request's ``seed_key``) to seconds on the clock; ``script`` maps a
step name to what its attempts do, in order: ``None`` succeeds, a ``ProviderError`` is raised after the
latency, ``"hang"`` never answers. It records every call (start, end, attempt) and the largest number of
calls in flight, so tests can check the scheduler's order and its concurrency cap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from chainstudio.core.clock import Clock
from chainstudio.core.providers.base import ChatRequest, ChatResult, DeltaCallback, ProviderError, request_sent

Step = None | ProviderError | str


@dataclass
class Call:
    key: str
    attempt: int
    start: float
    prompt: str
    end: float | None = None
    outcome: str = "running"  # running | ok | error | cancelled


@dataclass
class ScriptedProvider:
    latency: Mapping[str, float] | Callable[[str], float] = field(default_factory=dict)
    script: Mapping[str, Sequence[Step]] = field(default_factory=dict)
    clock: Clock = field(default_factory=Clock)
    default_latency: float = 0.0
    tokens_per_call: tuple[int, int] = (10, 5)  # (input, output) reported per successful call
    name: str = "scripted"
    simulated: bool = True
    label: str = "Scripted (test provider)"
    calls: list[Call] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    _attempts: dict[str, int] = field(default_factory=dict, repr=False)

    def _latency(self, key: str) -> float:
        if callable(self.latency):
            return float(self.latency(key))
        return float(self.latency.get(key, self.default_latency))

    def estimate_seconds(self, request: ChatRequest) -> float:
        return self._latency(request.seed_key)

    async def stream_chat(self, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        request_sent()  # its server has the request at once
        key = request.seed_key
        attempt = self._attempts.get(key, 0) + 1
        self._attempts[key] = attempt
        steps = self.script.get(key, ())
        step = steps[attempt - 1] if attempt <= len(steps) else None
        prompt = request.messages[-1]["content"] if request.messages else ""
        call = Call(key, attempt, self.clock.now(), prompt)
        self.calls.append(call)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if step == "hang":
                await asyncio.Event().wait()
            delay = self._latency(key)
            if delay > 0:
                await self.clock.sleep(delay)
            if isinstance(step, ProviderError):
                call.outcome = "error"
                raise step
            text = f"{key} says: {prompt}"
            now = self.clock.now()
            on_delta(text, now)
            call.outcome = "ok"
            return ChatResult(
                text,
                self.tokens_per_call[0],
                self.tokens_per_call[1],
                request.model,
                request_id=f"{key}-{attempt}",
                first_token_at=now,
            )
        except asyncio.CancelledError:
            call.outcome = "cancelled"
            raise
        finally:
            call.end = self.clock.now()
            self.in_flight -= 1

    def starts(self) -> dict[str, float]:
        """Step name -> start of its first call."""
        out: dict[str, float] = {}
        for call in self.calls:
            out.setdefault(call.key, call.start)
        return out

    async def aclose(self) -> None:
        return None
