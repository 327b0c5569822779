"""Background work on a worker thread keeps out of a live run's way: it waits at its checkpoints while a run
is live, and a cancelled task stops at its next checkpoint instead of running to the end."""

import time

from chainstudio.core.planning.estimate import estimate
from chainstudio.core.storage.fileformat import load
from chainstudio.ui.common import worker
from tests.conftest import EXAMPLES


def steps(n, log, checkpoint):
    for i in range(n):
        checkpoint()
        log.append(i)
        time.sleep(0.002)
    return len(log)


def test_checkpoints_wait_while_a_run_is_live(qtbot, qasync_loop):
    log = []
    worker.pause_background()
    try:
        task = qasync_loop.create_task(worker.run_in_worker(steps, 50, log, checkpointed=True))
        qtbot.wait(150)
        assert log == [] and not task.done()  # paused at its first checkpoint
    finally:
        worker.resume_background()
    qtbot.waitUntil(task.done, timeout=5000)
    assert task.result() == 50


def test_a_cancelled_task_stops_at_its_next_checkpoint(qtbot, qasync_loop):
    log = []

    def slow(checkpoint):
        return steps(2000, log, checkpoint)

    task = qasync_loop.create_task(worker.run_in_worker(slow, checkpointed=True))
    qtbot.waitUntil(lambda: len(log) > 3, timeout=5000)
    task.cancel()
    qtbot.waitUntil(task.done, timeout=5000)
    assert task.cancelled()
    count = len(log)
    qtbot.wait(100)
    assert len(log) <= count + 1 and count < 2000  # the thread stopped


def test_the_estimate_calls_its_checkpoint_before_each_model_call():
    calls = []
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    result = estimate(graph, checkpoint=lambda: calls.append(1))
    assert len(calls) == result.api_calls == 6


def test_without_checkpoints_nothing_waits(qtbot, qasync_loop):
    worker.pause_background()
    try:
        task = qasync_loop.create_task(worker.run_in_worker(sum, [1, 2, 3]))
        qtbot.waitUntil(task.done, timeout=5000)
        assert task.result() == 6
    finally:
        worker.resume_background()
    assert not worker.background_paused()


def test_a_live_run_pauses_background_work_until_it_ends(qtbot, app_window):
    from chainstudio.core.launch import RunOptions

    assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
    app_window.runs.request_run(RunOptions(speed=50.0))
    assert app_window.runs.controller.running and worker.background_paused()
    qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=20_000)
    assert not worker.background_paused()


def test_run_in_thread_returns_and_raises_in_the_awaiting_task(qtbot, qasync_loop):
    import threading

    names = []

    def where():
        names.append(threading.current_thread().name)
        return 42

    def broken():
        raise ValueError("nope")

    ok = qasync_loop.create_task(worker.run_in_thread(where))
    bad = qasync_loop.create_task(worker.run_in_thread(broken))
    qtbot.waitUntil(lambda: ok.done() and bad.done(), timeout=5000)
    assert ok.result() == 42 and names == ["chainstudio-where"]
    assert isinstance(bad.exception(), ValueError)


def test_a_task_cancelled_while_paused_stops_without_waiting_for_the_run_to_end(qtbot, qasync_loop):
    """Quitting during a live run cancels the estimate: its thread, paused at a checkpoint, must stop then
    (the interpreter joins worker threads at exit), not when the run would have ended."""
    stopped, went_on = [], []

    def work(checkpoint):
        try:
            checkpoint()
        except worker.WorkerStopped:
            stopped.append(True)
            raise
        went_on.append(True)

    worker.pause_background()
    try:
        task = qasync_loop.create_task(worker.run_in_worker(work, checkpointed=True))
        qtbot.wait(100)
        assert stopped == [] and went_on == []  # paused at its checkpoint
        task.cancel()
        qtbot.waitUntil(task.done, timeout=2000)
        qtbot.waitUntil(lambda: stopped == [True], timeout=2000)  # while the pause goes on
    finally:
        worker.resume_background()
    assert went_on == []
