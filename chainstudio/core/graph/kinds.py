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

NODE_KINDS: dict[str, NodeKind] = {kind.name: kind for kind in (INPUT, LLM, JOIN, OUTPUT)}


def node_kind(name: str) -> NodeKind:
    try:
        return NODE_KINDS[name]
    except KeyError:
        raise KeyError(f"unknown node kind {name!r} (known: {', '.join(NODE_KINDS)})") from None
