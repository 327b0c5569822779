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
    SetGraphInfo,
    SetParam,
)
from chainstudio.core.editing.document import Document
from chainstudio.core.editing.inputs import RenameInput, remove_steps, rename_step
from chainstudio.core.editing.layout import AutoLayout, room_for_a_column
from chainstudio.core.editing.rules import CommandError
from chainstudio.core.graph.kinds import NODE_KINDS
from chainstudio.core.graph.model import GraphInput, Node
from chainstudio.core.graph.validation import input_name
from chainstudio.core.storage import fileformat
from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.editing.problem_checker import ProblemChecker
from chainstudio.ui.editing.template_reader import TemplateReader

BASE_NAMES = {"input": "topic", "llm": "step", "join": "combined", "output": "result", "pick_best": "best"}
PASTE_OFFSET = (40.0, 40.0)
FREE_SPOT_MARGIN = 20.0  # a new step keeps at least this much room from the cards around it


class Controller(QObject):
    refused = Signal(str, list)  # why, ids of the nodes involved
    done = Signal(str)  # a short description of what happened, for the status bar

    def __init__(self, document: Document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.templates = TemplateReader(document, self)  # first to hear an edit: the loop parses no template
        self.checker = ProblemChecker(document, self)  # a big graph is validated on a worker thread

    def execute(self, command: Command, involved: Sequence[str] = ()) -> bool:
        try:
            self.document.execute(command)
        except CommandError as exc:
            self.refused.emit(str(exc), list(involved))
            return False
        return True

    # --- nodes ----------------------------------------------------------------------------------
    def add_node(
        self,
        kind: str,
        centre: tuple[float, float],
        params: dict | None = None,
        name: str | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> str | None:
        """Add a ``kind`` step centred on ``centre`` (an Input step declares its graph input), connected
        from step ``after`` and/or to step ``before`` when given, as one edit. A new LLM or Join step fed by
        ``after`` reads its output (``{{ after }}``) unless ``params`` says otherwise."""
        graph = self.document.graph
        node = self._new_node(kind, centre, params, name)
        source = graph.nodes.get(after) if after is not None else None
        field = {"llm": "prompt", "join": "template"}.get(kind)
        if source is not None and field and not node.params.get(field):
            node.params[field] = "{{ " + source.name + " }}"
        commands: list[Command] = [AddNode(node)]
        if kind == "input":
            exposed = {input_name(n) for n in graph.nodes.values() if n.kind == "input"}
            if graph.input_named(node.name) is None or node.name in exposed:
                commands.append(SetGraphInfo(inputs=[*graph.inputs, GraphInput(node.name)]))
        if source is not None:
            commands.append(Connect(source.id, node.id))
        if before is not None and before in graph.nodes:
            commands.append(Connect(node.id, before))
        label = "Add input" if kind == "input" else "Add step"
        command = commands[0] if len(commands) == 1 else Batch(commands, label)
        if not self.execute(command, [n for n in (after, before) if n]):
            return None
        if kind == "input":  # say what it is: a graph input, asked for at run time until it has a default
            self.done.emit(
                f"Added the graph input {node.name}: later steps read it as {{{{ {node.name} }}}} or "
                f"{{{{ inputs.{node.name} }}}}; rename the step to rename it"
            )
        return node.id

    def add_input_step(self) -> str | None:
        """A new graph input, as an Input step left of the graph, below the other Input steps."""
        nodes = list(self.document.graph.nodes.values())
        inputs = [n for n in nodes if n.kind == "input"]
        left = min((n.position[0] for n in nodes), default=0.0)
        x = min((n.position[0] for n in inputs), default=left - 300.0)
        y = max((n.position[1] + 170.0 for n in inputs), default=min((n.position[1] for n in nodes), default=0.0))
        return self.add_node("input", (x + geo.CARD_WIDTH / 2, y + geo.CARD_HEIGHT / 2))

    def _new_node(self, kind: str, centre: tuple[float, float], params: dict | None, name: str | None) -> Node:
        graph = self.document.graph
        taken = {i.name for i in graph.inputs} if kind == "input" else set()
        exposed = {input_name(n) for n in graph.nodes.values() if n.kind == "input"}
        # an Input step may adopt a declared input no step shows yet; otherwise its name must be new
        base = name or BASE_NAMES.get(kind, kind)
        unique = graph.unique_name(base, taken - ({base} - exposed))
        position = self._free_position(round(centre[0] - geo.CARD_WIDTH / 2), round(centre[1] - geo.CARD_HEIGHT / 2))
        values = {k: v for k, v in (params or {}).items() if k != "input"}
        if kind == "input":
            values["input"] = unique
        return Node.create(kind, unique, position, **values)

    def _free_position(
        self, x: float, y: float, moved: dict[str, tuple[float, float]] | None = None
    ) -> tuple[float, float]:
        """(x, y), or the nearest spot above or below it where the new card covers no other card (at its
        ``moved`` position for the cards an edit moves too)."""
        cards = [(moved or {}).get(n.id, n.position) for n in self.document.graph.nodes.values()]
        gap = geo.CARD_HEIGHT + FREE_SPOT_MARGIN
        for step in range(0, 40):
            dy = (step + 1) // 2 * gap * (1 if step % 2 else -1)
            if not any(
                abs(px - x) < geo.CARD_WIDTH + FREE_SPOT_MARGIN and abs(py - (y + dy)) < gap for px, py in cards
            ):
                return (x, y + dy)
        return (x, y)

    def insert_into_edge(self, kind: str, edge_id: str, centre: tuple[float, float]) -> str | None:
        """Add a ``kind`` step at ``centre`` in the middle of edge ``edge_id``: source -> new -> target. When the
        two ends sit in adjacent columns, the steps from the target's column on move one column right to
        make room, in the same undo step."""
        graph = self.document.graph
        edge = graph.edges.get(edge_id)
        spec = NODE_KINDS.get(kind)
        if edge is None or spec is None or not (spec.has_input_port and spec.has_output_port):
            return None
        node = self._new_node(kind, centre, None, None)
        column, moves = room_for_a_column(graph, edge.source, edge.target)
        if moves:  # the two ends are adjacent columns: the new step gets a column of its own between them
            node.position = self._free_position(column, round(centre[1] - geo.CARD_HEIGHT / 2), moves)
        field = "prompt" if kind == "llm" else "template"
        if kind != "pick_best":  # a pick-best step reads its candidates through its edges
            node.params[field] = "{{ " + graph.nodes[edge.source].name + " }}"
        commands: list[Command] = [MoveNodes(moves)] if moves else []
        commands += [AddNode(node), Disconnect([edge_id]), Connect(edge.source, node.id), Connect(node.id, edge.target)]
        command = Batch(commands, "Insert step")
        if not self.execute(command, [edge.source, edge.target]):
            return None
        self.done.emit(
            f"Inserted {node.name} between {graph.nodes[edge.source].name} and {graph.nodes[edge.target].name}"
        )
        return node.id

    def delete(self, node_ids: Sequence[str], edge_ids: Sequence[str] = ()) -> bool:
        """Delete steps (with their edges and the graph inputs only they exposed) and edges, as one edit."""
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
            commands.append(remove_steps(graph, node_ids))
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
        """Rename a step and the references to it (an Input step's graph input goes with it)."""
        graph = self.document.graph
        node = graph.nodes.get(node_id)
        if node is None or (node.name == name and (node.kind != "input" or input_name(node) == name)):
            return False
        return self.execute(rename_step(graph, node_id, name), [node_id])

    def rename_input(self, old: str, new: str) -> bool:
        """Rename a graph input, the Input step showing it and every reference to either."""
        if old == new:
            return False
        return self.execute(RenameInput(old, new))

    def set_graph_info(self, session: object | None = None, **changes) -> bool:
        """Set the graph's name, description or inputs; edits in one ``session`` merge into one undo step."""
        graph = self.document.graph
        changes = {k: v for k, v in changes.items() if getattr(graph, k) != v}
        return bool(changes) and self.execute(SetGraphInfo(**changes, session=session))

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
