"""A big graph's estimate in a child process: the same figures as in the window's process, no Qt in the
child, a one-line message in the label when the child dies or hangs, and the child gone after a stop."""

import os
import signal
import threading
import time

import pytest

from chainstudio.core import tokens
from chainstudio.core.planning import estimate_process
from chainstudio.core.planning.estimate import estimate
from chainstudio.core.planning.estimate_process import EstimateFailed, EstimateProcess, EstimateProcessError
from chainstudio.core.planning.estimate_wire import EstimateReader, GraphReader, estimate_frames, graph_frames
from chainstudio.core.planning.latency_model import fit_model
from chainstudio.core.run.cache import CacheUse, Endpoint
from chainstudio.core.storage import fileformat
from chainstudio.core.storage.step_cache import PeekingCache, StepCacheStore
from chainstudio.ui.planning.estimate_label import EstimateLabel, compute_estimate, out_of_process
from tests.conftest import EXAMPLES
from tests.support.engine import run_simulated


@pytest.fixture(scope="module")
def hybrid():
    return fileformat.load(EXAMPLES / "research-hybrid.chain.json")


def _same(a, b) -> None:
    assert a.state is not None and b.state is None  # the simulated run stays in the child
    assert b.to_json() == a.to_json()


def test_the_wire_gives_the_graph_and_the_estimate_back_whole(hybrid):
    reader = GraphReader()
    for frame in graph_frames(hybrid):
        reader.take(frame)
    assert fileformat.dumps(reader.graph) == fileformat.dumps(hybrid)
    result = estimate(hybrid)
    back = EstimateReader()
    for frame in estimate_frames(result):
        back.take(frame)
    _same(result, back.result())


def test_a_small_graph_forced_through_the_child_gives_the_in_process_figures(hybrid):
    calibration = run_simulated(hybrid, seed=1)
    options = {
        "strategy": "eager",
        "concurrency": 2,
        "latency": fit_model([calibration.state], "simulated", graph=hybrid),
        "inputs": {},
    }
    process = EstimateProcess()
    _same(estimate(hybrid, **options), process.run(hybrid, options))
    assert process.qt_in_child is False and process.child_peak_mb and process.child_peak_mb > 10


def test_the_step_cache_goes_to_the_child_as_its_file(hybrid, tmp_path):
    store = StepCacheStore(tmp_path / "cache.sqlite3")
    cache = CacheUse(PeekingCache(store), Endpoint("simulated", seed=7, simulated=True), write=False)
    options = {"cache": cache, "inputs": {}}
    assert estimate_process.can_send(options)
    _same(estimate(hybrid, **options), EstimateProcess().run(hybrid, options))


def test_only_a_big_graph_goes_to_a_child(hybrid):
    assert not out_of_process(hybrid, {})
    big = hybrid.copy()
    for i in range(1_300):
        big.add("join", f"pad_{i}")
    assert out_of_process(big, {})
    assert not out_of_process(big, {"cache": CacheUse(object(), Endpoint("x"), write=False)})  # not a SQLite file


def test_an_estimate_that_fails_in_the_child_says_why_in_one_line(hybrid):
    with pytest.raises(EstimateFailed) as failed:
        EstimateProcess().run(hybrid, {"strategy": "no-such-strategy"})
    assert "\n" not in str(failed.value) and str(failed.value)


