"""Declarative node kinds: their parameters as field specs that the file loader and the inspector share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a node kind."""

    name: str
    type: type  # str, int, float
    default: Any
    label: str
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    multiline: bool = False
    template: bool = False  # rendered with Jinja2 against upstream outputs
    editable: bool = True  # False: kept by the editor itself, not a field of its own in the inspector
    choices: tuple[str, ...] = ()  # a str field that takes one of these values (the inspector offers a list)
    version: int = 1  # the file format version that added it: written only when set (not the default)


@dataclass(frozen=True)
class NodeKind:
    name: str
    title: str
    description: str
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)
    has_input_port: bool = True
    has_output_port: bool = True
    calls_model: bool = False
    version: int = 1  # the file format version that added the kind (a file with one is of that version)

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {spec.name: spec.default for spec in self.fields}

    @property
    def template_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(spec for spec in self.fields if spec.template)


# Structured output and checked steps (issue 15; format version 3): see core/run/structured.py, checks.py.
CHECK_FIELDS = (
    FieldSpec(
        "output_schema",
        str,
        "",
        "Output schema",
        "JSON schema of the answer (JSON text). Downstream templates read its fields: {{ step.field }}.",
        multiline=True,
        version=3,
    ),
    FieldSpec("check_regex", str, "", "Check (regex)", "The answer must match this regular expression.", version=3),
    FieldSpec(
        "check_judge",
        str,
        "",
        "Check (judge)",
        "Jinja2 template for a judge model; {{ answer }} is the answer. It returns pass or fail with a reason.",
        multiline=True,
        template=True,
        version=3,
    ),
    FieldSpec(
        "repairs",
        int,
        2,
        "Repairs",
        "Repair attempts when the answer fails its schema or check (sent with the complaint).",
        0,
        10,
        version=3,
    ),
)

INPUT = NodeKind(
    name="input",
    title="Input",
    description="A graph input (such as the topic), named like the step, for the steps after it.",
    # the step's name is the input's name: renaming the step renames the input (core.editing.inputs)
    fields=(FieldSpec("input", str, "", "Graph input", "Name of the graph input this node exposes.", editable=False),),
    has_input_port=False,
)

LLM = NodeKind(
    name="llm",
    title="LLM call",
    description="Sends a prompt rendered from upstream outputs to a chat model.",
    fields=(
        FieldSpec("model", str, DEFAULT_MODEL, "Model", "Model name as the provider knows it."),
        FieldSpec(
            "endpoint",
            str,
            "",
            "Endpoint",
            "An endpoint profile from Settings (its server, key, limits and prices); empty: the run's provider.",
            version=3,
        ),
        FieldSpec("temperature", float, 0.3, "Temperature", minimum=0.0, maximum=2.0),
        FieldSpec("max_tokens", int, 512, "Max tokens", "Upper bound on output tokens.", 1, 1_000_000),
        FieldSpec("timeout", float, 60.0, "Timeout (s)", "Per-attempt time limit.", 0.1, 3600.0),
        FieldSpec("retries", int, 3, "Retries", "Retries on 429, 5xx, timeouts and dropped connections.", 0, 20),
        FieldSpec("system", str, "", "System prompt", multiline=True, template=True),
        FieldSpec(
            "prompt",
            str,
            "",
            "Prompt",
            "Jinja2 template: {{ inputs.topic }}, {{ step_name }}.",
            multiline=True,
            template=True,
        ),
        *CHECK_FIELDS,
    ),
    calls_model=True,
)

JOIN = NodeKind(
    name="join",
    title="Join",
    description="Combines upstream outputs through a template, without a model call.",
    fields=(
        FieldSpec(
            "template", str, "", "Template", "Jinja2 template over upstream outputs.", multiline=True, template=True
        ),
    ),
)

OUTPUT = NodeKind(
    name="output",
    title="Output",
    description="Marks what the run returns; empty template = the upstream outputs joined.",
    fields=(
        FieldSpec(
            "template",
            str,
            "",
            "Template",
            "Optional Jinja2 template; empty passes upstream through.",
            multiline=True,
            template=True,
        ),
    ),
    has_output_port=False,
)


def _model_fields(*, max_tokens: int = 512) -> tuple[FieldSpec, ...]:
    """The LLM step's model settings (model, temperature, max tokens, timeout, retries), for kinds that call one."""
    spec = LLM.field("max_tokens")
    sized = FieldSpec(spec.name, int, max_tokens, spec.label, spec.help, spec.minimum, spec.maximum)
    return (LLM.field("model"), LLM.field("temperature"), sized, LLM.field("timeout"), LLM.field("retries"))


