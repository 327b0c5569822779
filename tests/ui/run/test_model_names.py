"""The server's model names (Settings → Test connection, kept in the settings) reach a step's model field."""

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from chainstudio.core.storage.settings import Settings
from tests.conftest import EXAMPLES


def test_a_steps_model_field_completes_from_the_listed_models(qtbot, app_window):
    app_window.services.settings.save(Settings(known_models=["gemma-3-270m", "llama3.1:8b"]))
    assert app_window.open_path(EXAMPLES / "research-hybrid.chain.json")
    app_window.select_node(app_window.document.graph.node_by_name("hardware").id)
    field = app_window.inspector.findChild(QLineEdit, "field_model")
    assert field is not None and field.completer() is not None
    field.setFocus()
    field.selectAll()
    QTest.keyClicks(field, "lla")
    popup = field.completer().popup()
    qtbot.waitUntil(popup.isVisible)
    assert [popup.model().index(r, 0).data() for r in range(popup.model().rowCount())] == ["llama3.1:8b"]
    QTest.keyClick(popup, Qt.Key.Key_Down)
    QTest.keyClick(popup, Qt.Key.Key_Return)
    assert field.text() == "llama3.1:8b"
    app_window.services.settings.save(Settings())
