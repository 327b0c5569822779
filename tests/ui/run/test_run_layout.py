"""Issue 12, item 10: after a run at the default window size, the estimate → actual figure and the SIMULATED
badge stay in the run toolbar (not in its » overflow); the bottom docks can be made short."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from chainstudio.core.launch import RunOptions
from tests.conftest import EXAMPLES


def overflow_shown(toolbar) -> bool:
    return any(b.isVisible() for b in toolbar.findChildren(QToolButton) if b.objectName() == "qt_toolbar_ext_button")


@pytest.mark.parametrize("size", [(1400, 900), (1600, 1000)])
def test_after_a_run_the_figure_and_the_badge_stay_in_the_toolbar(qtbot, app_window, size):
    app_window.resize(*size)
    assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
    qtbot.waitUntil(lambda: app_window.estimate.label.estimate is not None, timeout=10_000)
    app_window.runs.request_run(RunOptions(speed=200.0))
    qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=20_000)
    label, toolbar = app_window.estimate.label, app_window.runs.toolbar
    qtbot.waitUntil(lambda: label.text().startswith("est "))
    qtbot.wait(50)  # the toolbar lays out again for the longer text
    assert not overflow_shown(toolbar)
    assert label.isVisible() and toolbar.simulated_badge.isVisible() and toolbar.budget.isVisible()
    assert label.geometry().right() <= toolbar.width()


def test_the_bottom_docks_can_be_made_short(qtbot, app_window):
    app_window.resize(1400, 900)
    qtbot.wait(50)
    app_window.resizeDocks([app_window.gantt_dock], [100], Qt.Orientation.Vertical)
    qtbot.wait(50)
    assert app_window.gantt_dock.height() <= 200  # was held at ~330 by the Compare panel's form
    app_window.resizeDocks([app_window.gantt_dock], [600], Qt.Orientation.Vertical)
    qtbot.wait(50)
    assert app_window.gantt_dock.height() >= 500
