"""Undoable edits of a Graph. Each command applies itself, undoes itself, and reports what it changed by id.

Commands touch only the model; the ``Document`` runs them and tells listeners (the canvas, the inspector)
what changed. No Qt here. The rules they keep are in ``rules``; auto-layout and paste build commands in
``layout`` and ``clipboard``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.rules import (
    CommandError,
    coerce_param,
    connect_problem,
    name_taken_problem,
    rename_problem,
)
from chainstudio.core.graph.kinds import node_kind
from chainstudio.core.graph.model import Edge, Graph, GraphInput, Node
from chainstudio.core.graph.templating import rename_references

Position = tuple[float, float]
__all__ = [
    "AddNode",
    "Batch",
    "Command",
    "CommandError",
    "Connect",
    "Disconnect",
    "MoveNodes",
    "Paste",
    "RemoveNodes",
    "Rename",
    "SetGraphInfo",
    "SetParam",
    "rename_in_templates",
]


_V = TypeVar("_V")
Taken = list[tuple[int, str, _V]]  # (position, key, value) of entries taken out of an ordered dict


# --- ordered dict helpers: undo puts things back where they were, so files stay identical ----------
def _take(mapping: dict[str, _V], keys: Iterable[str]) -> Taken[_V]:
    wanted = set(keys)
    taken = [(i, key, value) for i, (key, value) in enumerate(mapping.items()) if key in wanted]
    for _, key, _ in taken:
        del mapping[key]
    return taken


def _restore(mapping: dict[str, _V], taken: Taken[_V]) -> None:
    items = list(mapping.items())
    for index, key, value in sorted(taken, key=lambda t: t[0]):
        items.insert(index, (key, value))
    mapping.clear()
    mapping.update(items)


def _require(mapping: Mapping[str, object], ids: Iterable[str], what: str) -> None:
    """Refuse an edit of ids that are not (or no longer) in the graph."""
    missing = next((i for i in ids if i not in mapping), None)
    if missing is not None:
        raise CommandError(f"no {what} with id {missing!r}")


def rename_in_templates(node: Node, renames: Mapping[str, str]) -> dict[str, str]:
    """Rewrite the step names ``renames`` maps in ``node``'s templates; returns the changed fields' old text."""
    before: dict[str, str] = {}
    for spec in node_kind(node.kind).template_fields:
        text = str(node.params.get(spec.name) or "")
        renamed = rename_references(text, renames)
        if renamed != text:
            before[spec.name] = text
            node.params[spec.name] = renamed
    return before


# --- commands -------------------------------------------------------------------------------------
class Command:
    label = "Edit"

    def apply(self, graph: Graph) -> Changes:
        raise NotImplementedError

    def undo(self, graph: Graph) -> Changes:
        raise NotImplementedError

    def merge(self, later: Command) -> bool:
        """Absorb ``later`` (already applied right after self); True when merged."""
        return False


class AddNode(Command):
    label = "Add step"

    def __init__(self, node: Node):
        self.node = copy.deepcopy(node)

    def apply(self, graph: Graph) -> Changes:
        if self.node.id in graph.nodes:
            raise CommandError(f"node id {self.node.id} already exists")
        reason = name_taken_problem(graph, self.node.id, self.node.name)
        if reason:
            raise CommandError(reason)
        graph.add_node(self.node)
        return Changes(nodes_added={self.node.id})

    def undo(self, graph: Graph) -> Changes:
        del graph.nodes[self.node.id]
        return Changes(nodes_removed={self.node.id})


class RemoveNodes(Command):
    """Remove nodes and every edge touching them."""

    label = "Delete"

    def __init__(self, node_ids: Iterable[str]):
        self.node_ids = list(dict.fromkeys(node_ids))
        self._nodes: Taken[Node] = []
        self._edges: Taken[Edge] = []

    def apply(self, graph: Graph) -> Changes:
        _require(graph.nodes, self.node_ids, "step")
        ids = set(self.node_ids)
        touching = [e.id for e in graph.edges.values() if e.source in ids or e.target in ids]
        self._edges = _take(graph.edges, touching)
        self._nodes = _take(graph.nodes, ids)
        return Changes(nodes_removed=ids, edges_removed=set(touching))

    def undo(self, graph: Graph) -> Changes:
        _restore(graph.nodes, self._nodes)
        _restore(graph.edges, self._edges)
        return Changes(nodes_added={k for _, k, _ in self._nodes}, edges_added={k for _, k, _ in self._edges})


class Connect(Command):
    label = "Connect"

    def __init__(self, source: str, target: str, edge_id: str | None = None):
        self.edge = Edge.create(source, target, edge_id)

    def apply(self, graph: Graph) -> Changes:
        reason = connect_problem(graph, self.edge.source, self.edge.target)
        if reason:
            raise CommandError(reason)
        graph.edges[self.edge.id] = self.edge
        return Changes(edges_added={self.edge.id})

    def undo(self, graph: Graph) -> Changes:
        del graph.edges[self.edge.id]
        return Changes(edges_removed={self.edge.id})


class Disconnect(Command):
    label = "Disconnect"

    def __init__(self, edge_ids: Iterable[str]):
        self.edge_ids = list(dict.fromkeys(edge_ids))
        self._edges: Taken[Edge] = []

    def apply(self, graph: Graph) -> Changes:
        _require(graph.edges, self.edge_ids, "edge")
        self._edges = _take(graph.edges, self.edge_ids)
        return Changes(edges_removed=set(self.edge_ids))

    def undo(self, graph: Graph) -> Changes:
        _restore(graph.edges, self._edges)
        return Changes(edges_added=set(self.edge_ids))


class MoveNodes(Command):
    """Set node positions; consecutive moves of the same set of nodes merge into one undo step."""

    label = "Move"
    mergeable = True

    def __init__(self, positions: Mapping[str, Position]):
        self.positions = {k: (float(x), float(y)) for k, (x, y) in positions.items()}
        self._old: dict[str, Position] | None = None

    def apply(self, graph: Graph) -> Changes:
        _require(graph.nodes, self.positions, "step")
        if self._old is None:
            self._old = {n: graph.nodes[n].position for n in self.positions}
        for node_id, position in self.positions.items():
            graph.nodes[node_id].position = position
        return Changes(nodes_moved=set(self.positions))

    def undo(self, graph: Graph) -> Changes:
        for node_id, position in (self._old or {}).items():
            graph.nodes[node_id].position = position
        return Changes(nodes_moved=set(self.positions))

    def merge(self, later: Command) -> bool:
        if type(later) is MoveNodes and type(self) is MoveNodes and set(later.positions) == set(self.positions):
            self.positions = dict(later.positions)
            return True
        return False


class SetParam(Command):
    """Change one parameter; edits of the same field in one editing session merge."""

    def __init__(self, node_id: str, field_name: str, value: Any, session: object | None = None):
        self.node_id, self.field, self.value, self.session = node_id, field_name, value, session
        self.label = f"Edit {field_name}"
        self._had_old = False
        self._old: Any = None

    def apply(self, graph: Graph) -> Changes:
        _require(graph.nodes, [self.node_id], "step")
        node = graph.nodes[self.node_id]
        self.value = coerce_param(node.kind, self.field, self.value)
        self._had_old, self._old = self.field in node.params, node.params.get(self.field)
        node.params[self.field] = self.value
        return Changes(nodes_changed={self.node_id})

    def undo(self, graph: Graph) -> Changes:
        node = graph.nodes[self.node_id]
        if self._had_old:
            node.params[self.field] = self._old
        else:
            node.params.pop(self.field, None)
        return Changes(nodes_changed={self.node_id})

    def merge(self, later: Command) -> bool:
        if (
            isinstance(later, SetParam)
            and self.session is not None
            and later.session == self.session
            and (later.node_id, later.field) == (self.node_id, self.field)
        ):
            self.value = later.value
            return True
        return False


class Rename(Command):
    """Rename a step and the references to it in every template, as one edit."""

    label = "Rename"

    def __init__(self, node_id: str, name: str):
        self.node_id, self.name = node_id, name
        self._old = ""
        self._templates: dict[tuple[str, str], str] = {}  # (node id, field) -> text before the rename

    def apply(self, graph: Graph) -> Changes:
        _require(graph.nodes, [self.node_id], "step")
        reason = rename_problem(graph, self.node_id, self.name)
        if reason:
            raise CommandError(reason)
        node = graph.nodes[self.node_id]
        self._old, node.name = node.name, self.name
        self._templates = {
            (other.id, field_name): text
            for other in graph.nodes.values()
            for field_name, text in rename_in_templates(other, {self._old: self.name}).items()
        }
        return Changes(nodes_changed={self.node_id, *(n for n, _ in self._templates)})

    def undo(self, graph: Graph) -> Changes:
        graph.nodes[self.node_id].name = self._old
        for (node_id, field_name), text in self._templates.items():
            graph.nodes[node_id].params[field_name] = text
        return Changes(nodes_changed={self.node_id, *(n for n, _ in self._templates)})


class SetGraphInfo(Command):
    """Set the graph's name, description or inputs (None: left as it is); edits of the same attributes in
    one editing ``session`` (typing a description) merge into one undo step."""

    label = "Edit graph"

    def __init__(
        self,
        name: str | None = None,
        description: str | None = None,
        inputs: Iterable[GraphInput] | None = None,
        session: object | None = None,
    ):
        self.session = session
        self.new: dict[str, object] = {}  # attribute of Graph -> its new value
        if name is not None:
            self.new["name"] = name
        if description is not None:
            self.new["description"] = description
        if inputs is not None:
            self.new["inputs"] = copy.deepcopy(list(inputs))
        self._old: dict[str, object] = {}

    def apply(self, graph: Graph) -> Changes:
        self._old = {k: copy.deepcopy(getattr(graph, k)) for k in self.new}
        for key, value in self.new.items():
            setattr(graph, key, copy.deepcopy(value))
        return Changes(graph_info=True)

    def undo(self, graph: Graph) -> Changes:
        for key, value in self._old.items():
            setattr(graph, key, copy.deepcopy(value))
        return Changes(graph_info=True)

    def merge(self, later: Command) -> bool:
        if (
            isinstance(later, SetGraphInfo)
            and self.session is not None
            and later.session == self.session
            and set(later.new) == set(self.new)
        ):
            self.new = dict(later.new)
            return True
        return False


class Paste(Command):
    """Add ready-made nodes and edges (fresh ids, unique names) and any graph inputs they need."""

    label = "Paste"

    def __init__(self, nodes: Iterable[Node], edges: Iterable[Edge], inputs: Iterable[GraphInput] = ()):
        self.nodes, self.edges, self.inputs = list(nodes), list(edges), list(inputs)

    def apply(self, graph: Graph) -> Changes:
        for node in self.nodes:
            if node.id in graph.nodes or graph.node_by_name(node.name) is not None:
                raise CommandError(f"step {node.name!r} already exists")
        for node in self.nodes:
            graph.nodes[node.id] = node
        for edge in self.edges:
            graph.edges[edge.id] = edge
        graph.inputs.extend(self.inputs)
        return Changes(
            nodes_added={n.id for n in self.nodes}, edges_added={e.id for e in self.edges}, graph_info=bool(self.inputs)
        )

    def undo(self, graph: Graph) -> Changes:
        for edge in self.edges:
            del graph.edges[edge.id]
        for node in self.nodes:
            del graph.nodes[node.id]
        if self.inputs:
            del graph.inputs[len(graph.inputs) - len(self.inputs) :]
        return Changes(
            nodes_removed={n.id for n in self.nodes},
            edges_removed={e.id for e in self.edges},
            graph_info=bool(self.inputs),
        )


class Batch(Command):
    """Several commands as one undo step; all or nothing."""

    def __init__(self, commands: Iterable[Command], label: str = "Edit"):
        self.commands = list(commands)
        self.label = label

    def apply(self, graph: Graph) -> Changes:
        changes = Changes()
        done: list[Command] = []
        try:
            for command in self.commands:
                changes.update(command.apply(graph))
                done.append(command)
        except Exception:
            for command in reversed(done):
                command.undo(graph)
            raise
        return changes

    def undo(self, graph: Graph) -> Changes:
        changes = Changes()
        for command in reversed(self.commands):
            changes.update(command.undo(graph))
        return changes
