"""The graph: plain, id-addressed data. Position is visual only; params are what affects a run."""

from __future__ import annotations

import copy
import keyword
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chainstudio.core.graph.kinds import node_kind

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Names a template cannot use for a step: Jinja2 literals/keywords and the graph-input namespace.
RESERVED_NAMES = frozenset(
    {
        "inputs",
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
        "loop",
        "self",
        "range",
        "dict",
        "lipsum",
        "cycler",
        "joiner",
        "namespace",
        "and",
        "or",
        "not",
        "in",
        "is",
        "if",
        "else",
        "for",
        "block",
        "import",
        "with",
    }
) | frozenset(keyword.kwlist)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a step or graph input, or None when it can."""
    if not name:
        return "a name is required"
    if not NAME_PATTERN.fullmatch(name):  # fullmatch: "$" would let a trailing newline through
        return f"{name!r} is not an identifier (letters, digits and _, not starting with a digit)"
    if name in RESERVED_NAMES:
        return f"{name!r} is reserved"
    return None


IMMUTABLE = (str, int, float, bool, type(None))


def _copied(value: Any) -> Any:
    """``value`` itself when nothing can change it (a string, a number, a tuple of those), else a deep copy."""
    if isinstance(value, IMMUTABLE) or (isinstance(value, tuple) and all(isinstance(v, IMMUTABLE) for v in value)):
        return value
    return copy.deepcopy(value)


@dataclass
class GraphInput:
    name: str
    default: str | None = None
    description: str = ""


@dataclass
class Node:
    id: str
    kind: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    position: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def create(
        cls, kind: str, name: str, position: tuple[float, float] = (0.0, 0.0), node_id: str | None = None, **params: Any
    ) -> Node:
        spec = node_kind(kind)
        values = spec.defaults()
        unknown = set(params) - set(values)
        if unknown:
            raise KeyError(f"{kind} nodes have no parameter(s) {', '.join(sorted(unknown))}")
        values.update(params)
        return cls(
            id=node_id or new_id("node"),
            kind=kind,
            name=name,
            params=values,
            position=(float(position[0]), float(position[1])),
        )

    def copy(self) -> Node:
        """An independent copy (its immutable values shared: see ``Graph.copy``)."""
        params = {key: _copied(value) for key, value in self.params.items()}
        return Node(self.id, self.kind, self.name, params, _copied(self.position))

    def param(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        return node_kind(self.kind).field(name).default


@dataclass(slots=True)
class Edge:
    """A dependency: ``target`` runs after ``source`` and receives its output. In slots (no ``__dict__``): a
    graph at the limits has 100,000 edges, and every run and estimate copies them."""

    id: str
    source: str
    target: str

    @classmethod
    def create(cls, source: str, target: str, edge_id: str | None = None) -> Edge:
        return cls(id=edge_id or new_id("edge"), source=source, target=target)


@dataclass(frozen=True)
class Pin:
    """A step's pinned output: runs use it instead of calling the model (see docs/concepts.md#pins).
    ``origin`` says where it came from: the id of the run it was taken from, or "" when typed by hand."""

    output: str
    origin: str = ""


@dataclass
class Graph:
    name: str = "untitled"
    description: str = ""
    inputs: list[GraphInput] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[str, Edge] = field(default_factory=dict)
    pins: dict[str, Pin] = field(default_factory=dict)  # node id -> pinned output (pins of removed nodes wait)
    save_pins: bool = False  # whether the file keeps the pins (the user's choice; set when a file had some)

    # --- building -------------------------------------------------------------------------
    def add_node(self, node: Node) -> Node:
        if node.id in self.nodes:
            raise KeyError(f"node id {node.id} already exists")
        self.nodes[node.id] = node
        return node

    def add(self, kind: str, name: str, position: tuple[float, float] = (0.0, 0.0), **params: Any) -> Node:
        return self.add_node(Node.create(kind, name, position, **params))

    def connect(self, source: str, target: str, edge_id: str | None = None) -> Edge:
        """Add an edge between two nodes given by id or by name."""
        edge = Edge.create(self.resolve(source).id, self.resolve(target).id, edge_id)
        self.edges[edge.id] = edge
        return edge

    def remove_node(self, node_id: str) -> list[Edge]:
        """Remove a node and the edges touching it; returns the removed edges."""
        removed = [e for e in self.edges.values() if node_id in (e.source, e.target)]
        for edge in removed:
            del self.edges[edge.id]
        del self.nodes[node_id]
        return removed

    # --- queries --------------------------------------------------------------------------
    def resolve(self, id_or_name: str) -> Node:
        if id_or_name in self.nodes:
            return self.nodes[id_or_name]
        node = self.node_by_name(id_or_name)
        if node is None:
            raise KeyError(f"no node with id or name {id_or_name!r}")
        return node

    def node_by_name(self, name: str) -> Node | None:
        for node in self.nodes.values():
            if node.name == name:
                return node
        return None

    def input_named(self, name: str) -> GraphInput | None:
        for graph_input in self.inputs:
            if graph_input.name == name:
                return graph_input
        return None

    def predecessors(self, node_id: str) -> list[str]:
        return [e.source for e in self.edges.values() if e.target == node_id]

    def successors(self, node_id: str) -> list[str]:
        return [e.target for e in self.edges.values() if e.source == node_id]

    def edges_between(self, source: str, target: str) -> Iterator[Edge]:
        return (e for e in self.edges.values() if e.source == source and e.target == target)

    def names(self) -> dict[str, str]:
        """Node id -> name."""
        return {node_id: node.name for node_id, node in self.nodes.items()}

    def unique_name(self, base: str, also_taken: Iterable[str] = ()) -> str:
        """``base`` made an identifier, with ``_2``, ``_3``... when a step (or a name in ``also_taken``) has it."""
        base = re.sub(r"\W", "_", base) or "step"
        if base[0].isdigit():
            base = f"step_{base}"
        taken = {node.name for node in self.nodes.values()} | set(also_taken)
        if base not in taken and base not in RESERVED_NAMES:
            return base
        i = 2
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    def pin_of(self, node_id: str) -> Pin | None:
        """The pin of a model step still in the graph (pins only apply to model steps)."""
        pin = self.pins.get(node_id)
        node = self.nodes.get(node_id)
        return pin if pin is not None and node is not None and node.kind == "llm" else None

    def live_pins(self) -> dict[str, Pin]:
        """The pins that apply: those of model steps still in the graph, in document order."""
        return {nid: pin for nid in self.nodes if (pin := self.pin_of(nid)) is not None}

    def copy(self) -> Graph:
        """A deep, independent snapshot (what a run executes). Made field by field: strings, numbers, tuples
        and pins cannot change, so the copy shares them; anything else is deep-copied. ``copy.deepcopy`` of the
        10,000-step graph kept a memo of every object (87 MB at its peak for a 17 MB copy) and took seconds."""
        return Graph(
            name=self.name,
            description=self.description,
            inputs=[GraphInput(i.name, i.default, i.description) for i in self.inputs],
            nodes={node_id: node.copy() for node_id, node in self.nodes.items()},
            edges={edge_id: Edge(e.id, e.source, e.target) for edge_id, e in self.edges.items()},
            pins=dict(self.pins),
            save_pins=self.save_pins,
        )
