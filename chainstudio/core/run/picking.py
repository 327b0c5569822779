"""Pick-best steps (kind ``pick_best``): the best of the step's upstream candidates, with the scores recorded.

By a judge (the default): one model call whose prompt is the step's ``criteria`` followed by the candidates,
each under its step's name, asking for ``{"scores": [{"candidate", "score" (0-10), "reason"}]}`` (structured
output, with repairs when the answer does not parse); the step's output is the highest-scored candidate's
output (the first of equals, in edge order). By a score field (``score_field`` set): no call, each candidate
is a structured answer and the one with the highest number in that field wins. Either way the scores go out
as a ``NodeScored`` event: the run record, the history and the output panel show them.
"""

from __future__ import annotations

from typing import Any

from chainstudio.core.graph.model import Node
from chainstudio.core.providers.base import ChatRequest
from chainstudio.core.run.checks import JudgeCall, Verdict
from chainstudio.core.run.structured import parse_answer, structured_request

Candidate = tuple[str, str]  # (step name, its output)


def calls_model(node: Node) -> bool:
    """Whether the step's output comes from a model call (an LLM step, a pick-best step with a judge, a map
    step's items, a route step that classifies)."""
    if node.kind in ("map", "route"):
        return node.kind == "map" or node.param("mode") == "classify"
    return node.kind == "llm" or (node.kind == "pick_best" and not str(node.param("score_field") or "").strip())


def scores_schema(names: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "scores": {
                "type": "array",
                "minItems": len(names),
                "maxItems": len(names),
                "items": {
                    "type": "object",
                    "properties": {
                        "candidate": {"type": "string", "enum": names},
                        "score": {"type": "number", "minimum": 0, "maximum": 10},
                        "reason": {"type": "string"},
                    },
                    "required": ["candidate", "score", "reason"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["scores"],
        "additionalProperties": False,
    }


def judge_request(node: Node, criteria: str, candidates: list[Candidate]) -> tuple[ChatRequest, str, str]:
    """The judge's request; and its prompt and system message as the run shows them."""
    listed = "\n\n".join(f"### Candidate {name}\n{text}" for name, text in candidates)
    prompt = (
        f"{criteria.strip()}\n\nScore each candidate from 0 (worst) to 10 (best), with a one-sentence reason.\n\n"
        f"{listed}"
    )
    request = ChatRequest(
        model=str(node.param("model")),
        messages=({"role": "user", "content": prompt},),
        temperature=float(node.param("temperature")),
        max_tokens=int(node.param("max_tokens")),
        timeout=float(node.param("timeout")),
        seed_key=node.name,
    )
    schema = scores_schema([name for name, _ in candidates])
    request, system = structured_request(request, schema, "scores")
    return request, prompt, system


class PickCheck:
    """Reads a judge's scores and picks the best candidate (a ``checks.AnswerCheck``)."""

    has_judge = False

    def __init__(self, candidates: list[Candidate]):
        self.candidates = candidates
        self.schema = scores_schema([name for name, _ in candidates])

    async def check(self, text: str, judge: JudgeCall) -> Verdict:
        value, complaint = parse_answer(text, self.schema)
        if complaint is not None:
            return Verdict(False, "pick", complaint)
        given: dict[str, tuple[float, str]] = {}
        for entry in value["scores"]:
            given.setdefault(str(entry["candidate"]), (float(entry["score"]), str(entry["reason"]).strip()))
        missing = [name for name, _ in self.candidates if name not in given]
        if missing:
            return Verdict(False, "pick", f"no score for {', '.join(missing)}; score every candidate once")
        scores = tuple((name, given[name][0], given[name][1]) for name, _ in self.candidates)
        return _picked(self.candidates, scores, "judge")


def by_field(candidates: list[Candidate], field: str) -> Verdict:
    """The candidate with the highest number in ``field`` (no call). A candidate whose output is not such a
    structured answer scores None and is never picked over one with a score."""
    scores: list[tuple[str, float | None, str]] = []
    for name, text in candidates:
        value, _ = parse_answer(text, None)
        number = value.get(field) if isinstance(value, dict) else None
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            scores.append((name, None, f"no number in {field!r}"))
        else:
            scores.append((name, float(number), f"{field} = {number:g}"))
    return _picked(candidates, tuple(scores), field)


def _picked(candidates: list[Candidate], scores: tuple[tuple[str, float | None, str], ...], basis: str) -> Verdict:
    ranked = [(score, -i, name) for i, (name, score, _) in enumerate(scores) if score is not None]
    if not ranked:
        return Verdict(False, "pick", "no candidate has a score", fatal=True)
    best = max(ranked)[2]
    output = dict(candidates)[best]
    reason = f"picked {best} ({basis})"
    return Verdict(True, "pick", reason, output=output, scores=scores, best=best)
