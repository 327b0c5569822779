"""The replay provider: answers each step with what a recorded run's call answered, after the same time.

A replayed comparison runs every strategy on the *same* recorded outputs, token counts, times to first
token and durations (``ReplayStep`` per step name), so the strategies differ only in how they schedule:
sampling noise and a server's mood are taken out. No model is called, so it counts as ``simulated`` (the
figures are a recorded run's, rearranged by a scheduler) and its label names the run it replays. Time runs
on the passed ``Clock``: ``Clock(speed=10)`` replays ten times faster and reports the recorded seconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from chainstudio.core.clock import Clock
from chainstudio.core.providers.base import ChatRequest, ChatResult, DeltaCallback, ProviderError

CHUNKS = 12  # streamed pieces per answer (the events of a replay stay few)


@dataclass(frozen=True)
class ReplayStep:
    """One step's recorded answer and timing."""

    output: str
    input_tokens: int
    output_tokens: int
    ttft: float  # seconds to the first token
    duration: float  # seconds from the request to the end of the answer
    model: str | None = None


@dataclass
class ReplayProvider:
    steps: Mapping[str, ReplayStep]  # step name -> its recorded answer
    run_id: str  # the run replayed
    recorded_on: str = ""  # the recorded run's provider label
    clock: Clock = field(default_factory=Clock)
    name: str = "replay"
    simulated: bool = True  # no model is called

    @property
    def label(self) -> str:
        where = f", recorded on {self.recorded_on}" if self.recorded_on else ""
        speed = f", time x{self.clock.speed:g}" if self.clock.speed != 1 else ""
        return f"Replay of {self.run_id}{where}{speed}"

    def estimate_seconds(self, request: ChatRequest) -> float:
        step = self.steps.get(request.seed_key)
        return step.duration if step is not None else 0.0

    async def stream_chat(self, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        step = self.steps.get(request.seed_key)
        if step is None:
            raise ProviderError(
                f"run {self.run_id} recorded no answer for step {request.seed_key!r}", kind="other", retryable=False
            )
        start = self.clock.now()
        ttft = max(0.0, min(step.ttft, step.duration))
        await self.clock.sleep_until(start + ttft)
        first = self.clock.now()
        pieces = _pieces(step.output)
        generation = step.duration - ttft
        for i, piece in enumerate(pieces):
            if i:
                await self.clock.sleep_until(start + ttft + generation * i / len(pieces))
            on_delta(piece, self.clock.now())
        await self.clock.sleep_until(start + step.duration)
        return ChatResult(
            step.output,
            step.input_tokens,
            step.output_tokens,
            step.model or request.model,
            request_id=f"replay-{self.run_id}-{request.seed_key}",
            first_token_at=first,
        )

    async def aclose(self) -> None:
        return None


def _pieces(text: str) -> list[str]:
    words = re.findall(r"\S+\s*|\s+", text)
    if not words:
        return []
    per = max(1, -(-len(words) // CHUNKS))
    return ["".join(words[i : i + per]) for i in range(0, len(words), per)]
