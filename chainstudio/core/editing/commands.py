"""Undoable edits of a Graph. Each command applies itself, undoes itself, and reports what it changed by id.

Commands touch only the model; the ``Document`` runs them and tells listeners (the canvas, the inspector)
what changed. No Qt here.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import networkx as nx

from chainstudio.core.graph.analysis import CycleError, dependency_graph, layers
from chainstudio.core.graph.model import Edge, Graph, GraphInput, Node, name_problem
from chainstudio.core.graph.kinds import NODE_KINDS, node_kind

Position = tuple[float, float]
COLUMN_GAP = 300.0  # auto-layout: distance between layer columns
ROW_GAP = 170.0  # auto-layout: distance between nodes of one layer


class CommandError(ValueError):
    """An edit that cannot be made; the message says why in a plain sentence."""


@dataclass
class Changes:
    """What an edit changed, by id. ``reset`` means the whole graph was replaced."""

    nodes_added: set[str] = field(default_factory=set)
    nodes_removed: set[str] = field(default_factory=set)
    nodes_changed: set[str] = field(default_factory=set)  # name or params
    nodes_moved: set[str] = field(default_factory=set)
    edges_added: set[str] = field(default_factory=set)
    edges_removed: set[str] = field(default_factory=set)
    graph_info: bool = False  # name, description or graph inputs
    reset: bool = False

    def update(self, other: "Changes") -> "Changes":
        """Fold ``other`` (which happened after self) into self. Listeners check an added or removed
        id against the graph, so an id both added and removed is simply looked up."""
        for name in ("nodes_added", "nodes_removed", "nodes_changed", "nodes_moved", "edges_added",
                     "edges_removed"):
            getattr(self, name).update(getattr(other, name))
        self.graph_info |= other.graph_info
        self.reset |= other.reset
        return self

    @property
    def structure(self) -> bool:
        """Nodes or edges were added or removed (layers and edge styles may differ)."""
        return bool(self.nodes_added or self.nodes_removed or self.edges_added or self.edges_removed
                    or self.reset)

    def __bool__(self) -> bool:
        return self.structure or bool(self.nodes_changed or self.nodes_moved or self.graph_info)


# --- ordered dict helpers: undo puts things back where they were, so files stay identical ----------
def _take(mapping: dict[str, Any], keys: Iterable[str]) -> list[tuple[int, str, Any]]:
    wanted = set(keys)
    taken = [(i, key, value) for i, (key, value) in enumerate(mapping.items()) if key in wanted]
    for _, key, _ in taken:
        del mapping[key]
    return taken


def _restore(mapping: dict[str, Any], taken: list[tuple[int, str, Any]]) -> None:
    items = list(mapping.items())
    for index, key, value in sorted(taken, key=lambda t: t[0]):
        items.insert(index, (key, value))
    mapping.clear()
    mapping.update(items)


# --- rules ----------------------------------------------------------------------------------------
def connect_problem(graph: Graph, source: str, target: str) -> str | None:
    """Why ``source -> target`` (node ids) cannot be connected, or None when it can."""
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
    dag = dependency_graph(graph)
    if nx.has_path(dag, target, source):
        path = [graph.nodes[n].name for n in nx.shortest_path(dag, target, source)]
        return f"{src.name} -> {dst.name} would make a cycle ({' -> '.join(path + [path[0]])})"
    return None


def rename_problem(graph: Graph, node_id: str, name: str) -> str | None:
    """Why node ``node_id`` cannot be called ``name``, or None when it can."""
    reason = name_problem(name)
    if reason:
        return reason
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


# --- commands -------------------------------------------------------------------------------------
class Command:
    label = "Edit"

    def apply(self, graph: Graph) -> Changes:
        raise NotImplementedError

    def undo(self, graph: Graph) -> Changes:
        raise NotImplementedError

    def merge(self, later: "Command") -> bool:
        """Absorb ``later`` (already applied right after self); True when merged."""
        return False


class AddNode(Command):
    label = "Add step"

    def __init__(self, node: Node):
        self.node = copy.deepcopy(node)

    def apply(self, graph: Graph) -> Changes:
        if self.node.id in graph.nodes:
            raise CommandError(f"node id {self.node.id} already exists")
        if graph.node_by_name(self.node.name) is not None:
            raise CommandError(f"another step is already named {self.node.name!r}")
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
        self._nodes: list[tuple[int, str, Any]] = []
        self._edges: list[tuple[int, str, Any]] = []

    def apply(self, graph: Graph) -> Changes:
        missing = [n for n in self.node_ids if n not in graph.nodes]
        if missing:
            raise CommandError(f"no step with id {missing[0]!r}")
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
        self._edges: list[tuple[int, str, Any]] = []

    def apply(self, graph: Graph) -> Changes:
        missing = [e for e in self.edge_ids if e not in graph.edges]
        if missing:
            raise CommandError(f"no edge with id {missing[0]!r}")
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
        missing = [n for n in self.positions if n not in graph.nodes]
        if missing:
            raise CommandError(f"no step with id {missing[0]!r}")
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
        if (type(later) is MoveNodes and type(self) is MoveNodes
                and set(later.positions) == set(self.positions)):
            self.positions = dict(later.positions)
            return True
        return False


class AutoLayout(MoveNodes):
    """Nodes in columns by parallel layer; within a column, ordered by their predecessors' height."""

    label = "Auto-layout"

    def __init__(self, graph: Graph, origin: Position = (0.0, 0.0)):
        super().__init__(auto_layout_positions(graph, origin))


