"""A big graph's problems are found on a worker thread, never on the window's (issue 14): meanwhile the
status bar says "checking…", the inspector says so, badges of the revision before are dimmed, and Run
waits for the check; a check of a revision edited meanwhile is dropped."""

from __future__ import annotations

import threading

import pytest

from chainstudio.core.editing import problem_check
from chainstudio.core.editing.commands import Rename, SetParam
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.validation import Problem, errors, validate
from chainstudio.core.launch import RunOptions
from chainstudio.core.storage import fileformat
from chainstudio.ui.canvas.scene import CHECKING_OPACITY
from chainstudio.ui.editing.problem_checker import ProblemChecker, problems_text
from chainstudio.ui.inspector.node_form import CHECKING_TEXT
from tests.core.editing.test_problem_check import big_graph


def broken_big_graph():
    graph = big_graph()
    step = next(n for n in graph.nodes.values() if n.name == "s5")
    step.params["prompt"] = "{{ nowhere }}"
    return graph, step.id


@pytest.fixture
def held(monkeypatch):
    """Checks wait for ``held.set()`` before they validate (a check still running, for as long as a test
    needs); the threads they ran on are in ``held.threads``."""
    gate = threading.Event()
    gate.threads = []
    run = problem_check.ProblemCheck.run

    def waiting(self):
        gate.threads.append(threading.current_thread())
        assert gate.wait(10)
        return run(self)

    monkeypatch.setattr(problem_check.ProblemCheck, "run", waiting)
    return gate


def test_a_big_graph_is_checked_on_a_worker_thread(qtbot, held):
    document = Document()
    checker = ProblemChecker(document)
    graph, _ = broken_big_graph()
    document.replace(graph)
    assert document.known_problems is None  # nothing validated on this thread
    qtbot.waitUntil(lambda: bool(held.threads))
    assert document.known_problems is None and checker.busy
    held.set()
    qtbot.waitUntil(lambda: document.problems_known)
    (thread,) = held.threads
    assert thread is not threading.main_thread() and checker.thread_names == ["chainstudio-validate"]
    assert document.known_problems == validate(graph)
    assert any("'nowhere'" in p.message for p in errors(document.known_problems))
    assert not checker.busy


def test_a_check_of_a_revision_edited_meanwhile_is_dropped_and_the_new_one_checked(qtbot, held, monkeypatch):
    document = Document()
    checker = ProblemChecker(document)
    document.replace(big_graph())
    qtbot.waitUntil(lambda: bool(held.threads))  # the first check runs (held) ...
    step = next(n for n in document.graph.nodes.values() if n.name == "s7")
    document.execute(SetParam(step.id, "prompt", "{{ nowhere }}"))  # ... when an edit comes
    accepted = []
    accept = document.accept
    monkeypatch.setattr(document, "accept", lambda result: accepted.append(accept(result)) or accepted[-1])
    held.set()
    qtbot.waitUntil(lambda: document.problems_known and not checker.busy)
    assert accepted == [False, True] and len(held.threads) == 2
    assert [p.node_id for p in errors(document.known_problems or [])] == [step.id]


def test_a_small_graph_needs_no_worker(qtbot):
    document = Document()
    checker = ProblemChecker(document)
    document.graph.add("llm", "a", prompt="{{ nowhere }}")
    document.replace(document.graph)
    assert errors(document.known_problems or []) and not checker.busy and checker.thread_names == []


def test_problems_text():
    error, warning = Problem("error", "a.prompt", "bad", "a"), Problem("warning", "a", "unused", "a")
    assert problems_text(None) == "checking…" and problems_text([]) == "no problems"
    assert problems_text([error, warning, warning]) == "1 error, 2 warnings"
    assert problems_text([warning]) == "1 warning" and problems_text([error] * 1200) == "1,200 errors"


def test_the_window_says_checking_then_the_count_and_run_waits_for_the_check(qtbot, app_window, held, tmp_path):
    graph, broken_id = broken_big_graph()
    counted = problems_text(validate(graph))  # 1 error (s5's prompt), 3 warnings (the edges into s5)
    assert counted == "1 error, 3 warnings"
    path = tmp_path / "big.chain.json"
    fileformat.save(graph, path)
    assert app_window.open_path(path)
    qtbot.waitUntil(lambda: app_window.files.loader.loading is None, timeout=10000)  # (read on a worker: big)
    assert app_window.summary.text().endswith("· checking…")
    app_window.select_node(broken_id)
    app_window.inspector.update_problems()
    assert app_window.inspector.node_form.problems.text() == CHECKING_TEXT
    app_window.runs.request_run(RunOptions(speed=40.0))  # F5 while checking: waits
    assert not app_window.runs.controller.running
    assert "Checking the graph" in app_window.statusBar().currentMessage()
    assert "Checking the graph" in app_window.runs.run_action.toolTip() or app_window.runs._tip_timer.isActive()
    held.set()
    qtbot.waitUntil(lambda: app_window.document.problems_known)
    assert app_window.summary.text().endswith(f"· {counted}")
    # ... then the run it asked for is refused, with the reason where the user looks
    qtbot.waitUntil(lambda: app_window.view.notice.isVisible())
    assert "Cannot run" in app_window.view.notice.text() and not app_window.runs.controller.running
    badge = app_window.scene.nodes[broken_id].problem_badge
    qtbot.waitUntil(lambda: badge.isVisible() and badge.opacity() == 1.0)
    assert "'nowhere'" in app_window.inspector.node_form.problems.text()
    # an edit: the badges of the revision before are dimmed until its check is in
    held.clear()
    app_window.document.execute(Rename(broken_id, "renamed"))
    qtbot.waitUntil(lambda: badge.opacity() == CHECKING_OPACITY)
    assert app_window.summary.text().endswith("· checking…")
    held.set()
    qtbot.waitUntil(lambda: badge.opacity() == 1.0 and app_window.document.problems_known)
    assert app_window.summary.text().endswith(f"· {counted}")


def test_run_starts_once_the_check_finds_no_error(qtbot, app_window, held):
    app_window.document.replace(big_graph())
    app_window.runs.request_run(RunOptions(speed=1000.0))
    assert not app_window.runs.controller.running
    held.set()
    qtbot.waitUntil(lambda: app_window.runs.controller.running, timeout=10000)
    app_window.runs.controller.stop()
    qtbot.waitUntil(lambda: not app_window.runs.controller.running, timeout=10000)
    assert app_window.runs.controller.run.state.status == "cancelled"
