"""Graph inputs and the Input steps that show them are one concept with one name: the Input step ``topic``
exposes the graph input ``topic``, which templates read as ``{{ topic }}`` (the step's output) or
``{{ inputs.topic }}``. Renaming either renames both, with every reference to them, as one edit; adding an
Input step declares its input; deleting the step removes the input it alone exposed."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.commands import Batch, Command, RemoveNodes, Rename, SetGraphInfo
from chainstudio.core.editing.rules import CommandError, rename_problem
from chainstudio.core.graph.kinds import node_kind
from chainstudio.core.graph.model import Graph, GraphInput, Node, name_problem
from chainstudio.core.graph.templating import rename_input_references, rename_references
from chainstudio.core.graph.validation import input_name

__all__ = [
    "RenameInput",
    "exposing_steps",
    "remove_steps",
    "removed_inputs",
    "rename_input_problem",
    "rename_step",
    "step_problem",
]


def exposing_steps(graph: Graph, name: str) -> list[Node]:
    """The Input steps that expose the graph input ``name``."""
    return [n for n in graph.nodes.values() if n.kind == "input" and input_name(n) == name]


def _named_step(graph: Graph, old: str, step_id: str | None) -> Node | None:
    """The Input step that carries the input's name: ``step_id``, else the one named like it, else the first."""
    steps = exposing_steps(graph, old)
    if step_id is not None:
        return next((n for n in steps if n.id == step_id), None)
    return next((n for n in steps if n.name == old), steps[0] if steps else None)


def rename_input_problem(graph: Graph, old: str, new: str, step_id: str | None = None) -> str | None:
    """Why the graph input ``old`` (and the Input step showing it) cannot be called ``new``, or None."""
    reason = name_problem(new)
    if reason:
        return reason
    if new != old and graph.input_named(new) is not None:
        return f"another graph input is already named {new!r}"
    step = _named_step(graph, old, step_id)
    other = graph.node_by_name(new)
    if step is not None and other is not None and other.id != step.id:
        return f"another step is already named {new!r}"
    return None


def step_problem(graph: Graph, node_id: str, name: str) -> str | None:
    """Why step ``node_id`` cannot be called ``name`` (for an Input step, its graph input too), or None."""
    node = graph.nodes.get(node_id)
    if node is not None and node.kind == "input":
        return rename_input_problem(graph, input_name(node), name, node_id)
    return rename_problem(graph, node_id, name)


class RenameInput(Command):
    """Rename a graph input and the Input step showing it, and every ``{{ inputs.old }}`` and ``{{ old }}``
    in every template. An Input step whose input the graph does not declare gets it declared."""

    label = "Rename input"

    def __init__(self, old: str, new: str, step_id: str | None = None):
        self.old, self.new, self.step_id = old, new, step_id
        self._inputs: list[GraphInput] = []
        self._before: dict[str, tuple[str, dict[str, Any]]] = {}  # node id -> (name, params) before

    def apply(self, graph: Graph) -> Changes:
        reason = rename_input_problem(graph, self.old, self.new, self.step_id)
        if reason:
            raise CommandError(reason)
        self._inputs = copy.deepcopy(graph.inputs)
        self._before = {}

        def keep(node: Node) -> None:
            self._before.setdefault(node.id, (node.name, copy.deepcopy(node.params)))

        declared = graph.input_named(self.old)
        if declared is None:
            graph.inputs.append(GraphInput(self.new))
        else:
            declared.name = self.new
        step = _named_step(graph, self.old, self.step_id)
        for node in exposing_steps(graph, self.old):
            keep(node)
            node.params["input"] = self.new
        steps: dict[str, str] = {}
        if step is not None and step.name != self.new:
            steps[step.name] = self.new
            step.name = self.new
        for node in graph.nodes.values():
            for spec in node_kind(node.kind).template_fields:
                text = str(node.params.get(spec.name) or "")
                renamed = rename_input_references(rename_references(text, steps), {self.old: self.new})
                if renamed != text:
                    keep(node)
                    node.params[spec.name] = renamed
        return Changes(nodes_changed=set(self._before), graph_info=True)

    def undo(self, graph: Graph) -> Changes:
        graph.inputs = copy.deepcopy(self._inputs)
        for node_id, (name, params) in self._before.items():
            graph.nodes[node_id].name = name
            graph.nodes[node_id].params = copy.deepcopy(params)
        return Changes(nodes_changed=set(self._before), graph_info=True)


def rename_step(graph: Graph, node_id: str, name: str) -> Command:
    """The edit that renames step ``node_id``: for an Input step, its graph input goes with it."""
    node = graph.nodes.get(node_id)
    if node is not None and node.kind == "input":
        command = RenameInput(input_name(node), name, node_id)
        command.label = "Rename"
        return command
    return Rename(node_id, name)


def removed_inputs(graph: Graph, node_ids: Iterable[str]) -> set[str]:
    """The graph inputs that go with these steps: declared, and exposed by none of the steps that stay."""
    ids = set(node_ids)
    return {
        input_name(n)
        for n in graph.nodes.values()
        if n.id in ids
        and n.kind == "input"
        and graph.input_named(input_name(n)) is not None
        and all(s.id in ids for s in exposing_steps(graph, input_name(n)))
    }


def remove_steps(graph: Graph, node_ids: Iterable[str]) -> Command:
    """Remove steps (and their edges); a graph input exposed only by removed Input steps goes too."""
    ids = [n for n in graph.nodes if n in set(node_ids)]
    remove = RemoveNodes(ids)
    gone = removed_inputs(graph, ids)
    if not gone:
        return remove
    return Batch([remove, SetGraphInfo(inputs=[i for i in graph.inputs if i.name not in gone])], "Delete")
