"""Connecting by dragging: from an output port to another node (or from an input port back to a
source). While dragging, a curve follows the cursor and says whether the document would accept the edge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QPointF

from chainstudio.ui.canvas.edge_item import DragCurveItem

if TYPE_CHECKING:
    from chainstudio.ui.canvas.scene import CanvasScene


class ConnectDrag:
    def __init__(self, scene: CanvasScene, node_id: str, side: str, pos: QPointF):
        self.scene, self.node_id, self.side = scene, node_id, side
        self.start = QPointF(pos)
        anchor = scene.nodes[node_id].port_scene_pos(side)
        self.curve = DragCurveItem(anchor, from_output=side == "out")
        scene.addItem(self.curve)
        self.left_origin = False  # released on its own card without leaving it: a click, not a gesture
        self.move_to(pos)

    def _pair(self, other: str) -> tuple[str, str]:
        return (self.node_id, other) if self.side == "out" else (other, self.node_id)

    def _target(self, pos: QPointF) -> str | None:
        """The card under ``pos``, or whose port is within reach of it (a port sits half outside its card:
        since cards draw their own ports, a drop there is not on the card's shape)."""
        port = self.scene.port_near(pos)
        if port is not None:
            return port.node_id
        item = self.scene.node_at(pos, ignore=self.curve)
        return item.node_id if item is not None else None

    def move_to(self, pos: QPointF) -> None:
        self.curve.follow(pos)
        other = self._target(pos)
        self.left_origin |= other != self.node_id
        if other is None or (other == self.node_id and not self.left_origin):
            self.curve.set_state(None)
            return
        reason = self.scene.document.connect_problem(*self._pair(other))
        self.curve.set_state(reason is None, reason or "")

    def travelled(self, pos: QPointF) -> float:
        """How far (scene units) the cursor is from where the drag started."""
        return QLineF(self.start, pos).length()

    def finish(self, pos: QPointF) -> tuple[str, str] | None:
        """Remove the curve; the (source, target) pair to connect, if the cursor ended on a node."""
        self.scene.removeItem(self.curve)
        other = self._target(pos)
        if other is None or (other == self.node_id and not self.left_origin):
            return None
        return self._pair(other)
