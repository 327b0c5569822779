"""The settings dialog as the user sees it: presets, the API key and where it goes, limits, price overrides."""

import json
import os
import stat

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from chainstudio.core.storage import settings as core_settings
from chainstudio.core.storage.settings import Settings, load_settings, stored_api_key
from chainstudio.ui.run.settings_dialog import SERVER_PRESETS, SettingsDialog

SENTINEL_KEY = "sk-test-SENTINEL-0123456789"


@pytest.fixture(autouse=True)
def clean_config(monkeypatch, tmp_path):
    monkeypatch.setenv("CHAINSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return tmp_path / "config"


@pytest.fixture
def dialog(qtbot):
    widget = SettingsDialog()
    qtbot.addWidget(widget)
    widget.open()
    qtbot.waitExposed(widget)
    return widget


def press_save(dialog, qtbot):
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)


def test_opens_non_modally_blocking_nothing_with_the_saved_settings(qtbot):
    core_settings.save_settings(
        Settings(
            provider="openai",
            base_url="http://localhost:11434/v1",
            default_model="llama3.1",
            concurrency=3,
            requests_per_minute=60,
            price_overrides={"llama3.1": {"input": 0.1, "output": 0.2}},
        )
    )
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open()  # returns at once (no nested event loop)
    assert dialog.isVisible()
    assert dialog.provider.currentData() == "openai"
    assert dialog.base_url.text() == "http://localhost:11434/v1"
    assert dialog.server.currentText().startswith("Ollama")
    assert dialog.default_model.text() == "llama3.1" and dialog.concurrency.value() == 3
    assert dialog.requests_per_minute.text() == "60 requests/min"
    assert dialog.tokens_per_minute.text() == "no limit"
    assert [dialog.prices.item(0, c).text() for c in range(3)] == ["llama3.1", "0.1", "0.2"]


def test_every_preset_fills_the_base_url_and_picks_the_openai_provider(dialog):
    assert dialog.provider.currentData() == "simulated" and not dialog.base_url.isEnabled()
    for index, (name, url) in enumerate(SERVER_PRESETS, start=1):
        dialog.server.setCurrentIndex(index)
        dialog.server.activated.emit(index)
        assert dialog.base_url.text() == url and dialog.server.currentText().startswith(name)
        assert dialog.provider.currentData() == "openai" and dialog.base_url.isEnabled()
    dialog.base_url.setText("http://gpu-box:9000/v1")
    assert dialog.server.currentText() == "Custom URL"


def test_save_writes_settings_and_emits_them(dialog, qtbot, clean_config):
    dialog.provider.setCurrentIndex(dialog.provider.findData("openai"))
    dialog.base_url.setText("http://localhost:8000/v1")
    dialog.default_model.setText("qwen2.5")
    dialog.strategy.setCurrentText("layered")
    dialog.concurrency.setValue(4)
    dialog.requests_per_minute.setValue(500)
    dialog.tokens_per_minute.setValue(200_000)
    dialog.add_price_row("qwen2.5", 0.25, 1.5)
    with qtbot.waitSignal(dialog.settingsSaved) as blocker:
        press_save(dialog, qtbot)
    expected = Settings(
        provider="openai",
        base_url="http://localhost:8000/v1",
        default_model="qwen2.5",
        strategy="layered",
        concurrency=4,
        requests_per_minute=500,
        tokens_per_minute=200_000,
        price_overrides={"qwen2.5": {"input": 0.25, "output": 1.5}},
    )
    assert blocker.args == [expected]
    assert load_settings() == expected
    assert not dialog.isVisible()
    assert "api_key" not in (clean_config / "settings.json").read_text()


def test_without_a_keyring_the_key_goes_to_a_private_file_with_a_visible_warning(dialog, qtbot, clean_config):
    dialog.provider.setCurrentIndex(dialog.provider.findData("openai"))
    assert dialog.key_warning.isHidden()
    dialog.api_key.setFocus()
    qtbot.keyClicks(dialog.api_key, SENTINEL_KEY)
    assert dialog.api_key.echoMode() == dialog.api_key.EchoMode.Password
    assert dialog.key_warning.isVisible() and "stored in a file" in dialog.key_warning.text()
    stored = []
    dialog.apiKeyStored.connect(stored.append)
    press_save(dialog, qtbot)
    assert stored == ["file"]
    assert stored_api_key() == (SENTINEL_KEY, "file")
    path = clean_config / "credentials.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert SENTINEL_KEY not in (clean_config / "settings.json").read_text()
    # Opened again: the key is there (hidden) and the warning says where it is kept.
    again = SettingsDialog()
    qtbot.addWidget(again)
    again.open()
    assert again.api_key.text() == SENTINEL_KEY
    assert again.key_warning.isVisible() and "stored in a file" in again.key_warning.text()


