"""LLM-as-judge: a model scores a row's output against a rubric (1..5 and a reason), compares two
variants' outputs for the same row (pairwise: A, B or tie), or says whether sibling parallel branches
contradict each other.

Every judgement is one model call made as a one-step run of its own on the batch's shared limits (the same
rate limiter, concurrency slots and budget as the rows), so retries, timeouts and prices work as for any
step. The judge is asked for a JSON object; an answer without one scores ``None`` with the answer's start
as the reason (never a made-up score). Pairwise judging shows the two outputs in an order that alternates
with the row, so a judge that prefers the first answer shown does not favour one variant.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from chainstudio.core.batch.runner import SharedLimits
from chainstudio.core.graph.kinds import DEFAULT_MODEL
from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.run.executor import Run

JSON_OBJECT = re.compile(r"\{.*\}", re.S)
JUDGE_MAX_TOKENS = 300

SCORE_INSTRUCTIONS = (
    "Score the OUTPUT from 1 (poor) to 5 (excellent) by the rubric. "
    'Answer with JSON only: {"score": <1-5>, "reason": "<one sentence>"}'
)
PAIR_INSTRUCTIONS = (
    "Which answer is better by the rubric, A or B? "
    'Answer with JSON only: {"winner": "A" | "B" | "tie", "reason": "<one sentence>"}'
)
CONTRADICTION_INSTRUCTIONS = (
    "These answers were written independently, in parallel, about the same input. Do any two of them "
    "contradict each other (state incompatible facts)? "
    'Answer with JSON only: {"contradiction": true | false, "reason": "<one sentence>"}'
)


@dataclass(frozen=True)
class Verdict:
    value: Any  # a score (float), a winner ("A"/"B"/"tie") or a flag (bool); None when the answer had none
    reason: str
    tokens: int
    cost_usd: float | None


def judge_graph(model: str) -> Graph:
    graph = Graph("judge", inputs=[GraphInput("prompt")])
    graph.add("llm", "judge", prompt="{{ inputs.prompt }}", model=model, temperature=0.0, max_tokens=JUDGE_MAX_TOKENS)
    return graph


def score_prompt(rubric: str, output: str, row_input: str, expected: str | None) -> str:
    parts = [f"RUBRIC:\n{rubric}", f"INPUT:\n{row_input}"]
    if expected:
        parts.append(f"EXPECTED (reference):\n{expected}")
    parts += [f"OUTPUT:\n{output}", SCORE_INSTRUCTIONS]
    return "\n\n".join(parts)


def pair_prompt(rubric: str, first: str, second: str, row_input: str) -> str:
    return "\n\n".join(
        [f"RUBRIC:\n{rubric}", f"INPUT:\n{row_input}", f"A:\n{first}", f"B:\n{second}", PAIR_INSTRUCTIONS]
    )


def contradiction_prompt(outputs: dict[str, str]) -> str:
    answers = [f"{name.upper()}:\n{text}" for name, text in outputs.items()]
    return "\n\n".join([*answers, CONTRADICTION_INSTRUCTIONS])


def read_verdict(text: str, field: str) -> tuple[Any, str]:
    """(the field's value, the reason) from a judge's answer; (None, why) when it has none."""
    found = JSON_OBJECT.search(text)
    data: Any = None
    if found:
        try:
            data = json.loads(found.group(0))
        except ValueError:
            data = None
    if not isinstance(data, dict) or field not in data:
        return None, f"the judge gave no {field}: {text.strip()[:80]!r}"
    value, reason = data[field], str(data.get("reason", ""))
    if field == "score":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, f"the judge's score is not a number: {value!r}"
        return float(min(5.0, max(1.0, value))), reason
    if field == "winner":
        value = str(value).strip().upper()
        return (value if value in ("A", "B") else "tie"), reason
    return bool(value), reason


class Judge:
    """Makes judgements on the batch's shared limits with one model."""

    def __init__(self, limits: SharedLimits, model: str | None = None):
        self.limits = limits
        self.graph = judge_graph(model or DEFAULT_MODEL)

    async def ask(self, prompt: str, field: str, repeat: int = 0) -> Verdict:
        run = Run(self.graph, self.limits.context(repeat), inputs={"prompt": prompt}, record_events=False)
        state = await run.execute()
        totals = state.totals()
        tokens = totals.total_tokens
        if state.status != "succeeded":
            return Verdict(
                None, f"the judge's call {state.status}: {state.message or ''}".strip(), tokens, totals.cost_usd
            )
        text = next(iter(state.outputs.values()), "")  # the judge step is the graph's sink
        value, reason = read_verdict(text, field)
        return Verdict(value, reason, tokens, totals.cost_usd)