def auto_layout_positions(graph: Graph, origin: Position = (0.0, 0.0)) -> dict[str, Position]:
    try:
        groups = layers(graph)
    except CycleError:
        raise CommandError("cannot lay out a graph with a cycle; remove an edge of the cycle first") from None
    positions: dict[str, Position] = {}
    for column, group in enumerate(groups):
        def barycentre(node_id: str) -> float:
            ys = [positions[p][1] for p in graph.predecessors(node_id) if p in positions]
            return sum(ys) / len(ys) if ys else graph.nodes[node_id].position[1]

        ordered = sorted(group, key=barycentre) if column else group
        for row, node_id in enumerate(ordered):
            positions[node_id] = (origin[0] + column * COLUMN_GAP,
                                  origin[1] + (row - (len(ordered) - 1) / 2) * ROW_GAP)
    return positions


class SetParam(Command):
    """Change one parameter; edits of the same field in one editing session merge."""

    def __init__(self, node_id: str, field_name: str, value: Any, session: object | None = None):
        self.node_id, self.field, self.value, self.session = node_id, field_name, value, session
        self.label = f"Edit {field_name}"
        self._had_old = False
        self._old: Any = None

    def apply(self, graph: Graph) -> Changes:
        node = graph.nodes.get(self.node_id)
        if node is None:
            raise CommandError(f"no step with id {self.node_id!r}")
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
        if (isinstance(later, SetParam) and self.session is not None and later.session == self.session
                and (later.node_id, later.field) == (self.node_id, self.field)):
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
        if self.node_id not in graph.nodes:
            raise CommandError(f"no step with id {self.node_id!r}")
        reason = rename_problem(graph, self.node_id, self.name)
        if reason:
            raise CommandError(reason)
        node = graph.nodes[self.node_id]
        self._old, node.name = node.name, self.name
        changed = {self.node_id}
        self._templates = {}
        for other in graph.nodes.values():
            for spec in node_kind(other.kind).template_fields:
                text = str(other.params.get(spec.name) or "")
                renamed = rename_references(text, {self._old: self.name})
                if renamed != text:
                    self._templates[(other.id, spec.name)] = text
                    other.params[spec.name] = renamed
                    changed.add(other.id)
        return Changes(nodes_changed=changed)

    def undo(self, graph: Graph) -> Changes:
        graph.nodes[self.node_id].name = self._old
        for (node_id, field_name), text in self._templates.items():
            graph.nodes[node_id].params[field_name] = text
        return Changes(nodes_changed={self.node_id, *(n for n, _ in self._templates)})


_UNSET: Any = object()


