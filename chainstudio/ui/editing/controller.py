"""Turns UI intents (drop a kind here, connect these two, delete the selection, set this field) into
commands on the document, and reports refusals with a reason."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal

from chainstudio.core.editing.clipboard import paste_command, subgraph
from chainstudio.core.editing.commands import (
    AddNode,
    Batch,
    Command,
    Connect,
    Disconnect,
    MoveNodes,
    RemoveNodes,
    Rename,
    SetGraphInfo,
    SetParam,
)
from chainstudio.core.editing.document import Document
from chainstudio.core.editing.layout import AutoLayout
from chainstudio.core.editing.rules import CommandError
from chainstudio.core.graph.model import GraphInput, Node
from chainstudio.core.storage import fileformat
from chainstudio.ui.canvas import geometry as geo

BASE_NAMES = {"input": "topic", "llm": "step", "join": "combined", "output": "result"}
PASTE_OFFSET = (40.0, 40.0)


class Controller(QObject):
    refused = Signal(str, list)  # why, ids of the nodes involved
    done = Signal(str)  # a short description of what happened, for the status bar

    def __init__(self, document: Document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document

    def execute(self, command: Command, involved: Sequence[str] = ()) -> bool:
        try:
            self.document.execute(command)
        except CommandError as exc:
            self.refused.emit(str(exc), list(involved))
            return False
        return True

    # --- nodes ----------------------------------------------------------------------------------
    def add_node(self, kind: str, centre: tuple[float, float]) -> str | None:
        """Add a ``kind`` node centred on ``centre``; an input node also gets its graph input."""
        graph = self.document.graph
        name = graph.unique_name(BASE_NAMES.get(kind, kind))
        position = (round(centre[0] - geo.CARD_WIDTH / 2), round(centre[1] - geo.CARD_HEIGHT / 2))
        params = {"input": name} if kind == "input" else {}
        node = Node.create(kind, name, position, **params)
        command: Command = AddNode(node)
        if kind == "input" and graph.input_named(name) is None:
            command = Batch([command, SetGraphInfo(inputs=[*graph.inputs, GraphInput(name)])], "Add input")
        return node.id if self.execute(command) else None

    def delete(self, node_ids: Sequence[str], edge_ids: Sequence[str] = ()) -> bool:
        graph = self.document.graph
        doomed = set(node_ids)
        edges = [
            e
            for e in edge_ids
            if e in graph.edges and graph.edges[e].source not in doomed and graph.edges[e].target not in doomed
        ]
        commands: list[Command] = []
        if edges:
            commands.append(Disconnect(edges))
        if node_ids:
            commands.append(RemoveNodes(list(node_ids)))
        if not commands:
            return False
        return self.execute(commands[0] if len(commands) == 1 else Batch(commands, "Delete"))

    def move_nodes(self, positions: dict[str, tuple[float, float]]) -> bool:
        return self.execute(MoveNodes(positions))

    def auto_layout(self) -> bool:
        try:
            command = AutoLayout(self.document.graph)
        except CommandError as exc:
            self.refused.emit(str(exc), [])
            return False
        return self.execute(command)

    # --- edges ----------------------------------------------------------------------------------
    def connect_nodes(self, source: str, target: str) -> bool:
        reason = self.document.connect_problem(source, target)
        if reason:
            self.refused.emit(f"Cannot connect: {reason}", [source, target])
            return False
        if self.execute(Connect(source, target), [source, target]):
            graph = self.document.graph
            self.done.emit(f"Connected {graph.nodes[source].name} -> {graph.nodes[target].name}")
            return True
        return False

    # --- properties -----------------------------------------------------------------------------
    def set_param(self, node_id: str, field: str, value, session: object | None = None) -> bool:
        node = self.document.graph.nodes.get(node_id)
        if node is None or node.param(field) == value:
            return False
        return self.execute(SetParam(node_id, field, value, session), [node_id])

    def rename(self, node_id: str, name: str) -> bool:
        node = self.document.graph.nodes.get(node_id)
        if node is None or node.name == name:
            return False
        return self.execute(Rename(node_id, name), [node_id])

    def set_graph_info(self, **changes) -> bool:
        graph = self.document.graph
        changes = {k: v for k, v in changes.items() if getattr(graph, k) != v}
        return bool(changes) and self.execute(SetGraphInfo(**changes))

    # --- clipboard ------------------------------------------------------------------------------
    def copy_text(self, node_ids: list[str]) -> str | None:
        """The selected nodes (and the edges among them) as graph JSON, or None when nothing is selected."""
        if not node_ids:
            return None
        return fileformat.dumps(subgraph(self.document.graph, node_ids))

    def paste_text(self, text: str, offset: tuple[float, float] = PASTE_OFFSET) -> list[str]:
        """Paste graph JSON; returns the new node ids (empty when the text is not a graph)."""
        try:
            clip = fileformat.loads(text)
        except fileformat.LoadError:
            self.refused.emit("The clipboard does not hold ChainStudio steps", [])
            return []
        command = paste_command(self.document.graph, clip, offset)
        if not command.nodes or not self.execute(command):
            return []
        self.done.emit(f"Pasted {len(command.nodes)} step{'s' if len(command.nodes) != 1 else ''}")
        return [n.id for n in command.nodes]

    def duplicate(self, node_ids: list[str]) -> list[str]:
        text = self.copy_text(node_ids)
        return self.paste_text(text) if text else []

    # --- history --------------------------------------------------------------------------------
    def undo(self) -> None:
        label = self.document.undo_label
        if self.document.undo() is not None:
            self.done.emit(f"Undid {label.lower()}")

    def redo(self) -> None:
        label = self.document.redo_label
        if self.document.redo() is not None:
            self.done.emit(f"Redid {label.lower()}")
