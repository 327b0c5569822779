"""The simulated provider: offline, deterministic for a seed, and always labelled as simulated.

Output text is derived from the prompt (its words, reshuffled by a seeded generator) and opens by saying
it is simulated. Latency follows a per-model profile: time to first token (plus a prefill share per input
token) and then output tokens at a tokens-per-second rate, both with seeded jitter. Token counts are
computed from the text with ``tokens.count_tokens``. A request with a ``response_format`` gets JSON that
follows its schema (``schema_sample``), made of the prompt's words. Faults (429 with Retry-After, 500, a
stream dropped midway) can be injected at given rates. Time runs on the passed ``Clock``, so ``Clock(speed=50)`` makes a
run take a fiftieth of the time while reporting the same simulated durations.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from chainstudio.core.clock import Clock
from chainstudio.core.providers.base import (
    ChatRequest,
    ChatResult,
    DeltaCallback,
    ProviderError,
    request_queued,
    request_sent,
)
from chainstudio.core.providers.schema_sample import sample
from chainstudio.core.tokens import count_all_off_loop, count_tokens, truncate_to_tokens

MARKER = "[Simulated response: no model was called]"


@dataclass(frozen=True)
class ModelProfile:
    ttft: float = 0.5  # seconds to the first token, before jitter
    tokens_per_second: float = 80.0
    prefill_per_1k_tokens: float = 0.05  # extra seconds before the first token per 1,000 input tokens
    jitter: float = 0.12  # relative: durations are scaled by a factor in [1 - jitter, 1 + jitter]
    length: tuple[float, float] = (0.75, 0.92)  # output length as a fraction of max_tokens


# Rough, public-knowledge shapes of hosted models; only the proportions matter for the benchmarks.
PROFILES: dict[str, ModelProfile] = {
    "gpt-4o": ModelProfile(ttft=0.45, tokens_per_second=90.0),
    "gpt-4o-mini": ModelProfile(ttft=0.35, tokens_per_second=120.0),
    "gpt-4.1": ModelProfile(ttft=0.5, tokens_per_second=80.0),
    "gpt-4.1-mini": ModelProfile(ttft=0.35, tokens_per_second=110.0),
    "gpt-3.5-turbo": ModelProfile(ttft=0.3, tokens_per_second=140.0),
}
DEFAULT_PROFILE = ModelProfile()


@dataclass(frozen=True)
class Faults:
    """Rates (0..1) at which an attempt fails, decided per attempt from the seed."""

    rate_limit: float = 0.0  # HTTP 429 with Retry-After
    server_error: float = 0.0  # HTTP 500
    dropped: float = 0.0  # the stream stops midway
    retry_after: float = 1.0  # seconds the 429 asks for

    @property
    def any(self) -> bool:
        return self.rate_limit > 0 or self.server_error > 0 or self.dropped > 0


@dataclass
class SimulatedProvider:
    seed: int = 0
    clock: Clock = field(default_factory=Clock)
    faults: Faults = field(default_factory=Faults)
    profiles: Mapping[str, ModelProfile] = field(default_factory=lambda: dict(PROFILES))
    max_deltas: int = 24  # streamed chunks per response (bounds event volume)
    name: str = "simulated"
    simulated: bool = True
    calls: int = 0
    _attempts: dict[str, int] = field(default_factory=dict, repr=False)
    _busy: bool = field(default=False, repr=False)  # a call generates its answer in this loop turn
    _turns: deque[asyncio.Future[None]] = field(default_factory=deque, repr=False)  # calls waiting to generate

    @property
    def label(self) -> str:
        speed = f", time x{self.clock.speed:g}" if self.clock.speed != 1 else ""
        return f"Simulated (offline, seed {self.seed}{speed})"

    def profile(self, model: str) -> ModelProfile:
        return self.profiles.get(model, DEFAULT_PROFILE)

    def estimate_seconds(self, request: ChatRequest) -> float:
        """Expected duration of a call before it runs (for critical-path priority)."""
        p = self.profile(request.model)
        mean_fraction = sum(p.length) / 2
        return p.ttft + request.max_tokens * mean_fraction / p.tokens_per_second

    async def stream_chat(self, request: ChatRequest, on_delta: DeltaCallback) -> ChatResult:
        request_sent()  # its server has the request at once
        self.calls += 1
        start = self.clock.now()
        # one response is generated per loop turn (up to a ms each): a wave of calls starting together (64 at
        # a run's start) would otherwise hold the loop for tens of ms; the answer's timing counts from ``start``.
        # The calls wait their turn in a queue (each waking once: 10,000 calls spinning a loop turn each while
        # the ones ahead generated made a 10,000-step fan-out quadratic). The wait is this process's CPU, not
        # the model's: the step's timeout leaves it out (``request_queued``), as it does a server's queue.
        loop = asyncio.get_running_loop()
        if self._busy or self._turns:
            turn: asyncio.Future[None] = loop.create_future()
            self._turns.append(turn)
            request_queued(True)
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():  # the turn came as this call was cancelled: pass it on
                    self._pass_turn()
                raise
            request_queued(False)
        self._busy = True
        generated = False

        def done_generating() -> None:  # the next call generates in the next loop turn
            nonlocal generated
            if not generated:
                generated = True
                loop.call_soon(self._pass_turn)

        try:
            return await self._answer(request, on_delta, start, done_generating)
        finally:
            done_generating()

    def _pass_turn(self) -> None:
        while self._turns:
            turn = self._turns.popleft()
            if not turn.done():
                turn.set_result(None)  # that call generates next (still busy)
                return
        self._busy = False

    async def _answer(
        self, request: ChatRequest, on_delta: DeltaCallback, start: float, generated: Callable[[], None]
    ) -> ChatResult:
        prompt = "\n".join(m.get("content", "") for m in request.messages)
        key = f"{request.model}\x00{request.seed_key}\x00{prompt}"
        attempt = self._attempts.get(key, 0) + 1
        self._attempts[key] = attempt
        rng = _rng(self.seed, key)  # the response: the same whatever the attempt
        fault_rng = _rng(self.seed, f"{key}\x00attempt {attempt}")
        p = self.profile(request.model)
        input_tokens = await count_all_off_loop([m.get("content", "") for m in request.messages])
        text = simulated_text(prompt, request.max_tokens, rng, p.length)
        if request.choices:  # a route's labels: one of them (its structured format asks for no more)
            text = rng.choice(request.choices)
        elif request.response_format is not None:  # a structured answer: valid for the schema
            asked = next((m.get("content", "") for m in request.messages if m.get("role") == "user"), prompt)
            text = structured_text(request, asked, rng)
        output_tokens = count_tokens(text)
        generated()
        ttft = (p.ttft + p.prefill_per_1k_tokens * input_tokens / 1000) * _jitter(rng, p.jitter)
        rate = p.tokens_per_second * _jitter(rng, p.jitter)

        fault = self._pick_fault(fault_rng)
        if fault in ("429", "500"):
            await self.clock.sleep(ttft)
            if fault == "429":
                raise ProviderError(
                    "simulated rate limit", kind="http", status=429, retry_after=self.faults.retry_after, input_tokens=0
                )
            raise ProviderError("simulated server error", kind="http", status=500)

        chunks = _chunks(text, self.max_deltas)
        drop_after = len(chunks) // 2 if fault == "dropped" else None
        await self.clock.sleep_until(start + ttft)
        first_token_at = self.clock.now()
        sent: list[str] = []
        done_tokens = 0
        for i, chunk in enumerate(chunks):
            if drop_after is not None and i == drop_after:
                partial = "".join(sent)
                raise ProviderError(
                    "simulated stream dropped midway",
                    kind="dropped",
                    partial_text=partial,
                    input_tokens=input_tokens,
                    output_tokens=count_tokens(partial),
                )
            done_tokens += count_tokens(chunk)
            if i:
                await self.clock.sleep_until(start + ttft + done_tokens / rate)
            sent.append(chunk)
            on_delta(chunk, self.clock.now())
        if not chunks:
            await self.clock.sleep_until(start + ttft)
        return ChatResult(
            text=text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            model=request.model,
            request_id=f"sim-{_digest(self.seed, key)[:12]}-{attempt}",
            first_token_at=first_token_at,
        )

    def _pick_fault(self, rng: random.Random) -> str | None:
        if not self.faults.any:
            return None
        roll = rng.random()
        for name, rate in (
            ("429", self.faults.rate_limit),
            ("500", self.faults.server_error),
            ("dropped", self.faults.dropped),
        ):
            if roll < rate:
                return name
            roll -= rate
        return None

    async def aclose(self) -> None:
        return None


# --- text -------------------------------------------------------------------------------------
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]{2,}")
_FILLER = (
    "analysis",
    "evidence",
    "notably",
    "estimate",
    "trend",
    "report",
    "finding",
    "context",
    "progress",
    "measure",
    "growth",
    "risk",
    "outlook",
    "signal",
    "baseline",
    "result",
)


def simulated_text(prompt: str, max_tokens: int, rng: random.Random, length: tuple[float, float] = (0.7, 0.95)) -> str:
    """A deterministic stand-in answer built from the prompt's words, at most ``max_tokens`` long."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(prompt))) or list(_FILLER)
    vocabulary = words + list(_FILLER)
    target = max(1, int(max_tokens * rng.uniform(*length)))
    subject = " ".join(prompt.split()[:12])
    parts = [f"{MARKER} On: {subject}"]
    used = count_tokens(parts[0])
    n = 0
    while used < target:
        n += 1
        size = rng.randint(8, 16)
        sentence = " ".join(rng.choice(vocabulary) for _ in range(size))
        line = f"\n{n}. {sentence[:1].upper()}{sentence[1:]}."
        parts.append(line)
        used += count_tokens(line)
    text = "".join(parts)
    if count_tokens(text) > max_tokens:
        text = truncate_to_tokens(text, max_tokens, "")
    return text