def _command_line(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _child_pids() -> set[int]:
    me = str(os.getpid())
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me:
                found.add(int(entry))
    return found


@pytest.fixture
def label(qtbot):
    widget = EstimateLabel()
    qtbot.addWidget(widget)
    return widget


def _on_its_child(process: EstimateProcess, do) -> None:
    """Make ``process.run`` call ``do(pid)`` on its child as soon as the child runs the estimate's program (a
    child stopped between fork and exec kept ``Popen`` in the parent waiting for the exec: the test hung)."""
    before = _child_pids()
    real_run = process.run

    def run(graph, options):
        def soon() -> None:
            for _ in range(1_000):
                for pid in _child_pids() - before:
                    if b"chainstudio.core.planning.estimate_process" in _command_line(pid):
                        do(pid)
                        return
                time.sleep(0.01)

        threading.Thread(target=soon, daemon=True).start()
        return real_run(graph, options)

    process.run = run


def test_a_killed_child_gives_a_one_line_message_in_the_label(qtbot, qasync_loop, hybrid, label):
    process = EstimateProcess()
    _on_its_child(process, lambda pid: os.kill(pid, signal.SIGKILL))
    task = qasync_loop.create_task(compute_estimate(hybrid, process, strategy="sequential"))
    qtbot.waitUntil(task.done, timeout=30_000)
    with pytest.raises(EstimateProcessError) as stopped:
        task.result()
    assert str(stopped.value) == "the estimate's process ended unexpectedly (exit code -9)"
    label.set_failed(stopped.value.short, str(stopped.value))
    assert label.text() == "≈ ⚠ estimate's process died (-9)"
    assert "ended unexpectedly (exit code -9)" in label.toolTip() and "#b3261e" in label.styleSheet()


def test_a_hung_child_is_stopped_after_its_time_and_says_so(hybrid):
    process = EstimateProcess(timeout_s=3)
    _on_its_child(process, lambda pid: os.kill(pid, signal.SIGSTOP))  # it never answers
    with pytest.raises(EstimateProcessError, match=r"^the estimate's process took over 3 s and was stopped$"):
        process.run(hybrid, {})


def test_a_cancelled_estimate_kills_its_child(qtbot, qasync_loop, hybrid):
    before = _child_pids()
    process = EstimateProcess()
    task = qasync_loop.create_task(compute_estimate(hybrid, process, strategy="sequential"))
    qtbot.waitUntil(lambda: bool(_child_pids() - before), timeout=10_000)
    task.cancel()
    qtbot.waitUntil(lambda: not (_child_pids() - before), timeout=10_000)
    assert task.cancelled()


def _wide(tmp_path, steps: int = 650):
    """A graph of ``steps`` model steps, each reading one input (over 1,200 steps and edges together)."""
    from chainstudio.core.graph.model import Graph, GraphInput

    graph = Graph(name="wide", inputs=[GraphInput("topic", "tea")])
    topic = graph.add("input", "topic", (0.0, 0.0), input="topic")
    for i in range(steps):
        step = graph.add("llm", f"s{i}", (300.0, 120.0 * i), prompt="About {{ topic }}", max_tokens=20)
        graph.connect(topic.id, step.id)
    path = tmp_path / "wide.chain.json"
    fileformat.save(graph, path)
    return path


def test_the_window_estimates_a_big_graph_in_a_child_and_stops_it_on_close(qtbot, app_window, tmp_path):
    window = app_window
    assert window.open_path(_wide(tmp_path))
    qtbot.waitUntil(lambda: window.estimate._process is not None, timeout=30_000)  # a child computes it
    qtbot.waitUntil(lambda: window.estimate.label.estimate is not None, timeout=60_000)
    result = window.estimate.label.estimate
    assert result.state is None and len(result.nodes) == 651 and window.estimate.child_peak_mb
    assert not tokens.tokenizer_loaded()  # the window counts nothing for this graph: its tables were dropped
    card = window.scene.nodes[window.document.graph.node_by_name("s3").id]
    assert card.run_badge is not None and card.run_badge.text.startswith("≈")
    before = _child_pids()
    s3 = window.document.graph.node_by_name("s3").id
    window.controller.set_param(s3, "max_tokens", 30)
    qtbot.waitUntil(lambda: window.estimate._process is not None, timeout=30_000)
    sending = window.estimate._process
    window.controller.set_param(s3, "max_tokens", 31)  # an edit while the graph goes to the child: it is dropped
    assert sending._stopped
    qtbot.waitUntil(lambda: window.estimate._process not in (None, sending), timeout=30_000)
    window.stop_background_work()  # what closing the window does: the child goes at once
    qtbot.waitUntil(lambda: not (_child_pids() - before), timeout=10_000)
