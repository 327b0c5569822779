"""Every run in the window, small or big, goes without full garbage collections (``core/collector.py``): a
20,000-item map's run of a two-step graph had six full passes of 218-491 ms, each a stall of the window.
The thresholds come back after the run however it ends (succeeded, failed, stopped); a scene pass ending
during the run does not bring full passes back; what is frozen across many runs stays bounded."""

import gc

from chainstudio.core import collector
from chainstudio.core.collector import NO_FULL_PASS
from chainstudio.core.launch import RunOptions
from chainstudio.ui.canvas.scene_build import CollectorPause
from tests.conftest import EXAMPLES

WELCOME = EXAMPLES / "research-hybrid.chain.json"


def _run(qtbot, window, options, stop=False):
    seen: list[int] = []
    window.runs.controller.bridge.runStarted.connect(lambda _state: seen.append(gc.get_threshold()[2]))
    window.runs.request_run(options)
    assert window.runs.controller.running
    if stop:
        qtbot.waitUntil(lambda: bool(seen), timeout=30000)
        window.runs.controller.stop()
    qtbot.waitUntil(lambda: not window.runs.controller.running, timeout=30000)
    return seen


def test_a_small_graph_s_run_makes_no_full_pass_and_the_thresholds_come_back(qtbot, app_window):
    thresholds = gc.get_threshold()
    assert app_window.open_path(WELCOME)
    seen = _run(qtbot, app_window, RunOptions(speed=200.0))
    assert seen == [NO_FULL_PASS]
    assert app_window.runs.state.status == "succeeded"
    assert gc.get_threshold() == thresholds and collector.held() == (0, 0)


def test_a_stopped_run_gives_the_thresholds_back(qtbot, app_window):
    thresholds = gc.get_threshold()
    assert app_window.open_path(WELCOME)
    seen = _run(qtbot, app_window, RunOptions(speed=1.0), stop=True)
    assert seen == [NO_FULL_PASS]
    assert app_window.runs.state.status == "cancelled"
    assert gc.get_threshold() == thresholds and collector.held() == (0, 0)


def test_a_run_that_fails_gives_the_thresholds_back(qtbot, app_window, monkeypatch):
    thresholds = gc.get_threshold()
    assert app_window.open_path(WELCOME)
    from chainstudio.core.run import executor

    async def broken(self):
        raise RuntimeError("a bug in the run")

    monkeypatch.setattr(executor.Run, "execute", broken)
    problems: list[str] = []
    app_window.runs.controller.problem.connect(problems.append)
    app_window.runs.request_run(RunOptions(speed=200.0))
    assert gc.get_threshold()[2] == NO_FULL_PASS
    qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=30000)
    assert problems and "internal error" in problems[0]
    assert gc.get_threshold() == thresholds and collector.held() == (0, 0)


def test_a_scene_pause_that_ends_during_a_run_keeps_the_run_s_rule(qtbot, app_window):
    assert app_window.open_path(WELCOME)
    pause = CollectorPause()
    during: list[tuple[bool, int]] = []

    def started(_state):
        pause.pause()
        pause.resume()  # a scene's sliced pass that ends while the run goes
        during.append((gc.isenabled(), gc.get_threshold()[2]))

    app_window.runs.controller.bridge.runStarted.connect(started)
    app_window.runs.request_run(RunOptions(speed=200.0))
    qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=30000)
    assert during == [(True, NO_FULL_PASS)]


def test_what_runs_leave_frozen_does_not_grow_over_repeated_runs(qtbot, app_window):
    assert app_window.open_path(WELCOME)
    counts = []
    for _ in range(11):
        _run(qtbot, app_window, RunOptions(speed=500.0))
        counts.append(gc.get_freeze_count())
    # a finished run is freed by its references (no cycle through it): before, each left ~430 objects frozen
    assert counts[-1] - counts[0] < 10 * 100


class Cycle:
    def __init__(self):
        self.me = self


def test_opening_a_document_thaws_and_collects_what_was_frozen_once_it_grew(qtbot, app_window, monkeypatch):
    monkeypatch.setattr(collector, "THAW_MIN_GROWTH", 3000)
    monkeypatch.setattr(collector, "THAW_GROWTH", 0.0)
    assert app_window.open_path(WELCOME)
    gc.collect()
    gc.freeze()
    monkeypatch.setattr(collector, "_frozen_after_thaw", gc.get_freeze_count())
    garbage = [Cycle() for _ in range(5000)]  # what an old canvas leaves in cycles, frozen after its build
    pause = CollectorPause()
    pause.pause()
    pause.resume()
    del garbage
    frozen = gc.get_freeze_count()
    assert app_window.open_path(EXAMPLES / "research-parallel.chain.json")
    assert gc.get_freeze_count() < frozen - 4900  # the 5,000 cycles were collected
