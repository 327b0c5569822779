"""What issue 15's step fields add to a step's inputs and call (``core.run.inputs.StepInputs`` asks here):
structured outputs as templates read them, a checked LLM step's request and check, a pick-best step's
judge call or its pick by a score field."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chainstudio.core.graph.model import Node
from chainstudio.core.graph.schema_fields import schema_or_none
from chainstudio.core.graph.templating import RENDER_CPU_SECONDS, TemplateProblem
from chainstudio.core.run.checks import StepCheck
from chainstudio.core.run.picking import PickCheck, by_field, judge_request
from chainstudio.core.run.structured import parse_answer, structured_request, template_value
from chainstudio.core.tokens import count_tokens

if TYPE_CHECKING:
    from chainstudio.core.run.attempt import PreparedCall
    from chainstudio.core.run.inputs import StepInputs


def is_structured(steps: StepInputs, step_id: str) -> bool:
    """A step whose output templates read as parsed JSON: an LLM step with a schema, or a pick-best step
    whose candidates all are."""
    node = steps.graph.nodes[step_id]
    if node.kind == "llm":
        return schema_or_none(str(node.param("output_schema") or "")) is not None
    if node.kind == "pick_best":
        preds = steps.plan.preds[step_id]
        return bool(preds) and all(is_structured(steps, p) for p in preds)
    return False


def parsed_outputs(steps: StepInputs, names: frozenset[str], node_id: str, context: dict[str, Any]) -> dict[str, Any]:
    """The structured outputs among ``names`` (those in ``context``), parsed, as templates read them."""
    found: dict[str, Any] = {}
    for name in names:
        source = steps.plan.by_name.get(name)
        if source is None or name not in context:
            continue
        if source not in steps.parsed:
            value = None
            if is_structured(steps, source):
                value, complaint = parse_answer(steps.outputs[source], None)
                value = template_value(value) if complaint is None else None
            steps.parsed[source] = value
        if steps.parsed[source] is not None:
            found[name] = steps.parsed[source]
    return found


def picked_by_field(steps: StepInputs, node: Node) -> str:
    """A pick-best step's output by its score field (no call); the verdict is kept in ``steps.scores``."""
    field = str(node.param("score_field")).strip()
    verdict = by_field(steps.candidates(node), field)
    if not verdict.passed or verdict.output is None:
        raise TemplateProblem(f"step {node.name!r}: {verdict.reason}")
    steps.scores[node.id] = verdict
    return verdict.output


def prepare_checked(
    steps: StepInputs, node: Node, prepared: PreparedCall | None, cpu_seconds: float, count: bool
) -> PreparedCall:
    """A pick-best step's judge call; or an LLM step's call with its schema and check added."""
    if node.kind == "pick_best":
        return _judge_call(steps, node, cpu_seconds, count)
    assert prepared is not None
    schema = schema_or_none(str(node.param("output_schema") or ""))
    regex = str(node.param("check_regex") or "")
    has_judge = bool(str(node.param("check_judge") or "").strip())
    if schema is None and not regex and not has_judge:
        return prepared
    if schema is not None:
        request, system = structured_request(prepared.request, schema, node.name)
        prepared = replace(prepared, request=request, system=system)

    def judge_prompt(answer: str) -> str:
        return steps.render(node, "check_judge", RENDER_CPU_SECONDS, extra={"answer": answer})

    check = StepCheck(schema, regex, judge_prompt if has_judge else None, str(node.param("model")))
    return replace(prepared, check=check, repairs=int(node.param("repairs")))


def _judge_call(steps: StepInputs, node: Node, cpu_seconds: float, count: bool) -> PreparedCall:
    from chainstudio.core.run.attempt import PreparedCall

    candidates = steps.candidates(node)
    if not candidates:
        raise TemplateProblem(f"step {node.name!r}: no candidate succeeded upstream")
    criteria = steps.render(node, "criteria", cpu_seconds)
    request, prompt, system = judge_request(node, criteria, candidates)
    call = PreparedCall(
        request,
        prompt,
        system,
        int(node.param("retries")),
        float(node.param("timeout")),
        check=PickCheck(candidates),
        repairs=2,
    )
    if count:
        call.estimated_tokens = count_tokens(system) + count_tokens(prompt) + request.max_tokens
    return call
