"""Checked steps: what an answer must pass before the step succeeds, and the repair request when it fails.

A step's checks run in this order, the first complaint wins: its output schema (``output_schema``: valid JSON
that follows it), a regular expression (``check_regex``: the answer must contain a match) and a judge
(``check_judge``: a template, rendered with the upstream outputs and ``answer``, sent to the step's model,
which answers ``{"pass": true|false, "reason": "..."}``). ``StepAttempts`` (``core.run.attempt``) asks a
step's ``StepCheck`` after every answer; on a complaint it makes a repair attempt, up to the step's
``repairs``: the same request, followed by the rejected answer and the complaint (``repair_request``).

A judge call is a model call of the step: its tokens and cost count in the step's (the ``JudgeCall`` passed
in books them) and its time shows as a ``check`` segment in the Gantt.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from chainstudio.core import patterns
from chainstudio.core.providers.base import ChatRequest, ChatResult, ProviderError
from chainstudio.core.run.structured import instruction, parse_answer, response_format, strip_fence

CheckKind = Literal["schema", "regex", "judge", "pick"]
JudgeCall = Callable[[ChatRequest], Awaitable[ChatResult]]  # a model call booked to the step
Render = Callable[[str], str]  # renders the judge template with ``answer`` set to the given answer

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"pass": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["pass", "reason"],
    "additionalProperties": False,
}
JUDGE_SYSTEM = (
    "You check an answer against a requirement. Say whether it passes, and why, in one sentence. "
    + instruction(JUDGE_SCHEMA)
)
JUDGE_MAX_TOKENS = 200


@dataclass(frozen=True)
class Verdict:
    """What a check said about one answer. ``output``: the step's output when it is not the answer itself
    (a pick-best step returns the best candidate); ``scores``: a pick-best step's (name, score, reason)."""

    passed: bool
    kind: CheckKind
    reason: str = ""
    output: str | None = None
    scores: tuple[tuple[str, float | None, str], ...] = ()
    best: str = ""
    fatal: bool = False  # no repair can help (the judge itself failed)
    cut_off: int | None = None  # the answer was cut off at this max_tokens (finish_reason "length")
    stopped: bool = False  # the run's budget refused the judge call (``reason`` is the budget's)


class AnswerCheck(Protocol):
    async def check(self, text: str, judge: JudgeCall) -> Verdict: ...

    @property
    def has_judge(self) -> bool: ...


@dataclass(frozen=True)
class StepCheck:
    """The checks of one LLM step (built by ``StepInputs.prepare_call`` from its fields)."""

    schema: dict[str, Any] | None
    regex: str = ""
    judge: Render | None = None
    judge_model: str = ""

    @property
    def has_judge(self) -> bool:
        return self.judge is not None

    async def check(self, text: str, judge: JudgeCall) -> Verdict:
        if self.schema is not None or self.regex:  # off the loop: a user's pattern can take its whole time limit
            verdict = await asyncio.to_thread(self._match, text)
            if verdict is not None:
                return verdict
        if self.judge is not None:
            return await self._judge(text, judge)
        return Verdict(True, "schema" if self.schema is not None else "regex")

    def _match(self, text: str) -> Verdict | None:
        """The schema's and the pattern's complaint about ``text``, or None (their patterns share one limit)."""
        with patterns.time_box():
            return self._complaint(text)

    def _complaint(self, text: str) -> Verdict | None:
        if self.schema is not None:
            _, complaint = parse_answer(text, self.schema)
            if complaint is not None:
                return Verdict(False, "schema", complaint)
        if self.regex:
            try:
                matched = patterns.search(self.regex, text)
            except patterns.PatternTooSlow as exc:
                return Verdict(False, "regex", str(exc), fatal=True)
            if not matched:
                return Verdict(False, "regex", f"the answer does not match the pattern {self.regex!r}")
        return None

    async def _judge(self, text: str, judge: JudgeCall) -> Verdict:
        try:
            prompt = self.judge(text) if self.judge is not None else ""
        except Exception as exc:  # noqa: BLE001 - a judge template that cannot render fails the step, in one line
            return Verdict(False, "judge", str(getattr(exc, "message", exc)), fatal=True)
        request = ChatRequest(
            model=self.judge_model,
            messages=({"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": prompt}),
            temperature=0.0,
            max_tokens=JUDGE_MAX_TOKENS,
            seed_key="judge",
            response_format=response_format(JUDGE_SCHEMA, "verdict"),
        )
        try:
            result = await judge(request)
        except ProviderError as exc:
            if exc.kind == "budget":
                return Verdict(False, "judge", str(exc), fatal=True, stopped=True)
            return Verdict(False, "judge", f"the judge call failed: {exc}", fatal=True)
        cut = JUDGE_MAX_TOKENS if result.finish_reason == "length" else None
        return judge_verdict(result.text, cut)


