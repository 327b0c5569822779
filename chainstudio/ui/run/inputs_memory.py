"""The values last given for a graph's inputs, per graph, and asking for the missing ones before a run.

Run (F5) and Compare (Ctrl+B) both ask for the graph inputs that have no default through the same
non-blocking ``InputsDialog``, pre-filled with what was given last time for this graph; the estimate and
the advisor plan with the remembered values too. A graph is known by its file's absolute path, or by its
name while it has no file. The values live in ``ui.ini`` (the window-layout file, in the config folder),
the most recent ``MAX_GRAPHS`` graphs only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.ui.run.inputs_dialog import InputsDialog

KEY = "runInputs"
MAX_GRAPHS = 50


def graph_key(graph: Graph, path: str | Path | None) -> str:
    """How a graph's remembered inputs are filed: its file's absolute path, else its name."""
    return f"file:{Path(path).absolute()}" if path else f"unsaved:{graph.name}"


class InputsMemory:
    def __init__(self, ui_state: QSettings) -> None:
        self.ui_state = ui_state

    def _all(self) -> dict[str, dict[str, str]]:
        raw = self.ui_state.value(KEY, "")
        try:
            data = json.loads(raw) if isinstance(raw, str) and raw else {}
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            str(k): {str(n): str(v) for n, v in values.items()}
            for k, values in data.items()
            if isinstance(values, dict)
        }

    def values(self, key: str) -> dict[str, str]:
        """The values given last time for the graph filed as ``key`` (empty when none)."""
        return self._all().get(key, {})

    def for_graph(self, graph: Graph, path: str | Path | None) -> dict[str, str]:
        """The remembered values of the inputs ``graph`` declares now (a renamed input is left out)."""
        names = {gi.name for gi in graph.inputs}
        return {name: value for name, value in self.values(graph_key(graph, path)).items() if name in names}

    def remember(self, key: str, values: Mapping[str, str]) -> None:
        """Keep ``values`` (merged over the earlier ones) as the graph's most recent."""
        data = self._all()
        merged = {**data.pop(key, {}), **values}
        data[key] = merged
        while len(data) > MAX_GRAPHS:
            data.pop(next(iter(data)))
        self.ui_state.setValue(KEY, json.dumps(data))

    def ask(
        self,
        graph: Graph,
        path: str | Path | None,
        missing: Sequence[GraphInput],
        then: Callable[[dict[str, str]], object],
        *,
        parent: QWidget,
        action: str = "Run",
    ) -> InputsDialog:
        """Open the inputs dialog for ``missing`` (pre-filled with the remembered values, non-blocking); on
        ``action`` the values are remembered and passed to ``then``. Returns the dialog (already open)."""
        key = graph_key(graph, path)
        dialog = InputsDialog(list(missing), parent, values=self.values(key), action=action)

        def submitted(values: dict[str, str]) -> None:
            self.remember(key, values)
            then(values)

        dialog.submitted.connect(submitted)
        dialog.open()
        return dialog
