"""Validation of issue 15's structured steps: declared schemas, checks, the fields templates read from them,
and pick-best steps (``validation.validate`` adds these problems to the others)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from chainstudio.core import patterns
from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.graph.schema_fields import (
    SchemaProblem,
    declared_fields,
    field_reads,
    parse_schema,
    schema_or_none,
    unknown_field,
)

if TYPE_CHECKING:
    from chainstudio.core.graph.validation import Problem

# names a template field sees besides the steps upstream: the answer a judge checks
LOCAL_NAMES: dict[str, frozenset[str]] = {"check_judge": frozenset({"answer"})}


def check_structured(graph: Graph) -> list[Problem]:
    out: list[Problem] = []
    by_name = {node.name: node for node in graph.nodes.values()}
    # only a step with an output schema has fields to check: templates that name none are not parsed
    # (parsing every template of a 10,000-step graph took 0.9 s of the window's thread on opening it)
    structured = [n.name for n in graph.nodes.values() if n.kind == "llm" and str(n.param("output_schema") or "")]
    for node in graph.nodes.values():
        if node.kind == "llm":
            out += _check_llm(node)
        elif node.kind == "pick_best":
            out += _check_pick(graph, node, by_name)
        if structured:
            out += _check_reads(node, by_name, structured)
    return out


def _check_llm(node: Node) -> list[Problem]:
    from chainstudio.core.graph.validation import Problem

    out: list[Problem] = []
    try:
        schema = parse_schema(str(node.param("output_schema") or ""))
    except SchemaProblem as exc:
        out.append(Problem("error", f"{node.name}.output_schema", str(exc), node.id, field="output_schema"))
        schema = None
    for found in _schema_patterns(schema):
        problem = patterns.problem(found)
        if problem is not None:
            out.append(Problem("error", f"{node.name}.output_schema", problem, node.id, field="output_schema"))
            break
    pattern = str(node.param("check_regex") or "")
    if pattern:
        problem = patterns.problem(pattern)
        if problem is not None:
            out.append(Problem("error", f"{node.name}.check_regex", problem, node.id))
    return out


def _schema_patterns(schema: object) -> Iterator[str]:
    """The regular expressions in a JSON schema: ``pattern`` values and ``patternProperties`` names."""
    stack = [schema]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            if isinstance(value.get("pattern"), str):
                yield value["pattern"]
            if isinstance(value.get("patternProperties"), dict):
                yield from (str(name) for name in value["patternProperties"])
            stack.extend(value.values())


def _check_pick(graph: Graph, node: Node, by_name: dict[str, Node]) -> list[Problem]:
    from chainstudio.core.graph.validation import Problem

    out: list[Problem] = []
    candidates = [graph.nodes[p] for p in graph.predecessors(node.id) if p in graph.nodes]
    if len(candidates) < 2:
        out.append(
            Problem("warning", node.name, f"picks among {len(candidates)} candidate(s); connect two or more", node.id)
        )
    score = str(node.param("score_field") or "").strip()
    if score:
        for candidate in candidates:
            schema = schema_or_none(str(candidate.param("output_schema") or "")) if candidate.kind == "llm" else None
            if schema is None or score not in declared_fields(schema):
                out.append(
                    Problem(
                        "error",
                        f"{node.name}.score_field",
                        f"candidate {candidate.name!r} declares no field {score!r} in an output schema",
                        node.id,
                        field="score_field",
                    )
                )
    elif not str(node.param("criteria") or "").strip():
        out.append(Problem("error", f"{node.name}.criteria", "the judge prompt is empty", node.id, field="criteria"))
    return out


def _check_reads(node: Node, by_name: dict[str, Node], structured: list[str]) -> list[Problem]:
    """Fields a template reads from a structured step that its schema does not declare."""
    from chainstudio.core.graph.kinds import NODE_KINDS
    from chainstudio.core.graph.validation import Problem

    kind = NODE_KINDS.get(node.kind)
    if kind is None:
        return []
    out: list[Problem] = []
    for spec in kind.template_fields:
        source_text = str(node.param(spec.name) or "")
        if not any(name in source_text for name in structured):
            continue
        for name, path in field_reads(source_text):
            source = by_name.get(name)
            if source is None or source.kind != "llm" or name in LOCAL_NAMES.get(spec.name, ()):
                continue
            schema = schema_or_none(str(source.param("output_schema") or ""))
            if schema is None:
                continue
            unknown = unknown_field(schema, path)
            if unknown is not None:
                fields = ", ".join(declared_fields(schema)) or "none"
                out.append(
                    Problem(
                        "error",
                        f"{node.name}.{spec.name}",
                        f"reads {name}.{unknown}, which {name}'s output schema does not declare (fields: {fields})",
                        node.id,
                        field=spec.name,
                    )
                )
    return out
