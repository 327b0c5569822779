"""Undoable edits of pinned outputs: pin a step's output (taken from a run or typed), unpin it, and choose
whether the file keeps the pins. Like every command, they touch only the model and say what changed."""

from __future__ import annotations

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.commands import Command
from chainstudio.core.editing.rules import CommandError
from chainstudio.core.graph.model import Graph, Pin


class SetPin(Command):
    """Pin ``pin`` on a model step (None: unpin it)."""

    def __init__(self, node_id: str, pin: Pin | None):
        self.node_id = node_id
        self.pin = pin
        self.before: Pin | None = None
        self.label = "Pin output" if pin is not None else "Unpin output"

    def apply(self, graph: Graph) -> Changes:
        node = graph.nodes.get(self.node_id)
        if node is None:
            raise CommandError(f"no node with id {self.node_id!r}")
        if node.kind != "llm" and self.pin is not None:
            raise CommandError(f"only model steps can be pinned, not {node.name!r}")
        self.before = graph.pins.get(self.node_id)
        _put(graph, self.node_id, self.pin)
        return Changes(nodes_changed={self.node_id})

    def undo(self, graph: Graph) -> Changes:
        _put(graph, self.node_id, self.before)
        return Changes(nodes_changed={self.node_id})


class SetSavePins(Command):
    """Keep the pins in the graph file, or not."""

    def __init__(self, save: bool):
        self.save = save
        self.before = False
        self.label = "Save pins in the file" if save else "Leave pins out of the file"

    def apply(self, graph: Graph) -> Changes:
        self.before = graph.save_pins
        graph.save_pins = self.save
        return Changes(graph_info=True)

    def undo(self, graph: Graph) -> Changes:
        graph.save_pins = self.before
        return Changes(graph_info=True)


def _put(graph: Graph, node_id: str, pin: Pin | None) -> None:
    if pin is None:
        graph.pins.pop(node_id, None)
    else:
        graph.pins[node_id] = pin
