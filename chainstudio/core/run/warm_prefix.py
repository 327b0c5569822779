"""Warm a shared prompt prefix before fanning out (the run option ``warm_prefix``, ``--warm-prefix``).

A server with a prompt cache (OpenAI, llama-server, vLLM) reads the part of a prompt it has seen before
from its cache: cheaper (OpenAI bills cached tokens at its cached-input price) and faster (no prefill).
But branches of a fan-out that start together all arrive before any of them is cached, so none hits. With
this option a model call whose rendered messages share at least ``MIN_SHARED_CHARS`` characters at the
start with a call already under way (its *leader*) waits until the leader's first token arrives (its
prompt is then processed and cached), and then goes; calls that start after that go at once. The cost is
the leader's time to first token on the followers' latency; the gain is the shared prefix read from the
cache by every follower (``usage.prompt_tokens_details.cached_tokens``, priced by ``Pricing``), on a server
whose cache every request shares (OpenAI, vLLM). llama-server keeps a prompt's cache in the slot that
processed it, still busy with the leader: there the followers gain nothing (docs/performance.md).

``PrefixWarmer`` keeps one run's leaders; the executor asks ``wait_turn`` before a call is made and calls
``warmed`` on the call's first token and when it ends (so a leader that fails never holds anyone up).
``shared_prefix_chars`` is the one measure of a shared prefix (the advisor's rule uses it too), and
``predict_cached`` says, for a schedule (an estimate's simulated run, or a real one), how many prompt tokens
each call would read from a prefix-caching server's cache.
"""

from __future__ import annotations

import asyncio
import bisect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from chainstudio.core.run.state import RunState
from chainstudio.core.tokens import count_tokens

MIN_SHARED_CHARS = 400  # about 100 tokens: a shorter shared start is not worth a wait
_SEPARATOR = "\x1e"  # between messages: a prefix never runs from one message's content into the next role


def messages_text(messages: Sequence[dict[str, str]]) -> str:
    """The messages as one string, in the order the server sees them (what a prompt cache matches)."""
    return "".join(f"{_SEPARATOR}{m.get('role', '')}{_SEPARATOR}{m.get('content', '')}" for m in messages)


def shared_prefix_chars(a: str, b: str) -> int:
    return len(os.path.commonprefix([a, b]))


@dataclass
class _Leader:
    step: str
    text: str
    warm: asyncio.Event = field(default_factory=asyncio.Event)


class PrefixWarmer:
    def __init__(self, min_chars: int = MIN_SHARED_CHARS):
        self.min_chars = min_chars
        self._leaders: dict[str, _Leader] = {}
        self.held: dict[str, str] = {}  # follower step -> the leader it waited for

    async def wait_turn(
        self, step: str, messages: Sequence[dict[str, str]], on_hold: Callable[[str], None] | None = None
    ) -> None:
        """Return when ``step``'s call may go: at once, unless a leader sharing its prefix has not had its
        first token yet (``on_hold(leader_step)`` is then called first). A call sharing no prefix with a
        leader becomes one."""
        text = messages_text(messages)
        for leader in self._leaders.values():
            if shared_prefix_chars(text, leader.text) >= self.min_chars:
                if not leader.warm.is_set():
                    self.held[step] = leader.step
                    if on_hold is not None:
                        on_hold(leader.step)
                    await leader.warm.wait()
                return
        self._leaders[step] = _Leader(step, text)

    def warmed(self, step: str) -> None:
        """``step``'s call had its first token, or ended: the calls waiting on it go."""
        leader = self._leaders.get(step)
        if leader is not None:
            leader.warm.set()


def span_messages(system: str, prompt: str) -> tuple[dict[str, str], ...]:
    """A step's messages as the run sends them (``StepInputs.prepare_call``)."""
    return (({"role": "system", "content": system},) if system.strip() else ()) + ({"role": "user", "content": prompt},)


def predict_cached(state: RunState, min_chars: int = MIN_SHARED_CHARS) -> dict[str, int]:
    """Step id -> prompt tokens a prefix-caching server would read from its cache in this (simulated or
    real) schedule: the start a call shares with an earlier call whose first token came before it started
    (whose prompt was then processed), when at least ``min_chars`` long. Steps with none are left out."""
    calls = sorted(
        (s for s in state.spans.values() if s.kind == "llm" and s.started_at is not None and s.reused is None),
        key=lambda s: s.started_at or 0.0,
    )
    texts = {s.node_id: messages_text(span_messages(s.system, s.prompt)) for s in calls}
    ready = sorted(
        ((s.first_token_at, s.node_id) for s in calls if s.first_token_at is not None), key=lambda pair: pair[0]
    )
    known: list[tuple[str, str]] = []  # (text, step id) of the calls whose first token came, in text order
    cached: dict[str, int] = {}
    next_ready = 0
    for span in calls:
        started = span.started_at or 0
        while next_ready < len(ready) and ready[next_ready][0] <= started:
            node_id = ready[next_ready][1]
            bisect.insort(known, (texts[node_id], node_id))
            next_ready += 1
        longest = _longest_shared(known, texts[span.node_id], span.node_id)
        if longest >= min_chars:
            cached[span.node_id] = _tokens_of_prefix(texts[span.node_id][:longest])
    return cached


def _longest_shared(known: list[tuple[str, str]], text: str, own: str) -> int:
    """The longest start ``text`` shares with a text of ``known`` (sorted) other than step ``own``'s: the
    longest is shared with a neighbour of ``text`` in sorted order, so this looks only at the nearest
    texts on each side (O(log n), where comparing with every earlier call made estimating 10,000 steps
    quadratic: over 15 minutes)."""
    at = bisect.bisect_left(known, (text, ""))
    longest = 0
    for step in (-1, 1):
        i = at if step == 1 else at - 1
        while 0 <= i < len(known) and known[i][1] == own:
            i += step
        if 0 <= i < len(known):
            longest = max(longest, shared_prefix_chars(text, known[i][0]))
    return longest


def _tokens_of_prefix(text: str) -> int:
    """The tokens of the message contents in a shared start (the role markers are not content)."""
    parts = text.split(_SEPARATOR)[1:]
    return sum(count_tokens(content) for content in parts[1::2])