class SetGraphInfo(Command):
    label = "Edit graph"

    def __init__(self, name: str = _UNSET, description: str = _UNSET, inputs: list[GraphInput] = _UNSET):
        self.new = {k: v for k, v in (("name", name), ("description", description), ("inputs", inputs))
                    if v is not _UNSET}
        if "inputs" in self.new:
            self.new["inputs"] = copy.deepcopy(list(self.new["inputs"]))
        self._old: dict[str, Any] = {}

    def apply(self, graph: Graph) -> Changes:
        self._old = {k: copy.deepcopy(getattr(graph, k)) for k in self.new}
        for key, value in self.new.items():
            setattr(graph, key, copy.deepcopy(value))
        return Changes(graph_info=True)

    def undo(self, graph: Graph) -> Changes:
        for key, value in self._old.items():
            setattr(graph, key, copy.deepcopy(value))
        return Changes(graph_info=True)


class Paste(Command):
    """Add ready-made nodes and edges (fresh ids, unique names) and any graph inputs they need."""

    label = "Paste"

    def __init__(self, nodes: list[Node], edges: list[Edge], inputs: list[GraphInput] = ()):
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
        return Changes(nodes_added={n.id for n in self.nodes}, edges_added={e.id for e in self.edges},
                       graph_info=bool(self.inputs))

    def undo(self, graph: Graph) -> Changes:
        for edge in self.edges:
            del graph.edges[edge.id]
        for node in self.nodes:
            del graph.nodes[node.id]
        if self.inputs:
            del graph.inputs[len(graph.inputs) - len(self.inputs):]
        return Changes(nodes_removed={n.id for n in self.nodes}, edges_removed={e.id for e in self.edges},
                       graph_info=bool(self.inputs))


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


# --- copy and paste ---------------------------------------------------------------------------------
def subgraph(graph: Graph, node_ids: Iterable[str]) -> Graph:
    """A detached copy of the given nodes, the edges among them and the graph inputs they expose."""
    ids = [n for n in graph.nodes if n in set(node_ids)]
    part = Graph(name=graph.name, description="")
    for node_id in ids:
        part.nodes[node_id] = copy.deepcopy(graph.nodes[node_id])
    for edge in graph.edges.values():
        if edge.source in part.nodes and edge.target in part.nodes:
            part.edges[edge.id] = copy.deepcopy(edge)
    exposed = {n.param("input") or n.name for n in part.nodes.values() if n.kind == "input"}
    part.inputs = [copy.deepcopy(i) for i in graph.inputs if i.name in exposed]
    return part


_TAG = re.compile(r"({{.*?}}|{%.*?%})", re.S)


def rename_references(source: str, renames: Mapping[str, str]) -> str:
    """``source`` with step names inside ``{{ }}`` / ``{% %}`` tags renamed."""
    if not renames or not source:
        return source
    pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, renames)) + r")(?!\w)")
    return _TAG.sub(lambda m: pattern.sub(lambda n: renames[n.group(1)], m.group(0)), source)


def paste_command(graph: Graph, clip: Graph, offset: Position = (40.0, 40.0)) -> Paste:
    """A Paste of ``clip`` into ``graph``: fresh ids, unique names (references follow), shifted."""
    probe = Graph(nodes=dict(graph.nodes))  # names taken so far, including the pasted ones
    ids: dict[str, str] = {}
    renames: dict[str, str] = {}
    nodes: list[Node] = []
    for node in clip.nodes.values():
        if node.kind not in NODE_KINDS:
            continue
        new = Node.create(node.kind, probe.unique_name(node.name),
                          (node.position[0] + offset[0], node.position[1] + offset[1]))
        new.params.update(copy.deepcopy(node.params))
        ids[node.id] = new.id
        if new.name != node.name:
            renames[node.name] = new.name
        probe.nodes[new.id] = new
        nodes.append(new)
    for node in nodes:
        spec = node_kind(node.kind)
        for template in spec.template_fields:
            node.params[template.name] = rename_references(str(node.param(template.name) or ""), renames)
    edges = [Edge.create(ids[e.source], ids[e.target]) for e in clip.edges.values()
             if e.source in ids and e.target in ids]
    existing = {i.name for i in graph.inputs}
    inputs = [copy.deepcopy(i) for i in clip.inputs if i.name not in existing]
    return Paste(nodes, edges, inputs)
