"""The whole chart as one picture (title, totals, legend, every row) for PNG/SVG export and ``--gantt``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter

from chainstudio.core.gantt.layout import GanttLayout, Metrics
from chainstudio.core.gantt.text import run_title, totals_text
from chainstudio.core.run.state import RunState
from chainstudio.ui.gantt.paint import GanttPainter, chart_font
from chainstudio.ui.gantt.theme import Theme

MARGIN = 16.0
MAX_PNG_PIXELS = 40_000_000  # 160 MB of image: a 10,000-step run's chart was 1400 x 257,787 pixels (1.5 GB)
CUT_NOTE_HEIGHT = 28.0
_OWN_APP: list[QCoreApplication] = []  # the offscreen application render_gantt created, kept alive for the process
SIMULATED_TEXT = "SIMULATED"


class HeaderPainter:
    """Per run: a title line (with a SIMULATED badge for simulated runs) and the totals, wrapped."""

    def __init__(self, theme: Theme, font: QFont | None = None) -> None:
        self.theme = theme
        self.title_font = chart_font(font, 2.0, bold=True)
        self.badge_font = chart_font(font, -1.0, bold=True)
        self.font = chart_font(font)

    def _blocks(self, states: Sequence[RunState]) -> list[tuple[RunState, str, str]]:
        blocks = []
        for index, state in enumerate(states):
            title = run_title(state)
            if len(states) > 1:
                title = f"Run {index + 1} · {title}"
            blocks.append((state, title, totals_text(state) if state.started else ""))
        return blocks

    def paint(self, p: QPainter | None, x: float, y: float, width: float, states: Sequence[RunState]) -> float:
        """Paint (or, with ``p=None``, only measure) the header; returns its height."""
        title_metrics, text_metrics = QFontMetricsF(self.title_font), QFontMetricsF(self.font)
        flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        cy = y
        for state, title, totals in self._blocks(states):
            title_h = title_metrics.height() + 4
            if p is not None:
                p.setFont(self.title_font)
                p.setPen(self.theme.text)
                p.drawText(QRectF(x, cy, width, title_h), Qt.AlignmentFlag.AlignVCenter, title)
                if state.simulated:
                    self._badge(p, x + title_metrics.horizontalAdvance(title) + 10, cy, title_h)
            cy += title_h + 2
            if totals:
                box = text_metrics.boundingRect(QRectF(x, cy, width, 10_000), flags, totals)
                if p is not None:
                    p.setFont(self.font)
                    p.setPen(self.theme.text)
                    p.drawText(QRectF(x, cy, width, box.height()), flags, totals)
                cy += box.height() + 6
        return cy - y

    def _badge(self, p: QPainter, x: float, y: float, h: float) -> None:
        metrics = QFontMetricsF(self.badge_font)
        rect = QRectF(
            x, y + (h - metrics.height() - 4) / 2, metrics.horizontalAdvance(SIMULATED_TEXT) + 12, metrics.height() + 4
        )
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QColor("#b45309"))
        p.setBrush(QColor("#fef3c7"))
        p.drawRoundedRect(rect, 4, 4)
        p.setFont(self.badge_font)
        p.setPen(QColor("#92400e"))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, SIMULATED_TEXT)
        p.restore()


class ChartDocument:
    """Header + legend + the full chart, fitted to ``width``: the layout is computed before painting."""

    def __init__(
        self,
        states: Sequence[RunState],
        width: int = 1400,
        theme: Theme | None = None,
        metrics: Metrics | None = None,
        px_per_s: float | None = None,
        font: QFont | None = None,
        max_pixels: int | None = None,
    ):
        """``max_pixels``: the picture is cut below the rows that fit in that many pixels, and says so."""
        self.states = list(states)
        self.width = int(width)
        self.theme = theme or Theme.light()
        self.header = HeaderPainter(self.theme, font)
        self.painter = GanttPainter(self.theme, font)
        self.layout = GanttLayout(self.states, metrics)
        inner = self.width - 2 * MARGIN
        self.layout.set_px_per_s(px_per_s if px_per_s else self.layout.fit_px_per_s(inner))
        self.header_height = self.header.paint(None, MARGIN, MARGIN, inner, self.states)
        self.legend_height = self.painter.legend_height(inner)
        self.chart_top = MARGIN + self.header_height + 4 + self.legend_height + 10
        self.chart_height = self.layout.metrics.axis_height + self.layout.content_height
        self.height = int(self.chart_top + self.chart_height + MARGIN)
        self.shown_height = self.chart_height  # of the chart: less when the picture is cut
        self.cut_note = ""
        if max_pixels is not None and self.width * self.height > max_pixels:
            room = max_pixels // max(self.width, 1) - self.chart_top - CUT_NOTE_HEIGHT - MARGIN
            self.shown_height = max(float(self.layout.metrics.axis_height), room)
            self.height = int(self.chart_top + self.shown_height + CUT_NOTE_HEIGHT + MARGIN)
            steps = [r for r in self.layout.rows if r.kind in ("node", "item")]
            shown = sum(1 for r in steps if r.bottom <= self.shown_height - self.layout.metrics.axis_height)
            self.cut_note = (
                f"Cut here: {shown:,} of {len(steps):,} rows fit in a PNG of at most {max_pixels / 1e6:.0f} "
                "million pixels. Export an .svg for every row."
            )

    def size(self) -> QSize:
        return QSize(self.width, self.height)

    def paint(self, p: QPainter) -> None:
        inner = self.width - 2 * MARGIN
        p.fillRect(QRectF(0, 0, self.width, self.height), self.theme.background)
        self.header.paint(p, MARGIN, MARGIN, inner, self.states)
        self.painter.paint_legend(p, MARGIN, MARGIN + self.header_height + 4, inner)
        p.save()
        p.translate(MARGIN, self.chart_top)
        self.painter.paint_chart(p, self.layout, inner, self.shown_height)
        p.restore()
        p.setPen(self.theme.grid)
        p.drawRect(QRectF(MARGIN - 0.5, self.chart_top - 0.5, inner + 1, self.shown_height + 1))
        if self.cut_note:
            p.setFont(self.header.font)
            p.setPen(QColor("#92400e"))
            note = QRectF(MARGIN, self.chart_top + self.shown_height + 4, inner, CUT_NOTE_HEIGHT - 4)
            p.drawText(note, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.cut_note)


def _as_list(states: RunState | Sequence[RunState]) -> list[RunState]:
    return [states] if isinstance(states, RunState) else list(states)


def export_png(
    states: RunState | Sequence[RunState],
    path: str | os.PathLike,
    width: int = 1400,
    theme: Theme | None = None,
    px_per_s: float | None = None,
    font: QFont | None = None,
) -> Path:
    doc = ChartDocument(_as_list(states), width, theme, px_per_s=px_per_s, font=font, max_pixels=MAX_PNG_PIXELS)
    image = QImage(doc.size(), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(doc.theme.background)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    doc.paint(painter)
    painter.end()
    if not image.save(str(path), "PNG"):  # type: ignore[call-overload]  # PySide6 stubs say bytes; it takes str
        raise OSError(f"cannot write {path}")
    return Path(path)


def export_svg(
    states: RunState | Sequence[RunState],
    path: str | os.PathLike,
    width: int = 1400,
    theme: Theme | None = None,
    px_per_s: float | None = None,
    font: QFont | None = None,
) -> Path:
    from PySide6.QtSvg import QSvgGenerator

    doc = ChartDocument(_as_list(states), width, theme, px_per_s=px_per_s, font=font)
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(doc.size())
    generator.setViewBox(QRectF(0, 0, doc.width, doc.height))
    generator.setTitle("ChainStudio Gantt")
    generator.setDescription(" / ".join(run_title(s) for s in doc.states))
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"cannot write {path}")
    doc.paint(painter)
    painter.end()
    return Path(path)


def ensure_gui_application() -> QCoreApplication:
    """A QGuiApplication to paint with: the existing one, or a new offscreen one."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QGuiApplication(["chainstudio"])
        _OWN_APP.append(app)
    return app


def render_gantt(run_state: RunState | Sequence[RunState], path: str | os.PathLike, width: int = 1400) -> Path:
    """Render the Gantt chart of a run (or of several, stacked) to ``path`` (.png or .svg), offscreen.

    Creates an offscreen QGuiApplication when none exists, so the CLI can call it after a headless run.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"--gantt wants a .png or .svg file, not {suffix or 'no extension'!r}")
    ensure_gui_application()
    if suffix == ".svg":
        return export_svg(run_state, path, width)
    return export_png(run_state, path, width)
