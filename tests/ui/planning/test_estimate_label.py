"""The run toolbar's estimate: compact text, per-step tooltip, budget warnings, estimate against actual."""

import pytest

from chainstudio.core.formatting import fmt_ms
from chainstudio.core.planning.estimate import estimate
from chainstudio.core.planning.latency_model import fit_model
from chainstudio.core.storage import fileformat
from chainstudio.ui.planning.estimate_label import EstimateLabel, compute_estimate
from tests.conftest import EXAMPLES
from tests.support.engine import run_simulated


@pytest.fixture(scope="module")
def hybrid():
    return fileformat.load(EXAMPLES / "research-hybrid.chain.json")


@pytest.fixture
def label(qtbot):
    widget = EstimateLabel()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_compact_text_and_per_step_tooltip(label, hybrid):
    assert label.text() == "≈ —"
    result = estimate(hybrid, strategy="eager", concurrency=2)
    label.set_estimate(result)
    assert label.text() == f"≈ {fmt_ms(result.wall_ms)} · {result.total_tokens:,} tok · ${result.cost_usd:.4f}"
    tip = label.toolTip()
    assert "Estimate · eager, at most 2 at once" in tip and "simulator profiles" in tip
    for node in result.nodes:
        assert (f">{node.name}<" in tip) == (node.kind == "llm")
    assert "Budget" not in tip and label.styleSheet() == ""


def test_budget_warnings_turn_it_red(label, hybrid):
    result = estimate(hybrid)
    label.set_estimate(result, cost_cap=result.cost_usd / 2, token_cap=1000)
    assert label.text().startswith("⚠ ≈ ")
    assert len(label.warnings) == 2 and "#b3261e" in label.styleSheet()
    tip = label.toolTip()
    assert tip.count("⚠ Budget:") == 2 and "over the cap 1,000" in tip and "#b3261e" in tip


def test_estimate_against_actual_after_a_run(label, hybrid):
    calibration = run_simulated(hybrid, seed=1)
    result = estimate(hybrid, latency=fit_model([calibration.state], "simulated", graph=hybrid))
    label.set_estimate(result)
    assert "simulator profiles; output lengths of 6 step(s) from recorded runs" in label.toolTip()
    actual = run_simulated(hybrid, seed=2).state
    label.set_actual(actual)
    totals = actual.totals()
    assert label.text().startswith(f"est {fmt_ms(result.wall_ms)} → {fmt_ms(totals.wall * 1000)} (")
    assert f"{totals.total_tokens:,} tok" in label.text()
    tip = label.toolTip()
    assert "Estimate against the run" in tip and ">hardware<" in tip


def test_compute_estimate_off_the_ui_thread(qtbot, qasync_loop, hybrid, label):
    label.set_busy()
    assert label.text() == "≈ …"
    task = qasync_loop.create_task(compute_estimate(hybrid, strategy="sequential"))
    qtbot.waitUntil(task.done, timeout=20_000)
    label.set_estimate(task.result())
    assert task.result().strategy == "sequential" and label.text().startswith("≈ ")


def test_an_uncalibrated_estimate_shows_a_range_not_a_figure(label, hybrid):
    result = estimate(hybrid, latency=fit_model([], "http://127.0.0.1:8080/v1", graph=hybrid))
    label.set_estimate(result)
    low, high = result.wall_ms_range
    assert label.text().startswith(f"≈ {fmt_ms(low)} – {fmt_ms(high)} (uncalibrated) · ")
    tip = label.toolTip()
    assert "uncalibrated: no recorded runs of gpt-4o on http://127.0.0.1:8080/v1" in tip
    assert "capacity not measured yet" in tip and "run the graph once on this endpoint" in tip


def test_checked_steps_show_their_range_in_the_tooltip_and_a_cap_only_its_high_end_crosses_warns(label):
    result = estimate(fileformat.load(EXAMPLES / "sql-check-repair.chain.json"))
    checks = result.checks
    assert checks is not None
    label.set_estimate(result)
    assert "<b>Range</b> over the checked steps: 3–7 calls, of them 1–3 judge calls" in label.toolTip()
    assert "every repair used" in label.toolTip() and not label.text().startswith("⚠")
    label.set_estimate(result, token_cap=(checks.low_tokens + checks.high_tokens) // 2)
    assert label.text().startswith("⚠") and "with every repair of its checked steps used" in label.toolTip()
