"""What reusing outputs saved a run: the calls, tokens, dollars and seconds of the steps it replayed.

A step replayed from the step cache or from an earlier run (``NodeReused`` with source ``cache`` or
``run``) costs the run nothing; its event carries what the call that made it recorded. ``savings(state)``
adds those up, so the figures are exactly the replayed steps' recorded tokens, cost and latency. Pinned
steps are counted apart: a pin typed by hand has no figures to save.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chainstudio.core.formatting import fmt_cost, fmt_duration, fmt_tokens
from chainstudio.core.run.state import RunState


@dataclass(frozen=True)
class Savings:
    steps: int = 0  # replayed from the cache or an earlier run
    cached: int = 0  # of which from the cache
    from_runs: dict[str, int] = field(default_factory=dict)  # earlier run id -> steps reused from it
    pinned: int = 0
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0  # None when a replayed step's price was unknown
    seconds: float = 0.0  # the replayed steps' recorded durations, summed

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __bool__(self) -> bool:
        return bool(self.steps or self.pinned)

    def to_json(self) -> dict[str, object]:
        return {
            "steps": self.steps,
            "cached": self.cached,
            "from_runs": dict(self.from_runs),
            "pinned": self.pinned,
            "api_calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 8),
            "seconds": round(self.seconds, 6),
        }


def savings(state: RunState) -> Savings:
    """What the run's replayed steps (cache hits, earlier runs' outputs) recorded, summed; pins counted."""
    steps = cached = pinned = calls = tokens_in = tokens_out = 0
    cost: float | None = 0.0
    seconds = 0.0
    from_runs: dict[str, int] = {}
    spans = state.tally().reused_spans() if state.running else state.spans.values()  # (live: those alone)
    for span in spans:
        reused = span.reused
        if reused is None:
            continue
        if reused.source == "pin":
            pinned += 1
            continue
        steps += 1
        if reused.source == "cache":
            cached += 1
        else:
            from_runs[reused.origin] = from_runs.get(reused.origin, 0) + 1
        calls += reused.api_calls
        tokens_in += reused.input_tokens
        tokens_out += reused.output_tokens
        seconds += reused.duration
        cost = None if cost is None or reused.cost_usd is None else cost + reused.cost_usd
    return Savings(steps, cached, from_runs, pinned, calls, tokens_in, tokens_out, cost, seconds)


def reuse_text(s: Savings) -> str:
    """``3 from the cache, 2 from run run-1a2b3c, 1 pinned`` (empty when nothing was reused)."""
    parts = []
    if s.cached:
        parts.append(f"{s.cached} from the cache")
    for origin, count in s.from_runs.items():
        parts.append(f"{count} from run {origin}")
    if s.pinned:
        parts.append(f"{s.pinned} pinned")
    return ", ".join(parts)


def saved_text(s: Savings) -> str:
    """``4 calls · 1,234 tok · $0.0123 · 6.21 s`` (what the replayed steps recorded)."""
    return " · ".join(
        (
            f"{s.calls} call{'s' * (s.calls != 1)}",
            f"{fmt_tokens(s.total_tokens)} tok",
            fmt_cost(s.cost_usd),
            fmt_duration(s.seconds),
        )
    )
