"""Fixtures of the Gantt widget tests."""

import pytest

from chainstudio.ui.gantt import GanttWidget
from chainstudio.ui.gantt.theme import Theme


@pytest.fixture
def gantt(qtbot):
    """A shown Gantt widget, light theme, 1200x520."""
    widget = GanttWidget()
    widget.view.set_theme(Theme.light())
    qtbot.addWidget(widget)
    widget.resize(1200, 520)
    widget.show()
    qtbot.waitExposed(widget)
    return widget