def _template(name: str, label: str, help: str, *, multiline: bool = True) -> FieldSpec:
    """A template field (text, empty by default) of map and route steps."""
    return FieldSpec(name, str, "", label, help, multiline=multiline, template=True)


MAP_ERROR_POLICIES = ("fail", "drop", "keep")
MAP = NodeKind(
    name="map",
    title="Map",
    description="Runs one model call per item of a list (in parallel) and collects the answers, in order, as a list.",
    fields=(
        FieldSpec(
            "over",
            str,
            "",
            "Over",
            "Jinja2 expression giving the list: a list value, a JSON array, or text (one item per line).",
            template=True,
        ),
        _template("prompt", "Prompt", "Jinja2 template per item: {{ item }}, {{ index }} (from 0) and upstream steps."),
        *_model_fields(),
        LLM.field("endpoint"),
        LLM.field("system"),
        FieldSpec(
            "concurrency",
            int,
            0,
            "Items at once",
            "At most this many items in flight (0: the run's cap only).",
            0,
            10_000,
        ),
        FieldSpec(
            "on_item_error",
            str,
            "fail",
            "On item error",
            "fail: the map fails; drop: failed items are left out; keep: they stay in the list as errors.",
            choices=MAP_ERROR_POLICIES,
        ),
        FieldSpec(
            "expected_items",
            int,
            0,
            "Expected items",
            "For the estimate: how many items to expect (0: learned from recorded runs).",
            0,
            1_000_000,
        ),
    ),
    calls_model=True,
    version=3,
)

ROUTE_MODES = ("expression", "classify")
ROUTE = NodeKind(
    name="route",
    title="Route",
    description="Chooses which of its downstream steps run: by an expression, or by a model's one-label answer.",
    fields=(
        FieldSpec(
            "mode", str, "expression", "Mode", "expression: a template; classify: ask the model.", choices=ROUTE_MODES
        ),
        _template(
            "expression",
            "Branches",
            "expression mode: a Jinja2 template giving the downstream steps to run "
            "(names, comma- or line-separated, or a JSON array).",
        ),
        _template(
            "prompt", "Prompt", "classify mode: what to classify; the model is asked for exactly one of the labels."
        ),
        FieldSpec(
            "labels", str, "", "Labels", "classify mode: the labels, comma-separated; each names a downstream step."
        ),
        FieldSpec(
            "fallback",
            str,
            "",
            "Fallback",
            "classify mode: the branch taken when the answer is no label (empty: fail).",
        ),
        *_model_fields(max_tokens=16),
        LLM.field("endpoint"),
        LLM.field("system"),
    ),
    calls_model=True,
    version=3,
)


PICK_BEST = NodeKind(
    name="pick_best",
    title="Pick best",
    description="Returns the best of its upstream candidates, by a judge model or a score field; records the scores.",
    fields=(
        FieldSpec(
            "criteria",
            str,
            "Which answer is the most accurate, specific and complete?",
            "Judge prompt",
            "Jinja2 template: what the judge looks for. The candidates are added below it.",
            multiline=True,
            template=True,
        ),
        FieldSpec(
            "score_field",
            str,
            "",
            "Score field",
            "Pick by this numeric field of structured candidates instead (no model call).",
        ),
        FieldSpec("model", str, DEFAULT_MODEL, "Model", "The judge's model."),
        FieldSpec("temperature", float, 0.0, "Temperature", minimum=0.0, maximum=2.0),
        FieldSpec("max_tokens", int, 400, "Max tokens", "Upper bound on the judge's output tokens.", 1, 1_000_000),
        FieldSpec("timeout", float, 60.0, "Timeout (s)", "Per-attempt time limit.", 0.1, 3600.0),
        FieldSpec("retries", int, 3, "Retries", "Retries on 429, 5xx, timeouts and dropped connections.", 0, 20),
    ),
    calls_model=True,
    version=3,
)

NODE_KINDS: dict[str, NodeKind] = {kind.name: kind for kind in (INPUT, LLM, JOIN, OUTPUT, PICK_BEST, MAP, ROUTE)}
FLOW_KINDS = frozenset({"map", "route"})  # map and route steps (core.run.flow)
MODEL_KINDS = frozenset(kind.name for kind in NODE_KINDS.values() if kind.calls_model)  # steps that call a model
# the kinds whose steps may name an endpoint profile (core.run.lanes): LLM, map and route steps
ENDPOINT_KINDS = frozenset(k.name for k in NODE_KINDS.values() if any(f.name == "endpoint" for f in k.fields))


def node_kind(name: str) -> NodeKind:
    try:
        return NODE_KINDS[name]
    except KeyError:
        raise KeyError(f"unknown node kind {name!r} (known: {', '.join(NODE_KINDS)})") from None
