"""Auto-layout: steps in columns by parallel layer; within a column, ordered by their predecessors' height."""

from __future__ import annotations

from chainstudio.core.editing.commands import MoveNodes, Position
from chainstudio.core.editing.rules import CommandError
from chainstudio.core.graph.analysis import CycleError, layers
from chainstudio.core.graph.model import Graph

COLUMN_GAP = 300.0  # distance between layer columns
ROW_GAP = 170.0  # distance between nodes of one layer


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
            positions[node_id] = (origin[0] + column * COLUMN_GAP, origin[1] + (row - (len(ordered) - 1) / 2) * ROW_GAP)
    return positions


def room_for_a_column(graph: Graph, source: str, target: str) -> tuple[float, dict[str, Position]]:
    """A step inserted between ``source`` and ``target`` that sit less than two columns apart: the x of a
    new column right after ``source``, and the moves that make it (every step from ``target``'s column
    rightwards goes one column further right, so nothing overlaps and the rows stay as they were).
    No moves when there is room already or ``target`` is not right of ``source``."""
    sx, tx = graph.nodes[source].position[0], graph.nodes[target].position[0]
    column = sx + COLUMN_GAP
    shift = column + COLUMN_GAP - tx
    if tx <= sx or shift <= 0:
        return column, {}
    return column, {n.id: (n.position[0] + shift, n.position[1]) for n in graph.nodes.values() if n.position[0] >= tx}
