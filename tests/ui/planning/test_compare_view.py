"""The compare view: the seed's table, stacked Gantt charts, and comparisons run in the qasync loop."""

import asyncio

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.formatting import fmt_ms
from chainstudio.core.planning.compare import run_bench
from chainstudio.core.providers.factory import make_provider
from chainstudio.core.run.executor import RunContext
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.virtual_time import run_virtual
from chainstudio.core.storage import fileformat
from chainstudio.ui.planning.compare_runner import CompareRunner, run_comparison
from chainstudio.ui.planning.compare_view import BANNER, COLUMNS, CompareView, median_state, parse_caps
from tests.conftest import EXAMPLES

STRATEGIES = ["eager", "layered", "sequential"]


def load(name):
    return fileformat.load(EXAMPLES / f"{name}.chain.json")


def virtual_context(index, pricing=None):
    clock = Clock(monotonic=asyncio.get_running_loop().time)
    return RunContext(
        provider=make_provider("simulated", clock=clock, seed=index),
        clock=clock,
        seed=index,
        pricing=pricing or Pricing(),
    )


def fast_context(index):
    """Real time in the qasync loop, simulated latencies 200× faster (figures stay in simulated seconds)."""
    clock = Clock(speed=200)
    return RunContext(provider=make_provider("simulated", clock=clock, seed=index), clock=clock, seed=index)


@pytest.fixture(scope="module")
def hybrid_result():
    graph = load("research-hybrid")
    return run_virtual(run_bench([("research-hybrid.chain.json", graph)], STRATEGIES, 1, virtual_context))


@pytest.fixture
def view(qtbot):
    widget = CompareView()
    qtbot.addWidget(widget)
    widget.resize(1100, 800)
    widget.show()
    return widget


def cells(view, row):
    return [view.table.item(row, column).text() for column in range(len(COLUMNS))]


def test_shows_the_seed_table_with_marks_and_speedups(view, hybrid_result):
    view.set_result(hybrid_result)
    assert view.table.rowCount() == 3
    assert [view.table.horizontalHeaderItem(c).text() for c in range(len(COLUMNS) - 1)] == [
        "Strategy",
        "Latency",
        "Tokens",
        "Calls",
        "Cost",
        "Output",
        "Speed-up",
    ]
    by_strategy = {cells(view, r)[0]: cells(view, r) for r in range(3)}
    assert set(by_strategy) == set(STRATEGIES)
    for row in hybrid_result.rows:
        shown = by_strategy[row.strategy]
        median = row.median
        assert shown[1:7] == [
            fmt_ms(row.wall_ms),
            f"{median['total_tokens']:,}",
            str(median["api_calls"]),
            f"${median['cost_usd']:.4f}",
            f"{median['output_chars']:,}",
            f"×{row.speedup:.2f}",
        ]
        for mark in ("fastest", "cheapest"):
            assert (mark in shown[7]) == (mark in row.marks)
    assert by_strategy["sequential"][6] == "×1.00"
    assert "fastest" not in by_strategy["sequential"][7]
    fastest = hybrid_result.by_mark("fastest")
    assert f"Fastest: <b>{fastest.strategy}</b> ({fmt_ms(fastest.wall_ms)})" in view.summary.text()
    assert "Speed-up: latency of sequential divided by each row's latency" in view.summary.text()
    assert view.banner.isVisible() and view.banner.text() == BANNER


def test_stacks_each_rows_median_run_on_one_gantt(view, hybrid_result):
    view.set_result(hybrid_result)
    states = view.gantt.states()
    assert [s.started.strategy for s in states] == [row.strategy for row in hybrid_result.rows]
    assert states == [median_state(row) for row in hybrid_result.rows]
    assert len(view.gantt.view.layout_.rows) > 3 * len(states[0].spans)  # one block of rows per run


def test_unknown_costs_and_real_providers(view):
    graph = load("research-parallel")
    result = run_virtual(
        run_bench([("p.chain.json", graph)], ["eager"], 1, lambda i: virtual_context(i, Pricing(use_table=False)))
    )
    for state in result.rows[0].states:
        state.started = type(state.started)(**{**state.started.__dict__, "simulated": False})
    view.set_result(result)
    assert cells(view, 0)[4] == "unknown" and view.banner.isHidden()
    assert "Cheapest: <b>eager</b> (" in view.summary.text() and "tokens)" in view.summary.text()


def test_parse_caps():
    assert parse_caps("2, 4 8,4") == [2, 4, 8] and parse_caps("") == []
    for bad in ("0", "two", "-1"):
        with pytest.raises(ValueError):
            parse_caps(bad)


def test_form_problems_stop_the_run(view, qtbot):
    view.run_button.click()
    assert view.status.text() == "Open a graph to compare."
    view.set_source(load("research-hybrid"), fast_context)
    for box in view.strategy_boxes.values():
        box.setChecked(False)
    view.caps.setText("zero")
    view.add_graph_files([str(EXAMPLES / "missing.chain.json")])
    assert view.run_comparison() is None
    text = view.status.text()
    assert text.startswith("Cannot compare: choose at least one strategy; concurrency caps must be whole numbers")
    assert "missing.chain.json" in text and not view.runner.running


