"""Graph inputs without a default, in the real window (issue 12, items 3, 4 and 10): Run and Compare ask for
them in the same dialog, which remembers the last values per graph; the estimate uses a placeholder until a
value is known and says so on the toolbar and on the input's card."""

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from chainstudio.ui.run.inputs_dialog import InputsDialog
from tests.conftest import EXAMPLES


@pytest.fixture
def no_default(tmp_path):
    """research-hybrid saved with its input ``topic`` left without a default."""

    def make(name="research-hybrid"):
        data = json.loads((EXAMPLES / f"{name}.chain.json").read_text())
        data["inputs"][0]["default"] = None
        path = tmp_path / f"{name}-no-default.chain.json"
        path.write_text(json.dumps(data))
        return path

    return make


def open_fast(qtbot, window, path):
    assert window.open_path(path)
    toolbar = window.runs.toolbar
    toolbar.speed.setCurrentIndex(toolbar.speed.findData(20.0))
    activate(qtbot, window)


def activate(qtbot, window):
    """Give the window the keyboard (offscreen, a closed dialog can stay the active window)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.view.setFocus()


def press(window, key, modifier=Qt.KeyboardModifier.NoModifier):
    QTest.keyClick(window, key, modifier)


def test_run_asks_and_remembers_the_values_per_graph(qtbot, app_window, no_default):
    path = no_default()
    open_fast(qtbot, app_window, path)
    press(app_window, Qt.Key.Key_F5)
    dialog = app_window.runs._dialog
    assert isinstance(dialog, InputsDialog) and dialog.isVisible()
    assert dialog.editors["topic"].toPlainText() == "" and dialog.ok_button.text() == "Run"
    QTest.keyClicks(dialog.editors["topic"], "quantum sensing")
    QTest.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: app_window.runs.state is not None and not app_window.runs.controller.running, timeout=20_000
    )
    first = app_window.runs.state
    assert first.status == "succeeded"
    assert "quantum sensing" in first.span_by_name("hardware").prompt

    # F5 again: the same dialog, filled in with what was given; Ctrl+Return runs
    activate(qtbot, app_window)
    press(app_window, Qt.Key.Key_F5)
    again = app_window.runs._dialog
    assert again is not dialog and again.editors["topic"].toPlainText() == "quantum sensing"
    assert "last time" in again.findChild(type(again.layout().itemAt(0).widget())).text()
    QTest.keyClick(again.editors["topic"], Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(
        lambda: app_window.runs.state is not first and not app_window.runs.controller.running, timeout=20_000
    )
    assert app_window.runs.state.status == "succeeded"

    # another graph remembers its own values (none yet)
    open_fast(qtbot, app_window, no_default("research-parallel"))
    press(app_window, Qt.Key.Key_F5)
    other = app_window.runs._dialog
    assert other.editors["topic"].toPlainText() == ""
    other.reject()


def test_compare_asks_for_inputs_as_run_does_and_ranks_what_succeeded(qtbot, app_window, no_default):
    path = no_default()
    open_fast(qtbot, app_window, path)
    app_window.services.inputs.remember(f"file:{path}", {"topic": "photonic qubits"})
    press(app_window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    dialog = app_window.compare.inputs_dialog
    assert isinstance(dialog, InputsDialog) and dialog.isVisible() and dialog.ok_button.text() == "Compare"
    assert dialog.editors["topic"].toPlainText() == "photonic qubits"
    view = app_window.compare.view
    assert not view.runner.running  # nothing runs before the values are given
    QTest.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.result is not None and not view.runner.running, timeout=60_000)
    rows = view.result.rows
    assert len(rows) == 3 and all(row.ok for row in rows)
    assert view.result.by_mark("fastest") is not None and view.result.by_mark("cheapest") is not None
    assert not any("failed" in view.table.item(r, 7).text() for r in range(3))
    assert "photonic qubits" in rows[0].states[0].span_by_name("hardware").prompt


def test_cancelling_the_inputs_dialog_runs_nothing(qtbot, app_window, no_default):
    open_fast(qtbot, app_window, no_default())
    press(app_window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    dialog = app_window.compare.inputs_dialog
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and not app_window.compare.view.runner.running
    assert app_window.compare.view.result is None


def test_the_estimate_uses_a_placeholder_and_says_so(qtbot, app_window, no_default):
    path = no_default()
    open_fast(qtbot, app_window, path)
    label = app_window.estimate.label
    qtbot.waitUntil(lambda: "placeholder" in label.text(), timeout=10_000)
    assert (
        label.text().startswith("≈ ") and "0 tok" not in label.text() and label.text().endswith("(placeholder topic)")
    )
    assert "50-token placeholder" in label.toolTip()
    topic = app_window.document.graph.node_by_name("topic").id
    assert "placeholder" in app_window.scene.nodes[topic].run_badge.text
    # once a value was given (and remembered), the estimate uses it
    app_window.services.inputs.remember(f"file:{path}", {"topic": "x " * 300})
    app_window.estimate.update()
    qtbot.waitUntil(lambda: label.text().startswith("≈ ") and "placeholder" not in label.text(), timeout=10_000)
