"""A big graph's run is made on a worker thread (its snapshot and plan took 0.6-0.8 s of the window's thread for
10,000 steps), with no full garbage collection while it is made and runs; an edit while it is made makes it
again from the edited graph; Stop while it is made leaves the window as before. The threshold is lowered here
so that an example graph counts as big."""

import gc
import threading

import pytest

from chainstudio.core.collector import NO_FULL_PASS
from chainstudio.core.launch import RunOptions
from chainstudio.core.run import executor
from chainstudio.ui.run import controller as controller_module
from chainstudio.ui.run import prepare
from tests.conftest import EXAMPLES


@pytest.fixture
def made_on(monkeypatch, app_window):
    """The welcome graph open; the names of the threads its runs are made on, in order."""
    threads: list[str] = []
    original = executor.Run.__init__

    def recording(self, *args, **kwargs):
        threads.append(threading.current_thread().name)
        original(self, *args, **kwargs)

    monkeypatch.setattr(executor.Run, "__init__", recording)
    assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
    return threads


@pytest.fixture
def big(monkeypatch, app_window, made_on):
    monkeypatch.setattr(controller_module, "BIG_RUN_STEPS", 1)
    return app_window, made_on


def test_a_big_run_is_made_off_the_window_thread_and_runs_without_full_collections(qtbot, big):
    window, made_on = big
    thresholds = gc.get_threshold()
    seen: list[int] = []
    window.runs.controller.bridge.runStarted.connect(lambda _state: seen.append(gc.get_threshold()[2]))
    window.runs.request_run(RunOptions(speed=40.0))
    assert window.runs.controller.running and window.runs.controller.run is None  # being made
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=30000)
    assert window.runs.state is not None and window.runs.state.status == "succeeded"
    assert made_on.count("chainstudio-make_run") == 1 and threading.main_thread().name not in made_on
    assert seen == [NO_FULL_PASS]  # while it ran: young passes only
    assert gc.get_threshold() == thresholds  # restored at its end
    assert {s.status for s in window.runs.state.spans.values()} == {"succeeded"}
    (summary,) = window.runs.controller.history.runs(graph_name="research-hybrid")  # recorded as it went
    assert summary.source == "gui" and summary.status == "succeeded"


def test_an_edit_while_the_run_is_made_makes_it_again_from_the_edited_graph(qtbot, big, monkeypatch):
    window, made_on = big
    document = window.document
    edited = []
    original = prepare.run_in_thread

    async def edit_meanwhile(func):
        run = await original(func)
        if not edited:  # the first snapshot is taken; then the user renames a step
            node = next(n for n in document.graph.nodes.values() if n.name == "summary")
            assert window.controller.rename(node.id, "wrap_up")
            edited.append(node.id)
        return run

    monkeypatch.setattr(prepare, "run_in_thread", edit_meanwhile)
    window.runs.request_run(RunOptions(speed=40.0))
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=30000)
    assert made_on.count("chainstudio-make_run") == 2  # made again after the edit
    assert window.runs.state.spans[edited[0]].name == "wrap_up"


def test_stop_while_the_run_is_made_leaves_the_window_as_before(qtbot, big):
    window, _made_on = big
    started: list[object] = []
    window.runs.controller.bridge.runStarted.connect(started.append)
    thresholds = gc.get_threshold()
    window.runs.request_run(RunOptions(speed=40.0))
    window.runs.stop_action.trigger()  # before its making began
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=10000)
    qtbot.wait(200)
    assert started == [] and window.runs.run_action.isEnabled() and not window.runs.stop_action.isEnabled()
    window.runs.request_run(RunOptions(speed=40.0))
    qtbot.wait(1)  # its making began on a worker thread
    window.runs.stop_action.trigger()
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=10000)
    qtbot.wait(200)
    assert started == [] and window.runs.run_action.isEnabled() and not window.runs.stop_action.isEnabled()
    assert gc.get_threshold() == thresholds


def test_a_big_run_loads_the_tokenizer_on_its_worker_thread(qtbot, big, monkeypatch):
    """(After a big graph's estimate released the tokenizer, loading it again held the window 0.2-0.3 s.)"""
    window, _made_on = big
    warmed: list[str] = []
    monkeypatch.setattr(controller_module, "warm_up", lambda: warmed.append(threading.current_thread().name))
    window.runs.request_run(RunOptions(speed=40.0))
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=30000)
    assert warmed and threading.main_thread().name not in warmed


def test_a_run_whose_calibration_must_read_recorded_runs_is_made_off_the_window_thread(qtbot, app_window, made_on):
    """Priming a run decodes the endpoint's recorded runs and fits them (0.37 s of the window's thread at a
    Run): when that is not cached, a small graph's run is made on a worker thread too; when it is, at once."""
    from chainstudio.core.planning import calibration

    controller = app_window.runs.controller
    for _ in range(2):  # the first with nothing recorded, the second with the first run recorded
        app_window.runs.request_run(RunOptions(speed=200.0))
        qtbot.waitUntil(lambda: not controller.running and app_window.runs.state.status == "succeeded", timeout=30000)
    assert made_on[0] == threading.current_thread().name and made_on[1] != made_on[0]
    calibration._models.clear()  # a cold cache: the recorded runs must be read again
    calibration._states.clear()
    app_window.runs.request_run(RunOptions(speed=200.0))
    assert controller.running and controller.run is None  # being made
    qtbot.waitUntil(lambda: not controller.running, timeout=30000)
    assert app_window.runs.state.status == "succeeded" and made_on[2] != threading.current_thread().name
    assert calibration.primes_at_once(controller.run.context, controller.history, controller.run.graph) is False