def test_run_comparison_in_the_qasync_loop_fills_table_and_gantt(view, qtbot, qasync_loop):
    view.set_source(load("research-sequential"), fast_context, file="research-sequential.chain.json")
    view.add_graph_files([str(EXAMPLES / "research-parallel.chain.json")])
    view.strategy_boxes["layered"].setChecked(False)
    progress = []
    view.runner.progress.connect(lambda done, total, text: progress.append((done, total)))
    task = view.run_comparison()
    assert task is not None and not view.run_button.isEnabled() and view.cancel_button.isEnabled()
    qtbot.waitUntil(task.done, timeout=30_000)
    assert task.exception() is None
    assert progress == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert view.status.text() == "Compared 4 runs."
    assert view.run_button.isEnabled() and not view.cancel_button.isEnabled()
    names = [cells(view, r)[0] for r in range(view.table.rowCount())]
    assert names == [
        "research-sequential (eager)",
        "research-sequential (sequential)",
        "research-parallel (eager)",
        "research-parallel (sequential)",
    ]
    assert len(view.gantt.states()) == 4 and all(s.status == "succeeded" for s in view.gantt.states())
    assert "fastest" not in cells(view, 1)[7]  # the staircase is never the fastest


def test_several_concurrency_caps_label_the_rows(qtbot, qasync_loop):
    graph = load("research-parallel")
    runner = CompareRunner()
    results = []
    runner.finished.connect(results.append)
    task = runner.start([("p", graph)], ["eager"], fast_context, concurrencies=[1, 5])
    qtbot.waitUntil(task.done, timeout=30_000)
    (result,) = results
    assert [row.label for row in result.rows] == ["research-parallel · cap 1", "research-parallel · cap 5"]
    assert [row.states[0].started.concurrency for row in result.rows] == [1, 5]
    assert "fastest" in result.rows[1].marks and "fastest" not in result.rows[0].marks


def test_cancel_stops_the_comparison_and_leaves_the_view_usable(view, qtbot, qasync_loop):
    slow = lambda index: RunContext(  # noqa: E731
        provider=make_provider("simulated", clock=Clock(), seed=index),
        clock=Clock(),
        seed=index,
    )
    view.set_source(load("research-hybrid"), slow)
    cancelled = []
    view.runner.cancelled.connect(lambda: cancelled.append(True))
    task = view.run_comparison()
    qtbot.waitUntil(lambda: view.runner.running)
    view.cancel_button.click()
    qtbot.waitUntil(task.done, timeout=15_000)
    assert task.cancelled() and cancelled == [True]
    assert view.status.text() == "Cancelled." and view.run_button.isEnabled()
    assert view.result is None and view.table.rowCount() == 0


def test_a_failure_is_reported(qtbot, qasync_loop):
    runner = CompareRunner()
    failures = []
    runner.failed.connect(failures.append)
    task = runner.start([("h", load("research-hybrid"))], ["eager"], fast_context, inputs={"nope": "x"})
    qtbot.waitUntil(task.done, timeout=10_000)
    assert len(failures) == 1 and "nope" in failures[0]


def test_run_comparison_coroutine_with_one_cap_is_run_bench(qtbot):
    graph = load("research-parallel")
    result = run_virtual(run_comparison([("p", graph)], ["eager", "sequential"], virtual_context, concurrencies=[2]))
    assert [r.states[0].started.concurrency for r in result.rows] == [2, 2]
    assert [r.label for r in result.rows] == ["research-parallel (eager)", "research-parallel (sequential)"]


def test_a_failed_row_says_why_in_red_and_is_not_ranked(view):
    """Issue 12, item 3: a failed run is never fastest or cheapest, never the baseline, and its row says why."""
    from chainstudio.core.providers.simulated import Faults
    from chainstudio.ui.planning.compare_view import PROBLEM_COLOR

    def failing(index):
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        provider = make_provider("simulated", clock=clock, seed=index, faults=Faults(server_error=1.0))
        return RunContext(provider=provider, clock=clock, seed=index)

    broken = load("research-parallel")
    failed = run_virtual(run_bench([("broken.chain.json", broken)], ["sequential"], 1, failing))
    good = run_virtual(
        run_bench([("research-hybrid.chain.json", load("research-hybrid"))], STRATEGIES, 1, virtual_context)
    )
    from chainstudio.core.planning.compare import summarize

    result = summarize(failed.rows + good.rows)
    view.set_result(result)
    shown = [cells(view, r) for r in range(view.table.rowCount())]
    failed_row = shown[0]
    assert failed_row[6] == "" and failed_row[7].startswith("failed: ") and "HTTP 500" in failed_row[7]
    assert view.table.item(0, 7).foreground().color().name() == PROBLEM_COLOR
    assert all("fastest" not in row[7] and "cheapest" not in row[7] for row in shown[:1])
    assert any("fastest" in row[7] for row in shown[1:]) and any("cheapest" in row[7] for row in shown[1:])
    assert "did not succeed: not ranked" in view.summary.text()
    assert "broken" not in view.summary.text().split("Speed-up")[1]  # never the baseline
