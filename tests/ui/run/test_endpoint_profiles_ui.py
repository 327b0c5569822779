"""Endpoint profiles in the GUI: the Settings dialog's page (keys to the credentials file, never settings),
the inspector's Endpoint field, and the step's problem on a real provider when its profile is missing."""

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit

from chainstudio.core.editing.document import Document
from chainstudio.core.graph.kinds import LLM
from chainstudio.core.graph.model import Graph
from chainstudio.core.graph.validation import errors
from chainstudio.core.storage import settings as core_settings
from chainstudio.core.storage.endpoint_profiles import EndpointProfile
from chainstudio.core.storage.settings import Settings, load_settings, profile_key
from chainstudio.ui.common.model_names import endpoint_names, set_endpoint_names
from chainstudio.ui.inspector.fields import editor_for
from chainstudio.ui.run.settings_dialog import SettingsDialog

KEY = "sk-profile-SENTINEL-5e2a"


@pytest.fixture(autouse=True)
def clean_config(monkeypatch, tmp_path):
    monkeypatch.setenv("CHAINSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(core_settings, "_keyring", lambda: None)  # the private file, whatever the machine has
    return tmp_path / "config"


def type_into(qtbot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, text)


def test_a_profile_added_in_the_dialog_is_saved_with_its_key_kept_apart(qtbot, clean_config):
    core_settings.save_settings(Settings(endpoints=[EndpointProfile("local", "http://localhost:11434/v1")]))
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    page = dialog.profiles
    dialog.tabs.setCurrentWidget(page)
    assert page.names.count() == 1 and page.name.text() == "local"
    qtbot.mouseClick(page.add, Qt.MouseButton.LeftButton)
    type_into(qtbot, page.name, "cloud")
    type_into(qtbot, page.base_url, "https://api.example.com/v1")
    page.key_kind.setCurrentIndex(page.key_kind.findData("stored"))
    type_into(qtbot, page.key, KEY)
    page.rpm.setValue(120)
    page.capacity.setValue(4)
    type_into(qtbot, page.prices, "gpt-4o=2.5/10")
    assert [page.names.item(i).text() for i in range(2)] == ["local", "cloud"]
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)
    saved = load_settings().endpoints
    assert [(p.name, p.key_ref, p.requests_per_minute, p.capacity) for p in saved] == [
        ("local", "", None, None),
        ("cloud", "stored", 120, 4),
    ]
    assert saved[1].price_overrides == {"gpt-4o": {"input": 2.5, "output": 10.0}}
    assert KEY not in (clean_config / "settings.json").read_text()
    assert json.loads((clean_config / "credentials.json").read_text())["endpoints"] == {"cloud": KEY}
    assert profile_key(saved[1]) == KEY


def test_a_bad_profile_name_or_price_stops_the_save_with_the_reason(qtbot):
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    page = dialog.profiles
    page.add_profile()
    type_into(qtbot, page.name, "my server")
    type_into(qtbot, page.prices, "gpt-4o=cheap")
    assert not dialog.save()
    text = dialog.problems_label.text()
    assert "endpoint profile 'my server': a profile name starts with a letter" in text
    assert "prices: write MODEL=INPUT/OUTPUT" in text
    assert load_settings().endpoints == []


def test_removing_a_profile_forgets_its_stored_key(qtbot, clean_config):
    cloud = EndpointProfile("cloud", "https://api.example.com/v1", key_ref="stored")
    core_settings.save_settings(Settings(endpoints=[cloud]))
    core_settings.store_profile_key("cloud", KEY)
    core_settings.store_api_key("sk-run-key")  # the provider's own key stays
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    assert dialog.profiles.key.text() == KEY  # shown masked, as the provider's key is
    dialog.profiles.remove_profile()
    assert dialog.save()
    assert profile_key(cloud) is None
    assert core_settings.stored_api_key() == ("sk-run-key", "file")


def test_the_inspector_endpoint_field_lists_the_profiles(qtbot):
    set_endpoint_names(["local", "cloud"])
    editor = editor_for(LLM.field("endpoint"))
    qtbot.addWidget(editor)
    assert isinstance(editor, QLineEdit) and editor.placeholderText() == "the run's provider"
    assert editor.completer().model() is endpoint_names()
    assert endpoint_names().stringList() == ["local", "cloud"]
    assert any(a.objectName() == "endpoint_choices" for a in editor.actions())


def test_a_step_naming_a_missing_profile_is_a_problem_only_on_a_real_provider():
    graph = Graph("g")
    step = graph.add("llm", "brief", prompt="hi", endpoint="cloud")
    document = Document(graph)
    heard = []
    document.subscribe(heard.append)
    assert not errors(document.problems)
    document.set_endpoints(["local"])
    assert heard and step.id in heard[-1].nodes_changed  # the canvas and inspector redraw the step
    reasons = [p.message for p in errors(document.problems)]
    assert reasons == ["endpoint 'cloud' is not a profile in Settings (profiles: local)"]
    document.set_endpoints(None)
    assert not errors(document.problems)
