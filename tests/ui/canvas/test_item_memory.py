"""What a card and an edge keep (issue 14: the window with 10,000 steps and 100,000 edges open took ~950 MB):
an edge keeps its two ends and its looks in slots, no painter path, and makes its curve, arrow and control
points from its ends when asked; a card lays out its text and makes its problem badge and its port items
only when needed.
The memory itself is measured in ``benchmarks/memory_bench.py``, not here."""

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainterPath

from chainstudio.core.graph.model import Node
from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.canvas.edge_item import ORDERING_ONLY_TIP, EdgeItem
from chainstudio.ui.canvas.node_item import BOUNDS, NodeItem, PortItem, ProblemBadge


def test_an_edge_keeps_its_ends_in_slots_and_makes_its_curve_when_asked(qapp):
    start, end = QPointF(10, 20), QPointF(900, 340)
    edge = EdgeItem("e1", "a", "b")
    edge.set_ends(start, end)
    edge.set_ordering_only(True)
    edge.set_flow("lit")
    assert vars(edge) == {}  # every attribute in a slot: no per-edge dictionary
    held = [getattr(edge, name) for name in EdgeItem.__slots__]
    assert not any(isinstance(value, QPainterPath) for value in held)
    assert edge.path() == geo.edge_path(start, end)
    assert edge.arrow() == geo.arrow_head(end)
    assert edge.controls() == geo.edge_controls(start.x(), start.y(), end.x(), end.y())
    bounds = geo.edge_path(start, end).boundingRect().united(geo.arrow_head(end).boundingRect())
    assert edge.boundingRect() == bounds.adjusted(-4, -4, 4, 4)  # Qt's box: what the path item's was
    edge.shape()
    assert isinstance(edge._shape, QPainterPath)  # stroked once asked for (a hit test near it)
    edge.set_ends(end, start)
    assert edge._shape is None and edge.path() == geo.edge_path(end, start)


def test_a_dashed_edge_gets_its_tooltip_when_hovered_and_loses_it_when_solid(qapp):
    edge = EdgeItem("e1", "a", "b")
    edge.set_ends(QPointF(0, 0), QPointF(400, 0))
    edge.set_ordering_only(True)
    assert edge.toolTip() == ""  # 90,000 dashed edges held the same words each
    edge.hoverEnterEvent(_hover())
    assert edge.toolTip() == ORDERING_ONLY_TIP
    edge.set_ordering_only(False)
    assert edge.toolTip() == ""


def _hover():
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QGraphicsSceneHoverEvent

    return QGraphicsSceneHoverEvent(QEvent.Type.GraphicsSceneHoverEnter)


def test_a_card_lays_out_its_text_and_makes_its_badge_only_when_needed(qapp):
    card = NodeItem(Node.create("llm", "draft", prompt="Write about {{ topic }}."))
    assert vars(card) == {}
    assert card._text is None  # not laid out: far out, a card is drawn as a block
    assert not any(isinstance(child, ProblemBadge) for child in card.childItems())
    assert card.card_text.name[1] == "draft" and "Write about" in card.card_text.preview[0][1]
    card.set_problems("error", "✖ prompt: broken")
    assert card.badge_shown()
    card.set_problems(None)
    assert not card.badge_shown()


def _render(scene, rect, scale: float):
    from PySide6.QtGui import QImage, QPainter

    image = QImage(int(rect.width() * scale), int(rect.height() * scale), QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    scene.render(painter, QRectF(0, 0, image.width(), image.height()), rect)
    painter.end()
    return image


def _largest_difference(a, b) -> int:
    """The largest difference of one colour channel of one pixel between two images of the same size."""
    return max(abs(x - y) for x, y in zip(bytes(a.constBits()), bytes(b.constBits()), strict=True))


@pytest.mark.parametrize("scale", [1.0, 0.3])  # in detail, and drawn as a block
def test_a_card_draws_its_ports_until_the_pointer_comes_near_and_looks_the_same_after(qapp, scale):
    from chainstudio.core.editing.document import Document
    from chainstudio.ui.canvas.scene import CanvasScene

    document = Document()
    document.graph.add("llm", "draft", (0.0, 0.0), prompt="Write about {{ topic }}.")
    scene = CanvasScene(document)
    (card,) = scene.nodes.values()
    assert card.sides == ("in", "out") and card.made_ports() == []
    assert not any(isinstance(child, PortItem) for child in card.childItems())  # 2.7 KB a card saved
    assert card.box() == BOUNDS.translated(card.pos())  # its box as a card (bands, fitting) leaves the ports out
    area = card.boundingRect().adjusted(-10, -10, 10, 10)
    drawn_by_card = _render(scene, area, scale)
    near = card.port_scene_pos("out") + QPointF(4, 3)
    port = scene.port_near(near)
    assert isinstance(port, PortItem) and (port.node_id, port.side) == (card.node_id, "out")
    assert port.parentItem() is card and card.made_ports() == [port] and scene.port_near(near) is port
    assert scene.port_near(card.port_scene_pos("in") - QPointF(6, 0)).side == "in"
    assert scene.port_near(card.port_scene_pos("in") + QPointF(0, 60)) is None  # far from both
    assert len(card.made_ports()) == 2
    after = _render(scene, area, scale)  # the port items draw what the card drew (antialiasing's rounding aside)
    assert after.size() == drawn_by_card.size() and _largest_difference(after, drawn_by_card) <= 2
    port.hoverEnterEvent(_hover())
    assert _largest_difference(_render(scene, area, scale), drawn_by_card) > 60  # (a hovered port is filled)


def test_an_input_step_has_only_an_output_port(qapp):
    card = NodeItem(Node.create("input", "topic"))
    assert card.sides == ("out",)