def structured_text(request: ChatRequest, prompt: str, rng: random.Random, *, truthy: float = 0.75) -> str:
    """A JSON answer that follows the request's schema (JSON mode without one: an object with the text);
    ``truthy``: how often a boolean (a judge's "pass") is true."""
    spec = request.response_format or {}
    inner = spec.get("json_schema")
    schema = inner.get("schema") if isinstance(inner, dict) else None
    words = [w for w in dict.fromkeys(w.lower() for w in _WORD.findall(prompt)) if w not in _SCHEMA_WORDS]
    if not isinstance(schema, dict):
        return json.dumps({"answer": " ".join(words[:12]) or MARKER})
    return json.dumps(sample(schema, rng, words[:60] or list(_FILLER), truthy=truthy), ensure_ascii=False)


# the words of the schema instruction itself, which make implausible sample strings
_SCHEMA_WORDS = frozenset({"answer", "json", "only", "prose", "code", "fence", "that", "follows", "this", "schema"})


def _chunks(text: str, max_chunks: int) -> list[str]:
    pieces = re.findall(r"\S+\s*|\s+", text)
    if not pieces:
        return []
    per = max(1, -(-len(pieces) // max(1, max_chunks)))
    return ["".join(pieces[i : i + per]) for i in range(0, len(pieces), per)]


def _digest(seed: int, key: str) -> str:
    return hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=16).hexdigest()


def _rng(seed: int, key: str) -> random.Random:
    return random.Random(int(_digest(seed, key), 16))


def _jitter(rng: random.Random, amount: float) -> float:
    return 1.0 + rng.uniform(-amount, amount)
