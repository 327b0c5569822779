"""Validation rules of the map and route steps (issue 15), beyond their fields and templates.

A map needs a list (``over``) and a per-item prompt; its prompt and system prompt may read ``item`` and
``index`` (``LOCAL_NAMES``). A route in expression mode needs its expression; in classify mode it needs a
prompt and labels, each label (and the fallback) the name of one of its direct downstream steps.
"""

from __future__ import annotations

import re

from chainstudio.core.graph.kinds import MAP_ERROR_POLICIES, ROUTE_MODES
from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.graph.validation import Problem

ITEM_NAMES = frozenset({"item", "index"})


def local_names(node: Node, field: str) -> frozenset[str]:
    """Names a template of ``node`` may read that are no steps: a map item's ``item`` and ``index``."""
    return ITEM_NAMES if node.kind == "map" and field in ("prompt", "system") else frozenset()


def _labels(node: Node) -> list[str]:
    return [p.strip() for p in re.split(r"[,\n]", str(node.param("labels") or "")) if p.strip()]


def check_flow(graph: Graph) -> list[Problem]:
    out: list[Problem] = []
    successors: dict[str, list[str]] = {}
    for edge in graph.edges.values():
        target = graph.nodes.get(edge.target)
        if target is not None:
            successors.setdefault(edge.source, []).append(target.name)
    for node in graph.nodes.values():
        if node.kind == "map":
            out += _check_map(node)
        elif node.kind == "route":
            out += _check_route(node, successors.get(node.id, []))
    return out


def _empty(node: Node, field: str, what: str) -> Problem:
    return Problem("error", f"{node.name}.{field}", what, node.id, field=field)


def _check_map(node: Node) -> list[Problem]:
    out = []
    if not str(node.param("over")).strip():
        out.append(_empty(node, "over", "the list to map over is empty (e.g. {{ extract }})"))
    if not str(node.param("prompt")).strip():
        out.append(_empty(node, "prompt", "the prompt is empty (it reads {{ item }} and {{ index }})"))
    if node.param("on_item_error") not in MAP_ERROR_POLICIES:
        out.append(_empty(node, "on_item_error", f"choose one of {', '.join(MAP_ERROR_POLICIES)}"))
    return out


def _check_route(node: Node, branches: list[str]) -> list[Problem]:
    out = []
    mode = node.param("mode")
    if mode not in ROUTE_MODES:
        return [_empty(node, "mode", f"choose one of {', '.join(ROUTE_MODES)}")]
    if not branches:
        out.append(Problem("warning", node.name, "the route has no downstream steps to choose from", node.id))
    if mode == "expression":
        if not str(node.param("expression")).strip():
            out.append(_empty(node, "expression", "the expression is empty (it names the branches to run)"))
        return out
    if not str(node.param("prompt")).strip():
        out.append(_empty(node, "prompt", "the prompt is empty (what the model classifies)"))
    labels = _labels(node)
    if not labels:
        out.append(_empty(node, "labels", "classify mode needs labels, each the name of a downstream step"))
    for label in labels:
        if label not in branches:
            out.append(
                _empty(node, "labels", f"label {label!r} is not a downstream step ({', '.join(branches) or 'none'})")
            )
    fallback = str(node.param("fallback") or "").strip()
    if fallback and fallback not in branches:
        out.append(_empty(node, "fallback", f"fallback {fallback!r} is not a downstream step"))
    return out
