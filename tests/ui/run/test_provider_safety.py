"""Issue 12, item 2: the app never moves to a real endpoint by itself. The provider in effect is saved as the
user left it (toolbar or Settings), and after a relaunch the banner, the toolbar and the status bar agree
on it; F5 on Simulated sends nothing to the configured server (a local fake that counts every request)."""

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from chainstudio.core.storage.history import RunHistory
from chainstudio.core.storage.settings import load_settings
from chainstudio.ui.main_window import MainWindow
from chainstudio.ui.run.settings_dialog import SettingsDialog
from chainstudio.ui.services import AppServices
from tests.support.fake_openai_server import FakeOpenAIServer


@pytest.fixture
def config(monkeypatch, tmp_path):
    monkeypatch.setenv("CHAINSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def server():
    with FakeOpenAIServer() as fake:
        yield fake


def launch(qtbot, tmp_path) -> MainWindow:
    """A fresh app start: services built from what is on disk, the window at its default size."""
    services = AppServices.create(
        ui_state=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
        history=RunHistory(tmp_path / "history.sqlite3"),
    )
    window = MainWindow(services=services)
    qtbot.addWidget(window)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    window.start([])
    qtbot.waitUntil(lambda: "(F5)" in window.runs.run_action.toolTip())  # the tooltip follows the graph
    return window


def quit_app(qtbot, window: MainWindow) -> None:
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible())


def choose(qtbot, combo, value) -> None:
    """Pick ``value`` in a closed combo box with the keyboard, as a user does (emits ``activated``)."""
    combo.setFocus()
    key = Qt.Key.Key_Down if combo.findData(value) > combo.currentIndex() else Qt.Key.Key_Up
    while combo.currentData() != value:
        QTest.keyClick(combo, key)


def says(window: MainWindow) -> tuple[str, str, str, bool]:
    """(toolbar provider, banner mode, status-bar provider label, banner visible)."""
    return (
        window.runs.toolbar.options().provider,
        window.banner.mode,
        window.runs.provider_status.text(),
        window.banner.isVisible(),
    )


def run_with_f5(qtbot, window: MainWindow) -> None:
    choose(qtbot, window.runs.toolbar.speed, 20.0)  # the simulated welcome graph in under a second
    window.view.setFocus()
    QTest.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.runs.state is not None and not window.runs.controller.running, timeout=20_000)


def test_settings_then_toolbar_back_to_simulated_survives_a_relaunch_and_f5_calls_nothing(
    qtbot, qasync_loop, config, server
):
    window = launch(qtbot, config)
    assert says(window)[:3] == ("simulated", "simulated", "Runs on: Simulated")

    # Settings → OpenAI-compatible, the fake server's URL, Save (mouse and keyboard)
    QTest.mouseClick(window.runs.toolbar.widgetForAction(window.runs.settings_action), Qt.MouseButton.LeftButton)
    dialog = window.runs._dialog
    assert isinstance(dialog, SettingsDialog) and dialog.isVisible()
    choose(qtbot, dialog.provider, "openai")
    QTest.mouseClick(dialog.base_url, Qt.MouseButton.LeftButton)
    QTest.keyClicks(dialog.base_url, server.url)
    QTest.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    provider, mode, label, shown = says(window)
    assert (provider, mode, shown) == ("openai", "openai", True) and server.url in label
    assert server.url in window.banner.label.text() and "Real endpoint" in window.banner.label.text()

    # the toolbar back to Simulated: saved at once, everything agrees
    choose(qtbot, window.runs.toolbar.provider, "simulated")
    assert load_settings().provider == "simulated" and load_settings().base_url == server.url
    assert says(window) == ("simulated", "simulated", "Runs on: Simulated", True)
    quit_app(qtbot, window)

    # relaunch: still Simulated everywhere, and F5 sends nothing to the server
    window = launch(qtbot, config)
    assert says(window) == ("simulated", "simulated", "Runs on: Simulated", True)
    assert "Simulated provider active" in window.banner.label.text()
    assert "simulated provider" in window.statusBar().currentMessage()
    assert "simulated provider" in window.runs.run_action.toolTip()
    assert "Press <b>F5</b>" in window.banner.label.text()  # the first-run hint names the next action
    run_with_f5(qtbot, window)
    assert window.runs.state.status == "succeeded" and window.runs.state.simulated
    assert server.stats.http_requests == 0
    qtbot.waitUntil(lambda: "Ctrl+B" in window.banner.label.text())  # after the run: what to look at next
    assert window.runs.run_action.toolTip().startswith("Run again on the simulated provider")
    quit_app(qtbot, window)


def test_a_real_endpoint_the_user_left_is_kept_and_named_everywhere(qtbot, qasync_loop, config, server):
    window = launch(qtbot, config)
    window.services.settings.save(
        # as the Settings dialog leaves it: an endpoint configured, the provider still Simulated
        type(window.services.settings.current)(provider="simulated", base_url=server.url)
    )
    choose(qtbot, window.runs.toolbar.provider, "openai")
    quit_app(qtbot, window)

    window = launch(qtbot, config)
    provider, mode, label, shown = says(window)
    assert (provider, mode, shown) == ("openai", "openai", True) and label == f"Runs on: {server.url}"
    assert server.url in window.statusBar().currentMessage() and server.url in window.runs.run_action.toolTip()
    window.view.setFocus()
    QTest.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.runs.state is not None and not window.runs.controller.running, timeout=30_000)
    assert window.runs.state.status == "succeeded" and not window.runs.state.simulated
    assert server.stats.requests == 6  # the welcome graph's six model calls, on the endpoint shown

    # one click on the banner goes back to Simulated, saved for the next launch
    QTest.mouseClick(window.banner.back_to_simulated, Qt.MouseButton.LeftButton)
    assert says(window)[:2] == ("simulated", "simulated") and load_settings().provider == "simulated"
    quit_app(qtbot, window)