def test_an_untouched_key_is_not_rewritten(dialog, qtbot, clean_config, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    dialog2 = SettingsDialog()
    qtbot.addWidget(dialog2)
    assert "environment" in dialog2.key_where.text() and dialog2.api_key.text() == ""
    assert dialog2.save()
    assert not (clean_config / "credentials.json").exists()
    assert dialog2.key_storage is None


def test_bad_price_overrides_block_the_save_and_are_pointed_out(dialog, qtbot, clean_config):
    dialog.add_price_row("gpt-x", "abc", 2)
    dialog.add_price_row("", 1, 2)
    dialog.add_price_row("gpt-y", -1, 2)
    dialog.add_price_row("gpt-x", 1, 2)
    dialog.add_price_row("", None, None)  # an empty row is ignored
    saved = []
    dialog.settingsSaved.connect(saved.append)
    press_save(dialog, qtbot)
    assert saved == [] and dialog.isVisible()
    text = dialog.problems_label.text()
    assert dialog.problems_label.isVisible()
    for part in (
        "row 1: the input price must be a number ≥ 0 (got abc)",
        "row 2: the model name is empty",
        "row 3: the input price",
        "row 4: gpt-x is listed twice",
    ):
        assert part in text
    assert dialog.prices.item(0, 1).background().color().name() == "#fde2e1"
    assert not (clean_config / "settings.json").exists()
    # Fixed: it saves.
    for row in (3, 2, 1):
        dialog.prices.selectRow(row)
        dialog.remove_price.click()
    dialog.prices.item(0, 1).setText("$1.25")
    assert dialog.prices.rowCount() == 2
    press_save(dialog, qtbot)
    assert saved and saved[0].price_overrides == {"gpt-x": {"input": 1.25, "output": 2.0}}
    assert json.loads((clean_config / "settings.json").read_text())["price_overrides"] == {
        "gpt-x": {"input": 1.25, "output": 2.0}
    }


def test_test_connection_lists_the_servers_models_into_the_picker(qtbot, qasync_loop, clean_config):
    """Issue 12, go beyond: Test connection asks the server (GET /v1/models, real HTTP) with the URL and key
    in the form, fills the model picker, and Save keeps the list for the app's model fields."""
    from chainstudio.ui.common.model_names import model_names
    from chainstudio.ui.common.settings_store import SettingsStore
    from tests.support.fake_openai_server import FakeOpenAIServer

    with FakeOpenAIServer(api_key="sk-local", known_models={"gemma-3-270m", "llama3.1:8b", "qwen2.5"}) as server:
        store = SettingsStore()
        dialog = SettingsDialog(store)
        qtbot.addWidget(dialog)
        dialog.open()
        assert not dialog.test_button.isEnabled()  # the simulated provider has no server to test
        dialog.provider.setCurrentIndex(dialog.provider.findData("openai"))
        dialog.base_url.setText(server.url)
        QTest.keyClicks(dialog.api_key, "sk-wrong")
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.test_result.text().startswith("✗"), timeout=10_000)
        assert "refused the API key" in dialog.test_result.text() and dialog.model_picker.count() == 0

        dialog.api_key.clear()
        QTest.keyClicks(dialog.api_key, "sk-local")
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.test_result.text().startswith("✓"), timeout=10_000)
        assert "3 models" in dialog.test_result.text()
        picker = dialog.model_picker
        assert [picker.itemText(i) for i in range(picker.count())] == ["gemma-3-270m", "llama3.1:8b", "qwen2.5"]
        picker.setCurrentIndex(1)
        assert dialog.default_model.text() == "llama3.1:8b"
        press_save(dialog, qtbot)
    saved = load_settings()
    assert saved.default_model == "llama3.1:8b" and saved.known_models == ["gemma-3-270m", "llama3.1:8b", "qwen2.5"]
    # the app's model fields complete from the list (the Inspector's step model field uses the same one)
    from PySide6.QtCore import QSettings

    from chainstudio.core.storage.history import RunHistory
    from chainstudio.ui.services import AppServices

    AppServices.create(
        QSettings(str(clean_config / "ui.ini"), QSettings.Format.IniFormat), RunHistory(clean_config / "h")
    )
    assert model_names().stringList() == ["gemma-3-270m", "llama3.1:8b", "qwen2.5"]
    assert server.stats.requests == 0  # listing models is no chat request


def test_test_connection_says_when_the_server_cannot_be_reached(qtbot, qasync_loop):
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.provider.setCurrentIndex(dialog.provider.findData("openai"))
    dialog.base_url.setText("http://127.0.0.1:9/v1")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("✗"), timeout=15_000)
    assert "cannot reach http://127.0.0.1:9/v1" in dialog.test_result.text()
