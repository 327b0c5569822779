"""Benchmark tables: only runs that succeeded are ranked; rows of graphs sharing a name are told apart."""

import asyncio

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.compare import missing_inputs, row_labels, run_bench, undeclared_inputs
from chainstudio.core.providers.simulated import Faults, SimulatedProvider
from chainstudio.core.run.executor import RunContext, RunError
from chainstudio.core.run.virtual_time import run_virtual
from chainstudio.core.storage.fileformat import load
from tests.conftest import EXAMPLES


def context(index, faults=None):
    clock = Clock(monotonic=asyncio.get_running_loop().time)
    return RunContext(SimulatedProvider(seed=index, clock=clock, faults=faults or Faults()), clock=clock, seed=index)


def hybrid(default=True):
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    if not default:
        graph.inputs[0].default = None
    return graph


def test_failed_rows_are_never_ranked_nor_a_baseline_and_say_why():
    """Issue 12, item 3: runs that failed in milliseconds used to be marked fastest and cheapest, and the
    failed sequential run was the baseline."""
    graphs = [("broken.chain.json", hybrid(default=False)), ("ok.chain.json", hybrid())]
    result = run_virtual(run_bench(graphs, ["sequential", "eager"], 1, context))
    broken = [row for row in result.rows if row.file == "broken.chain.json"]
    good = [row for row in result.rows if row.file == "ok.chain.json"]
    assert [row.ok for row in broken] == [False, False] and [row.ok for row in good] == [True, True]
    for row in broken:
        assert row.marks == [] and row.speedup is None and row.baseline is None
        assert row.problem.startswith("failed: topic:") and "no value" in row.problem
    assert result.ranked == good
    assert {mark for row in good for mark in row.marks} == {"fastest", "cheapest", "longest output"}
    assert "fastest" in good[1].marks  # eager beats sequential
    assert {row.baseline for row in good} == {good[0].label} and good[0].speedup == 1.0
    assert result.by_mark("fastest") is good[1]


def test_nothing_ranked_when_nothing_succeeded():
    result = run_virtual(run_bench([("b.chain.json", hybrid(default=False))], ["eager"], 1, context))
    (row,) = result.rows
    assert result.ranked == [] and row.marks == [] and row.speedup is None and "failed" in row.problem


def test_a_row_whose_model_calls_fail_is_not_ranked():
    faulty = lambda index: context(index, Faults(server_error=1.0))  # noqa: E731 - every call fails
    graphs = [("a.chain.json", hybrid())]
    result = run_virtual(run_bench(graphs, ["eager"], 1, faulty))
    (row,) = result.rows
    assert not row.ok and row.marks == [] and "HTTP 500" in row.problem


def test_inputs_go_to_the_graphs_that_declare_them_and_missing_ones_are_named():
    declares = hybrid(default=False)
    other = Graph("plain")
    graphs = [("a.chain.json", declares), ("b.chain.json", other)]
    assert missing_inputs(graphs, {}) == {"a.chain.json": ["topic"]}
    assert missing_inputs(graphs, {"topic": "x"}) == {}
    assert undeclared_inputs(graphs, {"topic": "x", "tpoic": "y"}) == ["tpoic"]
    with pytest.raises(RunError, match="tpoic"):
        run_virtual(run_bench(graphs, ["eager"], 1, context, inputs={"tpoic": "y"}))
    result = run_virtual(run_bench([("a.chain.json", declares)], ["eager"], 1, context, inputs={"topic": "qubits"}))
    assert result.rows[0].ok


def test_two_files_with_the_same_graph_name_get_labels_that_tell_them_apart():
    same = [("v1/research.chain.json", Graph("research")), ("v2/research.chain.json", Graph("research"))]
    assert row_labels(same) == ["research [v1/research.chain.json]", "research [v2/research.chain.json]"]
    names = [("a/x.chain.json", Graph("r")), ("b/y.chain.json", Graph("r")), ("c/z.json", Graph("s"))]
    assert row_labels(names) == ["r [x.chain.json]", "r [y.chain.json]", "s"]
    assert row_labels([("x.json", Graph("r")), ("x.json", Graph("r"))]) == ["r [x.json #1]", "r [x.json #2]"]
