"""What an edit would break: the template references left dangling when steps are deleted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chainstudio.core.editing.inputs import removed_inputs
from chainstudio.core.graph.kinds import NODE_KINDS
from chainstudio.core.graph.model import Graph
from chainstudio.core.graph.templating import TemplateProblem, references


@dataclass(frozen=True)
class DanglingReference:
    """Step ``node_name``'s field ``field`` refers to ``name`` (a step, or ``inputs.x``), which would be gone."""

    node_id: str
    node_name: str
    field: str
    name: str

    def __str__(self) -> str:
        return f"{self.node_name}.{self.field} uses {{{{ {self.name} }}}}"


def dangling_after_delete(graph: Graph, node_ids: Iterable[str]) -> list[DanglingReference]:
    """The references in the steps that stay to the steps deleted (and to the graph inputs going with them)."""
    ids = set(node_ids) & set(graph.nodes)
    steps = {graph.nodes[n].name for n in ids}
    inputs = removed_inputs(graph, ids)
    found: list[DanglingReference] = []
    for node in graph.nodes.values():
        kind = NODE_KINDS.get(node.kind)
        if node.id in ids or kind is None:
            continue
        for spec in kind.template_fields:
            try:
                refs = references(str(node.params.get(spec.name) or ""))
            except TemplateProblem:
                continue
            names = sorted(refs.steps & steps) + [f"inputs.{i}" for i in sorted(refs.inputs & inputs)]
            found += [DanglingReference(node.id, node.name, spec.name, name) for name in names]
    return found
