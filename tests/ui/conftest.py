"""Shared UI test fixtures."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.fixture(scope="session")
def _session_qasync_loop(qapp):
    """One qasync loop for the whole session, created on first use (see ``qasync_loop``)."""
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.events._set_running_loop(None)  # only running while a test asks for it
    # A plain thread pool for run_in_executor, shut down at the end (qasync's default QThreadExecutor would
    # be left running when the session ends: "QThread: Destroyed while thread is still running").
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qasync-test")
    loop.set_default_executor(executor)
    yield loop
    executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def qasync_loop(_session_qasync_loop):
    """The session's qasync loop as the current, running loop for this test: ``loop.create_task`` works and
    ``qtbot.waitUntil`` drives asyncio. Never call ``loop.stop()`` on it (it would quit the QApplication).
    Afterwards no loop is marked running, so later tests can use ``asyncio.run`` again."""
    loop = _session_qasync_loop
    asyncio.set_event_loop(loop)
    asyncio.events._set_running_loop(loop)
    try:
        yield loop
    finally:
        asyncio.events._set_running_loop(None)
        asyncio.set_event_loop(None)


@pytest.fixture
def app_window(qtbot, qasync_loop, tmp_path):
    """The real main window on the qasync loop, with its own settings file and run history; any run or
    comparison still going at the end is stopped."""
    from PySide6.QtCore import QSettings

    from chainstudio.core.storage.history import RunHistory
    from chainstudio.ui.main_window import MainWindow

    win = MainWindow(
        QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
        history=RunHistory(tmp_path / "history.sqlite3"),
    )
    qtbot.addWidget(win)
    win.show()
    yield win
    win.stop_background_work()
    if win.runs.controller.running:
        win.runs.controller.stop()
        qtbot.waitUntil(lambda: not win.runs.controller.running, timeout=5000)


@pytest.fixture
def settings(tmp_path):
    """A QSettings file of the test's own."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    """The real main window at 1600x1000, shown and active, with its own settings file."""
    from chainstudio.ui.main_window import MainWindow

    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitActive(win)
    yield win
    win.document.replace(win.document.graph)  # unmodified, so closing does not ask
    win.close()


@pytest.fixture
def default_window(qtbot, qasync_loop, tmp_path):
    """The real main window as a first launch shows it: its default size, the welcome graph at the zoom
    it opens with, its own settings and history, on the qasync loop (F5 runs)."""
    from PySide6.QtCore import QSettings

    from chainstudio.core.storage.history import RunHistory
    from chainstudio.ui.main_window import MainWindow

    win = MainWindow(
        QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
        history=RunHistory(tmp_path / "history.sqlite3"),
    )
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitActive(win)
    win.start([])
    qtbot.waitUntil(lambda: len(win.scene.nodes) == 8 and win.view.zoom() < 1.0)
    qtbot.wait(20)  # the deferred fit and the scene's first flush
    yield win
    win.stop_background_work()
    if win.runs.controller.running:
        win.runs.controller.stop()
        qtbot.waitUntil(lambda: not win.runs.controller.running, timeout=5000)
    win.document.replace(win.document.graph)  # unmodified, so closing does not ask
    win.close()


@pytest.fixture(params=["opening", "fit"])
def far_out(request, default_window, qtbot):
    """The first launch's window at the zoom it opens with, or after F (fit) once the steps were laid out
    again (Ctrl+L): both below 50 %, where the canvas draws its overview."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    window = default_window
    if request.param == "fit":
        window.view.setFocus()
        QTest.keyClick(window.view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # auto-layout, then fit
        QTest.keyClick(window.view, Qt.Key.Key_F)
        qtbot.wait(10)
    assert window.view.zoom() < 0.5 and window.scene.overview.active  # the case that used to fail
    return window
