"""The advisor panel: shape, prediction, advice cards; Apply gives an undoable command or a concurrency cap."""

import pytest
from PySide6.QtCore import Qt

from chainstudio.core.editing.document import Document
from chainstudio.core.graph.validation import ordering_only_edges
from chainstudio.core.planning.advisor import advise
from chainstudio.core.planning.estimate import estimate
from chainstudio.core.run.rate_limits import RateLimits
from chainstudio.core.storage import fileformat
from chainstudio.ui.planning.advisor_panel import AdvisorPanel, compute_report, effect_text
from tests.conftest import EXAMPLES


def load(name):
    return fileformat.load(EXAMPLES / f"{name}.chain.json")


@pytest.fixture(scope="module")
def sequential_report():
    return advise(load("research-sequential"))


@pytest.fixture
def panel(qtbot):
    widget = AdvisorPanel()
    qtbot.addWidget(widget)
    widget.resize(420, 700)
    widget.show()
    return widget


def test_shows_shape_prediction_and_one_card_per_advice(panel, sequential_report):
    panel.set_report(sequential_report)
    assert panel.shape.text().count("Sequential") == 1
    assert "6 LLM steps, one after another" in panel.shape.text()
    base = sequential_report.baseline
    assert panel.baseline.text() == (
        f"Predicted now (eager): {base.wall_ms / 1000:.1f} s · {base.total_tokens:,} tokens · ${base.cost_usd:.4f}"
    )
    assert [c.title.text() for c in panel.cards] == [f"<b>{a.title}</b>" for a in sequential_report.advice]
    first = panel.cards[0]
    assert first.title.text().startswith("<b>Remove all 4 edges that carry no data")
    saved = sequential_report.advice[0].wall_ms_saved
    assert first.effect.text() == f"−{saved / 1000:.1f} s · ±0 tokens · ±$0"
    assert first.apply_button.text() == "Apply" and first.apply_button.isEnabled()
    assert panel.cards[-1].apply_button.text() == "Use 1"  # concurrency advice
    assert panel.cards[-1].effect.isHidden()


def test_apply_emits_an_undoable_command_that_removes_the_data_free_edges(panel, qtbot, sequential_report):
    document = Document(load("research-sequential"))
    before = set(document.graph.edges)
    assert len(ordering_only_edges(document.graph)) == 4
    panel.set_report(sequential_report)
    with qtbot.waitSignal(panel.applyCommand) as blocker:
        qtbot.mouseClick(panel.cards[0].apply_button, Qt.MouseButton.LeftButton)
    document.execute(blocker.args[0])
    assert not ordering_only_edges(document.graph)
    assert set(document.graph.edges) != before
    after = estimate(document.graph)
    assert after.wall_ms < sequential_report.baseline.wall_ms - 0.5 * sequential_report.advice[0].wall_ms_saved
    assert panel.cards[0].apply_button.text() == "Applied" and not panel.cards[0].apply_button.isEnabled()
    assert "Press Refresh" in panel.status.text()
    document.undo()
    assert set(document.graph.edges) == before


def test_concurrency_advice_emits_the_cap(panel, qtbot):
    report = advise(load("research-parallel"), rate_limits=RateLimits(requests_per_minute=30))
    panel.set_report(report)
    card = panel.cards[-1]
    assert card.advice.kind == "concurrency"
    assert card.apply_button.text() == f"Use {card.advice.concurrency}"
    with qtbot.waitSignal(panel.applyConcurrency) as blocker:
        card.apply_button.click()
    assert blocker.args == [card.advice.concurrency]


def test_refresh_button_asks_for_a_refresh(panel, qtbot):
    assert "Press Refresh" in panel.status.text() and panel.shape.isHidden()
    with qtbot.waitSignal(panel.refreshRequested):
        panel.refresh_button.click()


def test_effect_text_signs():
    from chainstudio.core.planning.advisor import Advice

    assert (
        effect_text(Advice("x", "t", "d", wall_ms_saved=-340, tokens_change=120, cost_change=0.0012))
        == "+340 ms · +120 tokens · +$0.00120"
    )
    assert effect_text(Advice("x", "t", "d")) == ""


def test_compute_runs_off_the_ui_thread_inside_the_qasync_loop(panel, qtbot, qasync_loop):
    graph = load("research-sequential")
    task = panel.compute(graph, strategy="eager")
    assert not panel.refresh_button.isEnabled() and "Analysing" in panel.status.text()
    qtbot.waitUntil(task.done, timeout=20_000)
    assert task.exception() is None
    assert panel.report is not None and panel.report.shape == "sequential"
    assert len(panel.cards) == len(panel.report.advice) and panel.refresh_button.isEnabled()
    # the report's commands address the original graph's ids
    document = Document(graph)
    document.execute(panel.report.advice[0].make_command())
    assert not ordering_only_edges(document.graph)


def test_compute_report_is_awaitable(qtbot, qasync_loop):
    graph = load("research-hybrid")
    task = qasync_loop.create_task(compute_report(graph, strategy="layered"))
    qtbot.waitUntil(task.done, timeout=20_000)
    assert task.result().baseline.strategy == "layered" and task.result().shape == "hybrid"


def test_a_failing_analysis_is_shown(panel, qtbot, qasync_loop):
    graph = load("research-sequential")
    task = panel.compute(graph, strategy="no-such-strategy")
    qtbot.waitUntil(task.done, timeout=20_000)
    assert panel.report is None and panel.status.text().startswith("Cannot analyse this graph:")