def judge_verdict(text: str, cut_off: int | None = None) -> Verdict:
    """A judge's answer read: the JSON verdict, else a leading PASS / FAIL word. An answer cut off at
    ``cut_off`` max tokens is read as far as it goes: its ``"pass"`` decides, its reason is marked as cut."""
    value, complaint = parse_answer(text, JUDGE_SCHEMA)
    if complaint is None and isinstance(value, dict):
        return Verdict(bool(value["pass"]), "judge", str(value["reason"]).strip())
    words = strip_fence(text).strip()
    head = words[:12].upper()
    if head.startswith("PASS"):
        return Verdict(True, "judge", words[4:].strip(" :-.") or "passed")
    if head.startswith("FAIL"):
        return Verdict(False, "judge", words[4:].strip(" :-.") or "the judge said fail")
    if cut_off is not None:
        return _cut_verdict(words, cut_off)
    return Verdict(False, "judge", f"the judge's answer is not a verdict: {words[:120]!r}", fatal=True)


_PASS = re.compile(r'^\s*(?:```(?:json|JSON)?\s*)?\{\s*"pass"\s*:\s*(true|false)\b')
_REASON = re.compile(r'"reason"\s*:\s*"((?:[^"\\]|\\.)*)')


def _cut_verdict(words: str, cut_off: int) -> Verdict:
    """A judge's JSON verdict cut off at max_tokens: read when its ``"pass"`` came before the cut."""
    found = _PASS.match(words)
    if found is None:
        reason = f"the judge's answer was cut off at max_tokens ({cut_off}) before it gave a verdict: {words[:120]!r}"
        return Verdict(False, "judge", reason, fatal=True, cut_off=cut_off)
    said = _REASON.search(words, found.end())
    text = said.group(1) if said else ""
    try:
        text = json.loads(f'"{text}"')
    except json.JSONDecodeError:
        text = text.rstrip("\\")
    note = f"(the judge's reason was cut off at max_tokens ({cut_off}))"
    reason = f"{text.strip()}… {note}" if text.strip() else note
    return Verdict(found.group(1) == "true", "judge", reason, cut_off=cut_off)


def cut_off_verdict(verdict: Verdict, finish_reason: str | None, max_tokens: int | None) -> Verdict:
    """A rejected JSON answer (schema or pick-best check) that the server cut off says so, in plain words."""
    if (
        verdict.passed
        or finish_reason != "length"
        or verdict.kind not in ("schema", "pick")
        or verdict.cut_off is not None
    ):
        return verdict
    limit = f" ({max_tokens})" if max_tokens else ""
    reason = (
        f"the answer was cut off at max_tokens{limit} before its JSON was complete: raise Max tokens or ask for "
        f"a shorter answer ({verdict.reason})"
    )
    return replace(verdict, reason=reason, cut_off=max_tokens or 0)


def repair_request(request: ChatRequest, answer: str, verdict: Verdict) -> ChatRequest:
    """The next attempt's request: the conversation so far, the rejected answer and the complaint."""
    hint = "Reply with the corrected answer only."
    if request.response_format is not None:
        hint = "Reply with the corrected JSON only."
    if verdict.cut_off is not None and verdict.kind != "judge":
        hint = "Reply with a shorter answer that fits: the complete JSON only, with brief text in every field."
    complaint = f"Your answer was rejected: {verdict.reason}\n{hint}"
    messages = (*request.messages, {"role": "assistant", "content": answer}, {"role": "user", "content": complaint})
    return replace(request, messages=messages)


def scores_text(verdict: Verdict) -> str:
    """A pick-best verdict's scores as one JSON line (the run record keeps the event; this is for humans)."""
    return json.dumps([{"candidate": n, "score": s, "reason": r} for n, s, r in verdict.scores], ensure_ascii=False)
