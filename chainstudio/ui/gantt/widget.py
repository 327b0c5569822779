"""The Gantt panel for the bottom dock: run header with totals, zoom and export buttons, legend, chart."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QMenu, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from chainstudio.core.gantt.layout import Metrics
from chainstudio.core.gantt.text import run_title, totals_text
from chainstudio.core.run.state import RunState
from chainstudio.ui.gantt.export import SIMULATED_TEXT, export_png, export_svg
from chainstudio.ui.gantt.paint import GanttPainter
from chainstudio.ui.gantt.theme import Theme
from chainstudio.ui.gantt.view import GanttView

BADGE_STYLE = (
    "QLabel { background: #fef3c7; color: #92400e; border: 1px solid #b45309; border-radius: 4px;"
    " padding: 1px 6px; font-weight: bold; }"
)


class LegendWidget(QWidget):
    """The colour key, painted by the chart's own painter so that swatches match the bars."""

    def __init__(self, painter: GanttPainter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.painter = painter
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def set_painter(self, painter: GanttPainter) -> None:
        self.painter = painter
        self.updateGeometry()
        self.update()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt override)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return int(self.painter.legend_height(max(100, width))) + 2

    def sizeHint(self) -> QSize:
        return QSize(900, self.heightForWidth(900))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.setFixedHeight(self.heightForWidth(self.width()))

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        self.painter.paint_legend(p, 0, 1, self.width())
        p.end()


class GanttWidget(QWidget):
    """A live Gantt chart of one run (or of several, stacked on a shared time axis).

    Feed it with ``set_state(state)`` and call ``refresh()`` as the state changes (``follow(bridge)``
    wires both to a ``RunBridge``). Clicking a bar emits ``nodeClicked(node_id)``;
    ``highlight_node(node_id)`` marks a node's bar (the canvas calls it when a node is selected).
    """

    nodeClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None, metrics: Metrics | None = None) -> None:
        super().__init__(parent)
        self._states: list[RunState] = []
        self.view = GanttView(self, metrics)
        self.view.nodeClicked.connect(self.nodeClicked)
        self.title = QLabel("No run yet", self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.badge = QLabel(SIMULATED_TEXT, self)
        self.badge.setStyleSheet(BADGE_STYLE)
        self.badge.setToolTip("Results come from the simulated provider, not a real model.")
        self.badge.hide()
        self.totals = QLabel("", self)
        self.totals.setWordWrap(True)
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.legend = LegendWidget(self.view.painter, self)

        self.zoom_out_button = self._tool("−", "Zoom out (Ctrl+−, Ctrl+wheel)", self.view.zoom_out)
        self.zoom_in_button = self._tool("+", "Zoom in (Ctrl++, Ctrl+wheel)", self.view.zoom_in)
        self.fit_button = self._tool("Fit", "Fit the whole run (Ctrl+0)", self.view.fit)
        self.export_button = self._tool("Export", "Export the chart as PNG or SVG", None)
        menu = QMenu(self.export_button)
        menu.addAction("Export PNG…", lambda: self._ask_export(".png"))
        menu.addAction("Export SVG…", lambda: self._ask_export(".svg"))
        self.export_button.setMenu(menu)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title)
        top.addWidget(self.badge)
        top.addStretch(1)
        for button in (self.zoom_out_button, self.zoom_in_button, self.fit_button, self.export_button):
            top.addWidget(button)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 4, 6, 4)
        column.setSpacing(3)
        column.addLayout(top)
        column.addWidget(self.totals)
        column.addWidget(self.legend)
        column.addWidget(self.view, 1)
        self._dialog: QFileDialog | None = None

    def _tool(self, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        if slot is not None:
            button.clicked.connect(slot)
        return button

    # --- data ---------------------------------------------------------------------------------------
    def set_state(self, state: RunState) -> None:
        """Show one run (a live ``RunState`` is fine: call ``refresh()`` as it changes)."""
        self.set_states([state])

    def set_states(self, states: Sequence[RunState]) -> None:
        """Show several runs stacked on one shared time axis (each measured from its own start)."""
        self._states = list(states)
        self.view.set_states(self._states)
        self._update_header()

    def states(self) -> list[RunState]:
        return list(self._states)

    def refresh(self, changed: object = None) -> None:
        """Re-read the states: bars grow, totals update; one repaint (``changed`` is ignored)."""
        self.view.refresh()
        self._update_header()

    def follow(self, bridge) -> None:
        """Show each run a ``RunBridge`` reports, refreshed at the bridge's coalesced rate."""
        bridge.runStarted.connect(self.set_state)
        bridge.updated.connect(self.refresh)  # also flushed once just before runFinished

    def header_text(self) -> str:
        """The header as plain text (title, SIMULATED label when simulated, totals)."""
        badge = f" [{SIMULATED_TEXT}]" if self.badge.isVisibleTo(self) else ""
        return f"{self.title.text()}{badge}\n{self.totals.text()}".replace("\u00a0", " ")

    def _update_header(self) -> None:
        states = [s for s in self._states if s.started is not None]
        if not states:
            self.title.setText("No run yet")
            self.totals.setText("")
            self.badge.hide()
            return
        if len(states) == 1:
            self.title.setText(run_title(states[0]))
            self.totals.setText(totals_text(states[0]))
        else:
            strategies = (s.started.strategy if s.started else "?" for s in states)
            self.title.setText(f"{len(states)} runs stacked · " + " | ".join(strategies))
            self.totals.setText("\n".join(f"Run {i + 1}: {totals_text(s)}" for i, s in enumerate(states)))
        self.badge.setVisible(any(s.simulated for s in states))

    # --- selection ----------------------------------------------------------------------------------
    def highlight_node(self, node_id: str | None, scroll: bool = True) -> None:
        """Mark ``node_id``'s bar (None clears) and scroll it into view."""
        self.view.highlight(node_id, scroll)

    @property
    def highlighted(self) -> set[str]:
        return set(self.view.highlighted)

    # --- zoom ---------------------------------------------------------------------------------------
    def zoom_in(self) -> None:
        self.view.zoom_in()

    def zoom_out(self) -> None:
        self.view.zoom_out()

    def fit(self) -> None:
        self.view.fit()

    # --- export -------------------------------------------------------------------------------------
    def export_png(self, path: str | os.PathLike, width: int = 1400) -> Path:
        return export_png(self._states, path, width, self.view.theme, font=self.font())

    def export_svg(self, path: str | os.PathLike, width: int = 1400) -> Path:
        return export_svg(self._states, path, width, self.view.theme, font=self.font())

    def _ask_export(self, suffix: str) -> None:
        """A non-blocking save dialog (no nested event loop under qasync)."""
        dialog = QFileDialog(self, f"Export Gantt as {suffix[1:].upper()}")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter(f"{suffix[1:].upper()} image (*{suffix})")
        dialog.setDefaultSuffix(suffix[1:])
        name = self._states[0].started.graph_name if self._states and self._states[0].started else "run"
        dialog.selectFile(f"{name}-gantt{suffix}")
        export = self.export_svg if suffix == ".svg" else self.export_png
        dialog.fileSelected.connect(lambda path: export(path))
        dialog.finished.connect(dialog.deleteLater)
        self._dialog = dialog
        dialog.open()

    # --- palette ------------------------------------------------------------------------------------
    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self.apply_theme(Theme.from_palette(self.palette()))
        super().changeEvent(event)

    def apply_theme(self, theme: Theme) -> None:
        self.view.set_theme(theme)
        self.legend.set_painter(self.view.painter)
