"""A route step: which of its direct downstream steps (its branches) run.

``expression`` mode renders the ``expression`` template; the text names the branches to take (a JSON
array of names, or names separated by commas or lines; none is allowed: then no branch runs). ``classify``
mode asks the model for exactly one of the declared ``labels`` (each the name of a branch), as structured
output (``label_schema``: ``{"label": one of the labels}``, sent as ``response_format`` like a step's
schema, ``core.run.structured``; a server that refuses it is asked in JSON mode, then plainly), and reads
the answer (``read_label``: that JSON, else the text strictly — whitespace, quotes and a final full stop
aside, it must be a label); an answer that is no label takes the ``fallback`` branch, or fails the route
when there is none.

The route's output is the names of the branches taken (comma-separated). The branches not taken are *not
taken* (``Scheduler.choose``): they never run and cost nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from chainstudio.core.graph.model import Node
from chainstudio.core.run import events as ev
from chainstudio.core.run.attempt import AttemptServices, PreparedCall, StepAttempts, StepOutcome
from chainstudio.core.run.map_values import json_array
from chainstudio.core.run.status import StepStatus
from chainstudio.core.run.structured import parse_answer

Choose = Callable[[Iterable[str], str], None]  # (ids of the branches not taken, why)


def labels_of(node: Node) -> list[str]:
    """A route's declared labels, in order, without blanks and repeats."""
    return list(dict.fromkeys(p.strip() for p in re.split(r"[,\n]", str(node.param("labels") or "")) if p.strip()))


def branch_names(text: str) -> list[str]:
    """The branch names an expression's text gives: a JSON array of names, or names split on commas and lines."""
    parsed = json_array(text)
    if parsed is not None:
        return list(dict.fromkeys(str(p).strip() for p in parsed if str(p).strip()))
    return list(dict.fromkeys(p.strip() for p in re.split(r"[,\n]", text) if p.strip()))


def parse_label(answer: str, labels: list[str]) -> str | None:
    """The label ``answer`` is, read strictly (case, surrounding whitespace, quotes and a final full stop
    aside), or None."""
    text = answer.strip().strip("`'\"*").strip()
    if text.endswith("."):
        text = text[:-1].strip()
    for label in labels:
        if text.casefold() == label.casefold():
            return label
    return None


def label_schema(labels: list[str]) -> dict[str, Any]:
    """The structured answer a classifying route asks for: ``{"label": "<one of the labels>"}``."""
    return {
        "type": "object",
        "properties": {"label": {"type": "string", "enum": list(labels)}},
        "required": ["label"],
        "additionalProperties": False,
    }


def read_label(answer: str, labels: list[str]) -> str | None:
    """The label a classifying route's answer gives: its structured answer's ``label`` (or the one string of
    any JSON object, from a server in plain JSON mode), else the text read strictly (``parse_label``)."""
    value, complaint = parse_answer(answer, None)
    if complaint is None and isinstance(value, dict):
        given = value.get("label")
        strings = [v for v in value.values() if isinstance(v, str)]
        text = given if isinstance(given, str) else strings[0] if len(strings) == 1 else None
        if text is not None:
            return parse_label(text, labels)
    return parse_label(answer, labels)


def classify_prompt(prompt: str, labels: list[str]) -> str:
    """The prompt a classifying route sends: its own text, then the instruction to answer with one label."""
    return f"{prompt.rstrip()}\n\nAnswer with exactly one of these labels and nothing else: {', '.join(labels)}"


def decide(chosen: list[str], branches: dict[str, str], route: str) -> tuple[list[str], str | None]:
    """(ids of the branches not taken, the problem) for the branch names ``chosen`` among ``branches``
    (name -> id of the route's direct downstream steps)."""
    unknown = [name for name in chosen if name not in branches]
    if unknown:
        known = ", ".join(branches) or "none"
        return [], f"route {route!r} chose {', '.join(map(repr, unknown))}, not one of its branches ({known})"
    return [nid for name, nid in branches.items() if name not in chosen], None


def not_taken_reason(route: str, chosen: list[str]) -> str:
    return f"route {route!r} chose {', '.join(chosen) if chosen else 'no branch'}"


class ClassifyingRoute:
    """A route in classify mode: its model call (``StepAttempts``), then the label read from the answer."""

    call = None  # its answer is no step output to keep in the step cache (the label read from it is)

    def __init__(
        self,
        services: AttemptServices,
        node: Node,
        call: PreparedCall,
        branches: dict[str, str],
        choose: Choose,
        forced: tuple[str, ...] | None = None,
    ):
        """``forced``: the branches to take whatever the answer (an estimate's stand-in)."""
        self.services, self.node, self.prepared = services, node, call
        self.forced = forced
        self.branches, self.choose = branches, choose
        self._finished: ev.NodeFinished | None = None
        self.attempts = StepAttempts(replace(services, emit=self._emit), node.id, node.name, call)

    def cancelled_event(self, run_id: str, t: float) -> ev.NodeCancelled:
        return self.attempts.cancelled_event(run_id, t)

    def _emit(self, event: ev.RunEvent) -> None:
        if isinstance(event, ev.NodeFinished) and event.node_id == self.node.id:
            self._finished = event  # told once the answer is read
            return
        self.services.emit(event)

    async def run(self) -> StepOutcome:
        outcome = await self.attempts.run()
        finished = self._finished
        if outcome.status is not StepStatus.SUCCEEDED or finished is None:
            return outcome
        node, s = self.node, self.services
        labels = labels_of(node)
        label = read_label(finished.output, labels)
        fallback = str(node.param("fallback") or "").strip()
        if label is None and fallback:
            label = fallback
        if self.forced is not None:
            label = ", ".join(self.forced)
        problem = None
        not_taken: list[str] = []
        if label is None:
            answer = finished.output.strip()[:80]
            problem = f"route {node.name!r}: the answer {answer!r} is not one of the labels ({', '.join(labels)})"
        else:
            chosen = list(self.forced) if self.forced is not None else [label]
            not_taken, problem = decide(chosen, self.branches, node.name)
        if problem is not None:
            f = finished
            s.emit(
                ev.NodeFailed(
                    f.run_id, f.t, f.node_id, problem, f.attempts, None, f.input_tokens, f.output_tokens,
                    f.cost_usd, f.cached_tokens, f.tokens_estimated,
                )
            )  # fmt: skip
            return StepOutcome(StepStatus.FAILED)
        assert label is not None
        self.choose(not_taken, not_taken_reason(node.name, chosen))
        s.emit(replace(finished, output=label))
        return StepOutcome(StepStatus.SUCCEEDED, output=label)
