"""The History panel: a graph's recorded runs newest first; open, compare and export them."""

import csv
import io
import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from chainstudio.core.formatting import fmt_duration
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.record import RECORD_KEYS
from chainstudio.core.storage import fileformat
from chainstudio.core.storage.history import RunHistory
from chainstudio.ui.planning.history_panel import COLUMNS, HistoryPanel
from tests.conftest import EXAMPLES
from tests.support.engine import run_simulated


def load(name):
    return fileformat.load(EXAMPLES / f"{name}.chain.json")


@pytest.fixture
def history(tmp_path):
    history = RunHistory(tmp_path / "history.sqlite3")
    hybrid = load("research-hybrid")
    runs = {
        "eager": run_simulated(hybrid, seed=1, strategy="eager", context={"concurrency": 2}),
        "sequential": run_simulated(hybrid, seed=2, strategy="sequential"),
        "unpriced": run_simulated(hybrid, seed=3, strategy="layered", context={"pricing": Pricing(use_table=False)}),
    }
    for source, run in zip(("gui", "cli run", "cli bench"), runs.values(), strict=False):
        history.add(run.events, hybrid, source=source, file=str(EXAMPLES / "research-hybrid.chain.json"))
    other = load("research-parallel")
    history.add(run_simulated(other).events, other, source="gui")
    history.test_runs = runs
    return history


@pytest.fixture
def panel(qtbot, history):
    widget = HistoryPanel(history)
    qtbot.addWidget(widget)
    widget.resize(1000, 320)
    widget.show()
    widget.set_graph_name("research-hybrid")
    return widget


def cells(panel, row):
    return [panel.table.item(row, column).text() for column in range(len(COLUMNS))]


def select(panel, *rows):
    panel.table.clearSelection()
    for row in rows:
        panel.table.selectionModel().select(
            panel.table.model().index(row, 0),
            panel.table.selectionModel().SelectionFlag.Select | panel.table.selectionModel().SelectionFlag.Rows,
        )


def test_lists_only_this_graphs_runs_newest_first(panel, history):
    assert panel.table.rowCount() == 3 and panel.title.text() == "<b>History</b> · 3 runs"
    assert [cells(panel, r)[1] for r in range(3)] == ["cli bench", "cli run", "gui"]
    newest = cells(panel, 0)
    assert newest[2] == "layered" and newest[3] == "Simulated" and newest[8] == "unknown"
    eager = cells(panel, 2)
    state = history.test_runs["eager"].state
    totals = state.totals()
    assert eager[2] == "eager, cap 2" and eager[4] == "succeeded"
    assert eager[5] == fmt_duration(totals.wall) and eager[6] == f"{totals.total_tokens:,}"
    assert eager[7] == str(totals.api_calls) and eager[8] == f"${totals.cost_usd:.4f}"
    assert panel.table.item(2, 3).font().italic()  # simulated is marked
    assert "Simulated provider" in panel.table.item(2, 0).toolTip()
    assert not panel.open_button.isEnabled() and not panel.compare_button.isEnabled()


def test_an_unknown_graph_shows_an_empty_message(panel):
    panel.set_graph_name("never-ran")
    assert panel.table.isHidden() and panel.empty.isVisible()
    assert "No recorded runs of never-ran yet" in panel.empty.text()


def test_refresh_picks_up_new_runs_and_keeps_the_selection(panel, history):
    select(panel, 1)
    chosen = panel.selected_run_ids()
    hybrid = load("research-hybrid")
    history.add(run_simulated(hybrid, seed=9).events, hybrid, source="gui")
    panel.refresh_button.click()
    assert panel.table.rowCount() == 4
    assert panel.selected_run_ids() == chosen


