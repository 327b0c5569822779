"""Crossing the overview's threshold in a big scene switches the cards and edges between drawn and undrawn a
slice at a time, those in view first (switching all 110,000 of the biggest graph held the window 0.5 s)."""

from PySide6.QtWidgets import QGraphicsItem

from chainstudio.core.storage import fileformat
from chainstudio.ui.canvas import overview as overview_module
from tests.conftest import EXAMPLES
from tests.ui.canvas.test_overview_clicks import overview_of_hybrid

NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents


def sliced(monkeypatch) -> None:
    monkeypatch.setattr(overview_module, "SLICED_ABOVE", 5)  # research-hybrid (17 cards and edges) counts as big
    monkeypatch.setattr(overview_module, "SLICE_ITEMS", 1)
    monkeypatch.setattr(overview_module, "SLICE_S", 0.0)


def undrawn(window) -> list[bool]:
    return [bool(item.flags() & NO_CONTENTS) for item in [*window.scene.nodes.values(), *window.scene.edges.values()]]


def test_leaving_the_overview_draws_what_is_in_view_at_once_and_the_rest_in_slices(window, qtbot, monkeypatch):
    sliced(monkeypatch)
    card = overview_of_hybrid(window, qtbot)
    qtbot.waitUntil(lambda: not window.scene.overview._switch.busy)
    assert all(undrawn(window))
    window.view.zoom_by(1.0 / window.view.zoom())  # out of the overview, centred as before
    assert not window.scene.overview.active
    assert not card.flags() & NO_CONTENTS  # in view: drawn before the first frame
    assert window.scene.overview._switch.busy  # the rest follow, a slice per turn of the event loop
    qtbot.waitUntil(lambda: not window.scene.overview._switch.busy)
    assert not any(undrawn(window))


def test_a_graph_replaced_while_switching_is_left_consistent(window, qtbot, monkeypatch):
    sliced(monkeypatch)
    overview_of_hybrid(window, qtbot)
    window.view.zoom_by(1.0 / window.view.zoom())
    assert window.scene.overview._switch.busy
    window.document.replace(fileformat.load(EXAMPLES / "research-sequential.chain.json"))  # items deleted
    qtbot.waitUntil(lambda: not window.scene.overview._switch.busy)
    window.scene.overview.finish_switching()
    active = window.scene.overview.active  # the new graph is fitted: maybe far out again
    assert undrawn(window) and all(flag == active for flag in undrawn(window))
