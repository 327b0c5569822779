"""The one home of the graph algorithms: layers, topological order, longest remaining paths and the critical
path, ancestry, cycles and paths between steps. Over 400 lines because each has its one home here, with the
part-at-a-time forms (``..._parts``) that the window's sliced pass runs.

Everything works on a ``Dag``: node ids in a given order with their predecessors and successors (edges
deduplicated, dangling ones ignored), built from a ``Graph`` (``Dag.of_graph``) or from plain ids and edges
(``Dag.of_edges``, e.g. a run's ``RunStarted``). ``Analysis`` holds what the editor asks about one graph
revision (layers, ancestry, cycles), computed lazily and at most once; ``Document.analysis`` keeps one per
revision so the canvas, the inspector, the status bar and validation share it.

Ties are broken by order: among equally long branches the critical path takes the first root and the first
successor in the ``Dag``'s order (or by ``rank`` when one is given). All algorithms are O(nodes + edges)
(ancestry as bitsets), so a 10,000-step graph stays cheap.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Container, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

import networkx as nx

from chainstudio.core.errors import ChainStudioError
from chainstudio.core.graph.model import Graph

T = TypeVar("T")


class once(Generic[T]):  # noqa: N801 - a decorator, named like one
    """``functools.cached_property`` without its lock: on Python 3.11 that lock is one per property for
    every instance, so the window's thread asking a revision's layers waited for a worker computing another
    revision's (validation on a worker thread). Two threads asking one instance at once both compute it."""

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> once[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | once[T]:
        if instance is None:  # asked of the class
            return self
        value = self.func(instance)
        instance.__dict__[self.name] = value  # found there from now on (this is not a data descriptor)
        return value


class CycleError(ChainStudioError, ValueError):
    """The graph has a cycle, so it has no layers and cannot run."""


PART = 2_000  # edges or nodes handled between two yields of the ``..._parts`` generators (a few ms)


def _finished(parts: Generator[None, None, T]) -> T:
    """What a ``..._parts`` generator returns, run to its end at once."""
    while True:
        try:
            next(parts)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Dag:
    """Dependencies as adjacency lists. ``ids`` fixes the order (document order for a Graph); ``preds`` and
    ``succs`` list each neighbour once, in edge order."""

    ids: tuple[str, ...]
    preds: Mapping[str, tuple[str, ...]]
    succs: Mapping[str, tuple[str, ...]]

    @classmethod
    def of_edges(cls, ids: Iterable[str], edges: Iterable[tuple[str, str]]) -> Dag:
        return _finished(cls.of_edges_parts(ids, edges))

    @classmethod
    def of_edges_parts(cls, ids: Iterable[str], edges: Iterable[tuple[str, str]]) -> Generator[None, None, Dag]:
        """``of_edges``, yielding after every PART edges (the window's loop turns in between)."""
        order = tuple(ids)
        preds: dict[str, list[str]] = {nid: [] for nid in order}
        succs: dict[str, list[str]] = {nid: [] for nid in order}
        # sets, not ``in succs[source]``: a wide fan-out was quadratic; a set per node rather than one set of
        # 100,000 pairs, whose freeing at the end held the window's thread 50-70 ms in one go
        seen: dict[str, set[str]] = {nid: set() for nid in order}
        for i, (source, target) in enumerate(edges, 1):
            if source in preds and target in preds and target not in seen[source]:
                seen[source].add(target)
                preds[target].append(source)
                succs[source].append(target)
            if i % PART == 0:
                yield
        yield
        frozen_preds = {k: tuple(v) for k, v in preds.items()}
        yield
        return cls(order, frozen_preds, {k: tuple(v) for k, v in succs.items()})

    @classmethod
    def of_graph(cls, graph: Graph) -> Dag:
        return _finished(cls.of_graph_parts(graph))

    @classmethod
    def of_graph_parts(cls, graph: Graph) -> Generator[None, None, Dag]:
        return cls.of_edges_parts(graph.nodes, ((e.source, e.target) for e in graph.edges.values()))

    @property
    def roots(self) -> list[str]:
        return [nid for nid in self.ids if not self.preds[nid]]


# --- order ------------------------------------------------------------------------------------------------
def generations(dag: Dag) -> list[list[str]]:
    """Topological generations (Kahn, level by level), each in the Dag's order; CycleError on a cycle.
    A self-loop counts as a cycle."""
    return _finished(generations_parts(dag))


def generations_parts(dag: Dag) -> Generator[None, None, list[list[str]]]:
    """``generations``, yielding after about every PART nodes and edges visited."""
    position = {nid: i for i, nid in enumerate(dag.ids)}
    waiting = {nid: len(dag.preds[nid]) for nid in dag.ids}
    current = [nid for nid in dag.ids if waiting[nid] == 0]
    groups: list[list[str]] = []
    placed = visited = 0
    while current:
        groups.append(current)
        placed += len(current)
        following: list[str] = []
        for nid in current:
            succs = dag.succs[nid]
            for succ in succs:
                waiting[succ] -= 1
                if waiting[succ] == 0:
                    following.append(succ)
            visited += len(succs) + 1
            if visited >= PART:
                visited = 0
                yield
        current = sorted(following, key=position.__getitem__)
    if placed != len(dag.ids):
        raise CycleError("the graph has a cycle")
    return groups


def topological_order(dag: Dag) -> list[str]:
    """A deterministic topological order: generation by generation, the Dag's order within each."""
    return [nid for group in generations(dag) for nid in group]


# --- longest paths --------------------------------------------------------------------------------------------
def remaining_times(
    dag: Dag,
    durations: Mapping[str, float],
    order: Sequence[str] | None = None,
    among: Container[str] | None = None,
) -> dict[str, float]:
    """For each node, the longest duration-weighted path from its start to the end of the graph.
    ``order``: a topological order when the caller has one already; ``among``: only these nodes are on paths
    (the others are left out, and so are the paths through them)."""
    return _finished(remaining_times_parts(dag, durations, order, among))


def remaining_times_parts(
    dag: Dag,
    durations: Mapping[str, float],
    order: Sequence[str] | None = None,
    among: Container[str] | None = None,
) -> Generator[None, None, dict[str, float]]:
    """``remaining_times``, yielding after about every PART nodes and edges visited."""
    remaining: dict[str, float] = {}
    visited = 0
    for nid in reversed(order if order is not None else topological_order(dag)):
        if among is not None and nid not in among:
            continue
        succs = dag.succs[nid]
        tail = max((remaining[s] for s in succs if s in remaining), default=0.0)
        remaining[nid] = float(durations.get(nid, 0.0)) + tail
        visited += len(succs) + 1
        if visited >= PART:
            visited = 0
            yield
    return remaining


def longest_path(
    dag: Dag,
    durations: Mapping[str, float],
    *,
    remaining: Mapping[str, float] | None = None,
    rank: Mapping[str, int] | None = None,
    among: Container[str] | None = None,
) -> tuple[list[str], float]:
    """The chain of dependent nodes with the largest total duration, and that total. Ties go to the first
    root / successor in the Dag's order, or to the lowest ``rank``. ``among``: a chain of these nodes only
    (``remaining``, when given, must have been computed with the same ``among``)."""
    left = remaining if remaining is not None else remaining_times(dag, durations, among=among)
    if len(left) == len(dag.ids):
        roots = dag.roots
    else:  # some nodes are left out: a root is a node none of whose predecessors is kept
        roots = [nid for nid in dag.ids if nid in left and not any(p in left for p in dag.preds[nid])]
    if not roots:
        return [], 0.0

    def best(candidates: Iterable[str]) -> str:
        if rank is None:
            return max(candidates, key=left.__getitem__)
        return max(candidates, key=lambda n: (left[n], -rank[n]))

    current = best(roots)
    path = [current]
    while following := [s for s in dag.succs[current] if s in left]:
        current = best(following)
        path.append(current)
    return path, left[path[0]]


# --- ancestry ---------------------------------------------------------------------------------------------------
def ancestor_bits(dag: Dag, order: Sequence[str], index: Mapping[str, int]) -> dict[str, int]:
    """For each node, a bitset (over ``index``) of its ancestors, built along a topological ``order``."""
    bits: dict[str, int] = {}
    for nid in order:
        value = 0
        for pred in dag.preds[nid]:
            value |= bits[pred] | (1 << index[pred])
        bits[nid] = value
    return bits


def upstream(dag: Dag, node_id: str) -> set[str]:
    """Every other node with a path to ``node_id`` (works on graphs with cycles too)."""
    seen: set[str] = set()
    todo = deque(dag.preds.get(node_id, ()))
    while todo:
        nid = todo.popleft()
        if nid not in seen:
            seen.add(nid)
            todo.extend(dag.preds[nid])
    seen.discard(node_id)
    return seen


def downstream(dag: Dag, node_id: str) -> set[str]:
    """Every other node ``node_id`` has a path to (its descendants)."""
    return upstream(Dag(dag.ids, dag.succs, dag.preds), node_id)


def path_between(dag: Dag, source: str, target: str) -> list[str] | None:
    """A shortest path source -> ... -> target (breadth first), or None when there is none."""
    if source not in dag.succs or target not in dag.succs:
        return None
    came_from: dict[str, str | None] = {source: None}
    todo = deque([source])
    while todo:
        nid = todo.popleft()
        if nid == target:
            path = [nid]
            while (previous := came_from[path[-1]]) is not None:
                path.append(previous)
            return path[::-1]
        for succ in dag.succs[nid]:
            if succ not in came_from:
                came_from[succ] = nid
                todo.append(succ)
    return None


# --- one graph revision ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cycle:
    """Steps that depend on each other in a cycle: the component, and one cycle through it (as a path)."""

    members: frozenset[str]
    path: tuple[str, ...]  # first node repeated at the end


@dataclass(frozen=True)
class LayerStats:
    nodes: int
    edges: int
    layers: int
    widest: int


class Analysis:
    """What the editor, validation and planning ask about one graph revision, each computed at most once.
    The graph must not change while the analysis is in use (``Document.analysis`` makes a new one per edit)."""

    def __init__(self, graph: Graph, dag: Dag | None = None) -> None:
        self.graph = graph
        self.dag = dag if dag is not None else Dag.of_graph(graph)

    @classmethod
    def parts(cls, graph: Graph) -> Generator[None, None, Analysis]:
        """An analysis with its layers found, a part at a time (``Document.find_analysis``)."""
        analysis = cls(graph, (yield from Dag.of_graph_parts(graph)))
        try:
            analysis.__dict__["_generations"] = yield from generations_parts(analysis.dag)
        except CycleError:
            analysis.__dict__["_generations"] = None
        return analysis

    @once
    def _generations(self) -> list[list[str]] | None:
        try:
            return generations(self.dag)
        except CycleError:
            return None

    @property
    def acyclic(self) -> bool:
        return self._generations is not None

    @property
    def layers(self) -> list[list[str]]:
        """Groups of node ids that can run in parallel, in order; CycleError when there is a cycle."""
        if self._generations is None:
            raise CycleError("the graph has a cycle")
        return self._generations

    @once
    def layer_of(self) -> dict[str, int]:
        return {nid: i for i, layer in enumerate(self.layers) for nid in layer}

    @once
    def _ancestry(self) -> dict[str, int] | None:
        if self._generations is None:
            return None
        index = {nid: i for i, nid in enumerate(self.dag.ids)}
        return ancestor_bits(self.dag, [n for layer in self._generations for n in layer], index)

    @once
    def _index(self) -> dict[str, int]:
        return {nid: i for i, nid in enumerate(self.dag.ids)}

    def is_ancestor(self, candidate: str, node_id: str) -> bool:
        """Whether ``candidate`` is upstream of ``node_id`` (bitsets; a graph walk when there is a cycle)."""
        if self._ancestry is not None:
            return bool(self._ancestry[node_id] >> self._index[candidate] & 1)
        return candidate in self.ancestors(node_id)

    def ancestors(self, node_id: str) -> set[str]:
        if self._ancestry is None:
            return upstream(self.dag, node_id)
        bits = self._ancestry.get(node_id, 0)
        return {nid for nid in self.dag.ids if bits >> self._index[nid] & 1}

    def path(self, source: str, target: str) -> list[str] | None:
        return path_between(self.dag, source, target)

    @once
    def cycles(self) -> list[Cycle]:
        """Each set of steps that depend on each other in a cycle (self-loops left out: validation names
        those apart), with one cycle through it."""
        if self._generations is not None:
            return []
        dag = dependency_graph(self.graph)
        dag.remove_edges_from(list(nx.selfloop_edges(dag)))
        found = []
        for component in nx.strongly_connected_components(dag):
            if len(component) < 2:
                continue
            cycle = nx.find_cycle(dag.subgraph(component))
            found.append(Cycle(frozenset(component), (*(u for u, _ in cycle), cycle[0][0])))
        return found

    def stats(self) -> LayerStats:
        groups = self.layers
        return LayerStats(
            nodes=len(self.graph.nodes),
            edges=len(self.graph.edges),
            layers=len(groups),
            widest=max((len(g) for g in groups), default=0),
        )


# --- the same, for one-off callers ------------------------------------------------------------------------------
def dependency_graph(graph: Graph) -> nx.DiGraph[str]:
    """A networkx view: node ids as vertices (in document order), edges as dependencies; dangling edges are
    ignored. For the algorithms networkx does best (strongly connected components) and for tests."""
    dag: nx.DiGraph[str] = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    dag.add_edges_from(
        (e.source, e.target) for e in graph.edges.values() if e.source in graph.nodes and e.target in graph.nodes
    )
    return dag


def layers(graph: Graph) -> list[list[str]]:
    """Groups of node ids that can run in parallel, in order; within a layer, document order."""
    return generations(Dag.of_graph(graph))


def layer_index(graph: Graph) -> dict[str, int]:
    return {node_id: i for i, layer in enumerate(layers(graph)) for node_id in layer}


def remaining_path(graph: Graph, durations: Mapping[str, float]) -> dict[str, float]:
    """For each node, the longest duration-weighted path from its start to the end of the graph."""
    return remaining_times(Dag.of_graph(graph), durations)


def critical_path(graph: Graph, durations: Mapping[str, float]) -> tuple[list[str], float]:
    """The chain of dependent nodes with the largest total duration, and that total (ties: document order)."""
    return longest_path(Dag.of_graph(graph), durations, rank={nid: i for i, nid in enumerate(graph.nodes)})


def stats(graph: Graph) -> LayerStats:
    return Analysis(graph).stats()
