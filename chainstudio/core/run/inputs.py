"""What a step reads: the run's input values and the outputs of the steps upstream of it, through its templates.

``StepInputs`` holds one run's values and finished outputs. It renders a step's templates (a template sees
``inputs`` and the outputs of its ancestors only), makes the local output of a step without a model call
(input: the graph input's value; join: its template; output: its template, or the upstream outputs
joined) and prepares a model call's request.

Compiling a template costs about a millisecond; rendering a compiled one tens of microseconds. Templates
are compiled once per template text (the cache is shared by every run and by validation), and a run asks
for a step's templates ahead of time, while the steps it waits on are still streaming
(``precompile_after``), so the way from a parent's last token to its child's request does not compile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chainstudio.core.graph.kinds import node_kind
from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.graph.templating import (
    ON_LOOP_CPU_SECONDS,
    RENDER_CPU_SECONDS,
    TemplateProblem,
    TemplateTooSlow,
    precompile,
    references,
    render,
)
from chainstudio.core.providers.base import ChatRequest
from chainstudio.core.run.attempt import PreparedCall
from chainstudio.core.run.context import RunError
from chainstudio.core.run.picking import Candidate
from chainstudio.core.run.step_calls import parsed_outputs, picked_by_field, prepare_checked
from chainstudio.core.run.topology import Plan
from chainstudio.core.tokens import OFF_LOOP_CHARS, count_tokens


def resolve_inputs(graph: Graph, overrides: Mapping[str, str]) -> dict[str, str]:
    """The run's input values: the graph inputs' defaults, overridden; an unknown override is refused."""
    known = {gi.name for gi in graph.inputs}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise RunError(
            f"{', '.join(unknown)}: not an input of {graph.name!r} (inputs: {', '.join(sorted(known)) or 'none'})"
        )
    values = {gi.name: gi.default for gi in graph.inputs if gi.default is not None}
    values.update({k: str(v) for k, v in overrides.items()})
    return values


class StepInputs:
    """One run's input values and finished outputs, and the steps' templates rendered from them."""

    def __init__(self, plan: Plan, values: Mapping[str, str]):
        self.plan = plan
        self.graph = plan.graph
        self.values = dict(values)
        self.outputs: dict[str, str] = {}  # step id -> output, for the steps that succeeded
        self.parsed: dict[str, Any] = {}  # step id -> a structured step's output as templates read it
        self.scores: dict[str, Any] = {}  # step id -> a pick-best step's verdict (by a score field)
        self._compiled: set[str] = set()  # steps whose templates ``precompile_after`` compiled

    def render(
        self,
        node: Node,
        field_name: str,
        cpu_seconds: float = RENDER_CPU_SECONDS,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """A template of ``node`` rendered within ``cpu_seconds`` (TemplateTooSlow past it); TemplateProblem.
        ``extra``: more names the template sees (a map item's ``item`` and ``index``)."""
        source = str(node.param(field_name) or "")
        if not source:
            return ""
        try:
            names = references(source).steps
            context = self.plan.template_context(node.id, names, self.outputs, self.values)
            context.update(parsed_outputs(self, names, node.id, context))
            if extra:
                context.update(extra)
            return render(source, context, cpu_seconds=cpu_seconds)
        except TemplateProblem as exc:
            raise type(exc)(
                f"template error in step {node.name!r} ({field_name}): {exc.message}",
                missing=exc.missing,
                line=exc.line,
            ) from None

    def local_output(self, node: Node, cpu_seconds: float = RENDER_CPU_SECONDS) -> str:
        """The output of a step that calls no model; raises TemplateProblem."""
        if node.kind == "input":
            name = self.plan.input_of(node.id)
            if name not in self.values:
                raise TemplateProblem(
                    f"step {node.name!r}: graph input {name!r} has no value (no default and none given)", missing=name
                )
            return self.values[name]
        if node.kind == "pick_best":
            return picked_by_field(self, node)
        if node.kind == "output" and not str(node.param("template") or "").strip():
            return "\n\n".join(self.outputs[p] for p in self.plan.preds[node.id] if p in self.outputs)
        return self.render(node, "template", cpu_seconds)

    def prepare_call(
        self,
        node: Node,
        *,
        count: bool,
        cpu_seconds: float = RENDER_CPU_SECONDS,
        extra: Mapping[str, Any] | None = None,
        seed_key: str | None = None,
    ) -> PreparedCall:
        """A model step's request, rendered; ``count``: also estimate its tokens (for a budget or a rate limit).
        With the event loop's budget (``ON_LOOP_CPU_SECONDS``), a prompt too long to count there raises
        TemplateTooSlow, like a slow render: the executor prepares the call again in a worker thread.
        ``extra`` and ``seed_key``: a map item's names and its own key for the simulator."""
        if node.kind == "pick_best":
            return prepare_checked(self, node, None, cpu_seconds, count)
        system = self.render(node, "system", cpu_seconds, extra)
        prompt = self.render(node, "prompt", cpu_seconds, extra)
        messages = ([{"role": "system", "content": system}] if system.strip() else []) + [
            {"role": "user", "content": prompt}
        ]
        request = ChatRequest(
            model=str(node.param("model")),
            messages=tuple(messages),
            temperature=float(node.param("temperature")),
            max_tokens=int(node.param("max_tokens")),
            timeout=float(node.param("timeout")),
            seed_key=seed_key or node.name,
        )
        prepared = PreparedCall(request, prompt, system, int(node.param("retries")), float(node.param("timeout")))
        if node.kind == "llm":  # its schema and check (map and route steps have none)
            prepared = prepare_checked(self, node, prepared, cpu_seconds, count)
        if count:
            if cpu_seconds <= ON_LOOP_CPU_SECONDS and len(system) + len(prompt) > OFF_LOOP_CHARS:
                raise TemplateTooSlow(f"step {node.name!r}: its prompt is too long to count on the event loop")
            prepared.estimated_tokens = count_tokens(system) + count_tokens(prompt) + request.max_tokens
        return prepared

    def candidates(self, node: Node) -> list[Candidate]:
        """A pick-best step's candidates: its upstream steps that succeeded, in edge order."""
        names = self.graph.nodes
        return [(names[p].name, self.outputs[p]) for p in self.plan.preds[node.id] if p in self.outputs]

    def precompile_after(self, step_id: str) -> None:
        """Compile the templates of the steps that wait on ``step_id``, and on through steps without a model
        call (they finish at once), each step once per run. Call it while ``step_id`` is still running."""
        plan, nodes = self.plan, self.graph.nodes
        pending = list(plan.succs[step_id])
        while pending:
            nid = pending.pop()
            if nid in self._compiled:
                continue
            self._compiled.add(nid)
            node = nodes[nid]
            kind = node_kind(node.kind)
            for spec in kind.template_fields:
                precompile(str(node.param(spec.name) or ""))
            if not kind.calls_model:
                pending.extend(plan.succs[nid])
