"""The model names the configured server offers, for every model field of the app to complete from.

Settings → Test connection lists them (``GET /v1/models``) and saves them with the settings
(``Settings.known_models``); ``set_model_names`` puts them in one process-wide list model, and
``attach_model_completer`` makes a line edit (the Settings' default model, a step's model field in the
Inspector) offer them as the user types, matching anywhere in the name.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QLineEdit, QStyle

_lists: dict[str, QStringListModel] = {}


def _shared(name: str) -> QStringListModel:
    """The process-wide list called ``name`` (made empty on first use)."""
    if name not in _lists:
        _lists[name] = QStringListModel()
    return _lists[name]


def model_names() -> QStringListModel:
    """The shared list (empty until a server's models were listed)."""
    return _shared("models")


def set_model_names(names: Iterable[str]) -> None:
    model_names().setStringList(sorted(set(names)))


def attach_model_completer(editor: QLineEdit) -> QCompleter:
    """``editor`` completes from the listed model names (case-insensitive, anywhere in the name)."""
    completer = QCompleter(model_names(), editor)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    editor.setCompleter(completer)
    return completer


def endpoint_names() -> QStringListModel:
    """The names of the endpoint profiles in Settings (a step's Endpoint field completes from them)."""
    return _shared("endpoints")


def set_endpoint_names(names: Iterable[str]) -> None:
    endpoint_names().setStringList(list(names))


def attach_endpoint_chooser(editor: QLineEdit) -> QCompleter:
    """``editor`` completes from the endpoint profiles' names, and its ▾ button lists them all."""
    completer = QCompleter(endpoint_names(), editor)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
    editor.setCompleter(completer)
    arrow = editor.style().standardIcon(QStyle.StandardPixmap.SP_ArrowDown)
    action = editor.addAction(arrow, QLineEdit.ActionPosition.TrailingPosition)
    action.setObjectName("endpoint_choices")
    action.setToolTip("The endpoint profiles in Settings")

    def show_all() -> None:
        completer.setCompletionPrefix("")
        completer.complete()

    action.triggered.connect(show_all)
    return completer