def test_double_click_opens_the_replayed_run(panel, qtbot, history):
    expected = history.test_runs["eager"].state
    rect = panel.table.visualItemRect(panel.table.item(2, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(panel.openRun) as blocker:
        qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    state = blocker.args[0]
    assert state.run_id == expected.run_id and state.status == "succeeded"
    assert {s.name: (state.rel(s.started_at), state.rel(s.ended_at)) for s in state.spans.values()} == {
        s.name: (expected.rel(s.started_at), expected.rel(s.ended_at)) for s in expected.spans.values()
    }


def test_open_button_opens_the_selected_run(panel, qtbot, history):
    select(panel, 1)
    assert panel.open_button.isEnabled() and not panel.compare_button.isEnabled()
    with qtbot.waitSignal(panel.openRun) as blocker:
        panel.open_button.click()
    assert blocker.args[0].run_id == history.test_runs["sequential"].run_id


def test_compare_two_selected_runs_older_first(panel, qtbot, history):
    select(panel, 0, 2)
    assert panel.compare_button.isEnabled() and not panel.open_button.isEnabled()
    with qtbot.waitSignal(panel.compareRuns) as blocker:
        panel.compare_button.click()
    states = blocker.args[0]
    assert [s.run_id for s in states] == [history.test_runs["eager"].run_id, history.test_runs["unpriced"].run_id]
    assert [s.started.strategy for s in states] == ["eager", "layered"]


@pytest.mark.parametrize("kind", ["record", "csv", "trace"])
def test_export_through_the_save_dialog(panel, qtbot, history, tmp_path, kind):
    select(panel, 2)
    assert panel.export_button.isEnabled()
    actions = panel.export_button.menu().actions()
    assert [a.text() for a in actions] == ["Run record (JSON)…", "Spans (CSV)…", "Chrome trace for Perfetto (JSON)…"]
    actions[["record", "csv", "trace"].index(kind)].trigger()
    dialog = panel.export_dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()  # opened with open(), nothing blocked
    assert dialog.selectedFiles()[0].endswith(("json", "csv"))
    target = tmp_path / f"out-{kind}"
    dialog.selectFile(str(target))
    with qtbot.waitSignal(panel.exported) as blocker:
        dialog.accept()
    written = blocker.args[0]
    text = Path(written).read_text(encoding="utf-8")
    state = history.test_runs["eager"].state
    if kind == "record":
        record = json.loads(text)
        assert written.endswith(".json") and all(key in record for key in RECORD_KEYS)
        assert record["wall_ms"] == pytest.approx(state.totals().wall * 1000, abs=0.01)
    elif kind == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert written.endswith(".csv") and {r["name"] for r in rows} == {s.name for s in state.spans.values()}
    else:
        trace = json.loads(text)
        tracks = {e["args"]["name"].split(" ", 1)[1] for e in trace["traceEvents"] if e.get("name") == "thread_name"}
        assert {s.name for s in state.spans.values()} <= tracks
    assert panel.message.text() == f"Exported to {written}"


def test_export_to_an_unwritable_place_says_so(panel, tmp_path):
    select(panel, 0)
    run_id = panel.selected_run_ids()[0]
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    assert panel.export_run(run_id, "csv", blocked / "out.csv") is None
    assert panel.message.text().startswith("Cannot write")


def test_runs_recorded_elsewhere_appear_without_refresh(qtbot, app_window, tmp_path):
    """Issue 12, item 10: a run recorded by the CLI (another process) or by a comparison shows up in the
    History panel while it is in view, without pressing Refresh."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
    app_window.history_dock.show()
    app_window.history_dock.raise_()
    table = app_window.history.panel.table
    qtbot.waitUntil(lambda: app_window.history_dock.isVisible())
    assert table.rowCount() == 0
    assert app_window.services.history.path == tmp_path / "history.sqlite3"
    env = {**os.environ, "CHAINSTUDIO_DATA_DIR": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    cli = [sys.executable, "-m", "chainstudio", "run", str(EXAMPLES / "research-hybrid.chain.json")]
    done = subprocess.run([*cli, "--speed", "400", "--no-output"], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: table.rowCount() == 1, timeout=5000)
    assert cells(app_window.history.panel, 0)[1] == "cli run"
