"""What the estimate does with checked steps (issue 15's gap): the range their judge and repair calls give.

A checked LLM step (``output_schema``, ``check_regex`` or ``check_judge``; ``core.run.checks``) makes at
least its answer's call and, with a judge, one judge call; each rejected answer adds a repair attempt (and
its judge call), up to the step's ``repairs``. How often answers are rejected is not known in advance, so
the estimate gives a range, labelled: its figures are the low end (every check passes first time: the
stand-in's judge passes every answer), and a second simulated run gives the high end, in which every
check rejects the answer until the step's last repair (``Rejections``: the stand-in's judge fails a checked
step's earlier answers, or, without a judge, the stand-in answers them with text that is not the schema's
JSON) — the most a run that succeeds can cost. Pick-best steps are planned without repairs (theirs only
follow an answer that does not parse).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.providers.base import ChatRequest
from chainstudio.core.run.state import RunState

VERDICT_FORMAT = "verdict"  # the response_format name of a check's judge call (core.run.checks)


def has_check(node: Node) -> bool:
    """An LLM step with a schema, a regex or a judge check."""
    if node.kind != "llm":
        return False
    return any(str(node.param(name) or "").strip() for name in ("output_schema", "check_regex", "check_judge"))


def has_judge(node: Node) -> bool:
    return node.kind == "llm" and bool(str(node.param("check_judge") or "").strip())


def checked_steps(graph: Graph) -> dict[str, tuple[int, bool]]:
    """Name -> (repairs, judged) of the graph's checked LLM steps, in document order."""
    return {n.name: (int(n.param("repairs") or 0), has_judge(n)) for n in graph.nodes.values() if has_check(n)}


def calls_per_step(repairs: int, judged: bool) -> tuple[int, int]:
    """(fewest, most) calls of one checked step: an answer (and its judge) per attempt, 1 to 1 + repairs."""
    pair = 2 if judged else 1
    return pair, pair * (1 + repairs)


@dataclass(frozen=True)
class CheckRange:
    """The estimate's range for a graph with checked steps: low, every check passes first time (the
    estimate's own figures); high, every repair is used."""

    steps: dict[str, tuple[int, bool]]  # name -> (repairs, judged)
    low_calls: int
    high_calls: int
    low_tokens: int
    high_tokens: int
    low_cost: float | None
    high_cost: float | None
    low_wall_ms: float
    high_wall_ms: float

    @property
    def judge_calls(self) -> tuple[int, int]:
        """(fewest, most) judge calls of the checked steps."""
        judged = [repairs for repairs, judge in self.steps.values() if judge]
        return len(judged), sum(1 + r for r in judged)

    def step_text(self) -> str:
        """``generate_sql 2–6 calls (answer + judge, up to 2 repairs)``, one per checked step."""
        parts = []
        for name, (repairs, judged) in self.steps.items():
            low, high = calls_per_step(repairs, judged)
            what = "answer + judge" if judged else "answer"
            span = f"{low}" if low == high else f"{low}–{high}"
            parts.append(f"{name} {span} calls ({what}, up to {repairs} repair{'s' * (repairs != 1)})")
        return "; ".join(parts)

    def text(self) -> str:
        """One labelled line: the calls, tokens and cost from every check passing first time to every repair used."""
        low_j, high_j = self.judge_calls
        judges = f", of them {low_j}–{high_j} judge calls" if high_j else ""
        return (
            f"checked steps: {self.low_calls}–{self.high_calls} calls{judges}, "
            f"{self.low_tokens:,}–{self.high_tokens:,} tokens, {_usd(self.low_cost)}–{_usd(self.high_cost)} "
            f"(every check passes first time – every repair used: {self.step_text()})"
        )

    def budget_warnings(self, cost_cap: float | None, token_cap: int | None) -> list[str]:
        """The caps the high end crosses (the estimate's own figures, the low end, warn by themselves)."""
        warnings = []
        if cost_cap is not None and self.high_cost is not None and self.high_cost > cost_cap:
            warnings.append(
                f"with every repair of its checked steps used, the run could cost {_usd(self.high_cost)}, over the "
                f"cap ${cost_cap:.4f}; it would stop before the call that crosses it"
            )
        if token_cap is not None and self.high_tokens > token_cap:
            warnings.append(
                f"with every repair of its checked steps used, the run could use {self.high_tokens:,} tokens, over "
                f"the cap {token_cap:,}; it would stop before the call that crosses it"
            )
        return warnings

    def to_json(self) -> dict[str, Any]:
        low_j, high_j = self.judge_calls
        return {
            "steps": {name: {"repairs": r, "judge": j} for name, (r, j) in self.steps.items()},
            "calls": [self.low_calls, self.high_calls],
            "judge_calls": [low_j, high_j],
            "tokens": [self.low_tokens, self.high_tokens],
            "cost_usd": [self.low_cost, self.high_cost],
            "wall_ms": [self.low_wall_ms, self.high_wall_ms],
            "basis": "low: every check passes first time; high: every check rejects until the last repair",
        }


def check_range(steps: dict[str, tuple[int, bool]], low: RunState, high: RunState) -> CheckRange:
    lo, hi = low.totals(), high.totals()
    return CheckRange(
        steps,
        lo.api_calls,
        max(lo.api_calls, hi.api_calls),
        lo.total_tokens,
        max(lo.total_tokens, hi.total_tokens),
        lo.cost_usd,
        hi.cost_usd,
        round(lo.wall * 1000, 3),
        round(max(lo.wall, hi.wall) * 1000, 3),
    )


def _usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:.4f}" if value >= 0.01 else f"${value:.6f}"


class Rejections:
    """The stand-in's side of the high end: which answers a check rejects. A checked step's attempt before
    its last repair is rejected: without a judge, its answer is plain text (which the schema or the regex
    rejects); with one, the judge fails it. The judge call is made in the step's own task (or one that
    copies its context), so ``_REJECTED`` tells the judge about the answer it checks."""

    def __init__(self, graph: Graph):
        self.repairs: Mapping[str, tuple[int, bool]] = checked_steps(graph)

    def answer(self, request: ChatRequest) -> bool:
        """Whether this step request's answer is to be rejected by a schema or regex (then the stand-in
        answers with plain text); remembers, for the judge that follows, whether it is to be failed."""
        found = self.repairs.get(request.seed_key)
        if found is None or is_judge(request):
            return False
        repairs, judged = found
        attempt = sum(1 for m in request.messages if m.get("role") == "assistant")  # repairs so far
        rejected = attempt < repairs
        _REJECTED.set(rejected)
        return rejected and not judged

    def verdict(self, request: ChatRequest, text: str) -> str:
        """A judge's answer (``text``: the stand-in's passing verdict), failed when it judges a rejected answer."""
        if not is_judge(request) or not _REJECTED.get():
            return text
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return text
        if isinstance(value, dict):
            value["pass"] = False
            value["reason"] = "rejected by the estimate's high end"
        return json.dumps(value, ensure_ascii=False)


_REJECTED: ContextVar[bool] = ContextVar("chainstudio_estimate_rejected", default=False)


def is_judge(request: ChatRequest) -> bool:
    spec = request.response_format or {}
    inner = spec.get("json_schema")
    return isinstance(inner, dict) and inner.get("name") == VERDICT_FORMAT
