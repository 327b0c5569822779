"""The edit rules: what may be connected, what a step may be called, what a parameter may hold.

Each ``*_problem`` function only asks: it returns why an edit would be refused, or None. Commands apply the
same rules and raise ``CommandError`` with that reason.
"""

from __future__ import annotations

from typing import Any

from chainstudio.core.errors import Refused
from chainstudio.core.graph.analysis import Analysis
from chainstudio.core.graph.kinds import node_kind
from chainstudio.core.graph.model import Graph, name_problem


class CommandError(Refused, ValueError):
    """An edit that cannot be made; the message says why in a plain sentence."""


def connect_problem(graph: Graph, source: str, target: str, analysis: Analysis | None = None) -> str | None:
    """Why ``source -> target`` (node ids) cannot be connected, or None when it can. ``analysis``: the
    graph's current one, when the caller has it (a drag asks many times per revision)."""
    if source not in graph.nodes or target not in graph.nodes:
        return "both ends must be steps of this graph"
    src, dst = graph.nodes[source], graph.nodes[target]
    if source == target:
        return f"{src.name} cannot depend on itself (self-loop)"
    if not node_kind(src.kind).has_output_port:
        return f"{src.kind} steps have no outgoing edges"
    if not node_kind(dst.kind).has_input_port:
        return f"{dst.kind} steps take no incoming edges"
    if any(True for _ in graph.edges_between(source, target)):
        return f"{src.name} -> {dst.name} is already connected (duplicate edge)"
    back = (analysis if analysis is not None else Analysis(graph)).path(target, source)
    if back is not None:
        path = [graph.nodes[n].name for n in back]
        return f"{src.name} -> {dst.name} would make a cycle ({' -> '.join(path + [path[0]])})"
    return None


def rename_problem(graph: Graph, node_id: str, name: str) -> str | None:
    """Why node ``node_id`` cannot be called ``name``, or None when it can."""
    return name_problem(name) or name_taken_problem(graph, node_id, name)


def name_taken_problem(graph: Graph, node_id: str, name: str) -> str | None:
    """Why ``name`` is not free for node ``node_id`` (another step has it), or None when it is."""
    other = graph.node_by_name(name)
    if other is not None and other.id != node_id:
        return f"another step is already named {name!r}"
    return None


def coerce_param(kind: str, field_name: str, value: Any) -> Any:
    """``value`` converted to the field's type and checked against its bounds; CommandError if not."""
    try:
        spec = node_kind(kind).field(field_name)
    except KeyError:
        raise CommandError(f"{kind} steps have no parameter {field_name!r}") from None
    try:
        value = spec.type(value)
    except (TypeError, ValueError):
        raise CommandError(f"{spec.label} must be a {spec.type.__name__}") from None
    if spec.minimum is not None and value < spec.minimum:
        raise CommandError(f"{spec.label} must be at least {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise CommandError(f"{spec.label} must be at most {spec.maximum:g}")
    return value
