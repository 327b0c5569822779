"""What an edit would break: the template references left dangling when steps are deleted, and those whose
step would no longer be upstream once steps or edges are deleted."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from chainstudio.core.editing.inputs import removed_inputs
from chainstudio.core.graph.analysis import Dag, upstream
from chainstudio.core.graph.kinds import NODE_KINDS
from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.graph.templating import References, TemplateProblem, references


@dataclass(frozen=True)
class DanglingReference:
    """Step ``node_name``'s field ``field`` refers to ``name`` (a step, or ``inputs.x``), which would be gone."""

    node_id: str
    node_name: str
    field: str
    name: str
    cut_off: bool = False  # the step ``name`` stays but would no longer be upstream

    def __str__(self) -> str:
        text = f"{self.node_name}.{self.field} uses {{{{ {self.name} }}}}"
        return f"{text}, no longer upstream" if self.cut_off else text


def dangling_after_delete(graph: Graph, node_ids: Iterable[str]) -> list[DanglingReference]:
    """The references in the steps that stay to the steps deleted (and to the graph inputs going with them)."""
    ids = set(node_ids) & set(graph.nodes)
    steps = {graph.nodes[n].name for n in ids}
    inputs = removed_inputs(graph, ids)
    found: list[DanglingReference] = []
    for node in graph.nodes.values():
        if node.id in ids:
            continue
        for field, refs in _template_references(node):
            names = sorted(refs.steps & steps) + [f"inputs.{i}" for i in sorted(refs.inputs & inputs)]
            found += [DanglingReference(node.id, node.name, field, name) for name in names]
    return found


def _template_references(node: Node) -> Iterator[tuple[str, References]]:
    """(field, what it refers to) for each template field of ``node`` that parses."""
    kind = NODE_KINDS.get(node.kind)
    for spec in kind.template_fields if kind is not None else ():
        try:
            yield spec.name, references(str(node.params.get(spec.name) or ""))
        except TemplateProblem:
            continue


def cut_off_after_delete(
    graph: Graph, node_ids: Iterable[str] = (), edge_ids: Iterable[str] = ()
) -> list[DanglingReference]:
    """The references in the steps that stay to steps that stay but would no longer be upstream of them once
    ``node_ids`` and ``edge_ids`` are deleted (an edge, or a step in the middle of a path, taken away)."""
    nodes = set(node_ids) & set(graph.nodes)
    edges = set(edge_ids) & set(graph.edges)
    if not nodes and not edges:
        return []
    before = Dag.of_graph(graph)
    kept = [n for n in graph.nodes if n not in nodes]
    after = Dag.of_edges(kept, ((e.source, e.target) for k, e in graph.edges.items() if k not in edges))
    starts = {graph.edges[k].target for k in edges} | {t for n in nodes for t in before.succs[n]}
    touched, todo = set(), [n for n in starts if n not in nodes]
    while todo:  # only the steps downstream of what goes can lose an upstream step
        nid = todo.pop()
        if nid not in touched and nid not in nodes:
            touched.add(nid)
            todo.extend(before.succs[nid])
    by_name = {n.name: n.id for n in graph.nodes.values() if n.id not in nodes}
    found: list[DanglingReference] = []
    for nid in [n for n in kept if n in touched]:
        node = graph.nodes[nid]
        was, now = upstream(before, nid), upstream(after, nid)
        for field, refs in _template_references(node):
            for name in sorted(refs.steps):
                step = by_name.get(name)
                if step is not None and step in was and step not in now:
                    found.append(DanglingReference(nid, node.name, field, name, cut_off=True))
    return found
