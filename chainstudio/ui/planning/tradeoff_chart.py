"""The trade-off chart: each variant × strategy as a point, cost per row against p50 latency, coloured by
quality (red low, green high, on the batch's own range), the Pareto front joined by a dashed line and its
points ringed. Painted by one ``TradeoffPainter`` for the Datasets panel's widget and for PNG/SVG export
(``render_tradeoff``, which the CLI's ``batch --chart`` calls offscreen)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from chainstudio.core.batch.tradeoff import ConfigSummary, by_tokens

EXPORT_SIZE = QSize(900, 560)
LOW, HIGH = QColor("#dc2626"), QColor("#16a34a")


def quality_color(fraction: float | None) -> QColor:
    if fraction is None or math.isnan(fraction):
        return QColor("#9ca3af")
    f = min(1.0, max(0.0, fraction))
    return QColor(
        round(LOW.red() + (HIGH.red() - LOW.red()) * f),
        round(LOW.green() + (HIGH.green() - LOW.green()) * f),
        round(LOW.blue() + (HIGH.blue() - LOW.blue()) * f),
    )


def _nice_max(value: float) -> float:
    if value <= 0 or math.isnan(value):
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def label_box(centre: QPointF, size: QSizeF, placed: list[QRectF], plot: QRectF) -> QRectF:
    """Where a point's label goes: beside it (on its left where the right would leave the plot and run into
    the legend), or the nearest free line above or below it (drawn with a leader) when labels collide."""
    width, h = size.width(), size.height()
    left = centre.x() + 13
    if left + width > plot.right():
        left = max(plot.left() + 2, centre.x() - 13 - width)
    box = QRectF(left, centre.y() - h / 2, width, h)
    for step in range(12):
        dy = (step + 1) // 2 * h * (1 if step % 2 else -1)
        box = QRectF(left, centre.y() - h / 2 + dy, width, h)
        if not any(box.intersects(other) for other in placed):
            break
    return box


class TradeoffPainter:
    def __init__(self, font: QFont | None = None):
        self.font = QFont(font) if font is not None else QFont()
        self.font.setPointSizeF(max(8.0, self.font.pointSizeF()))
        self.bold = QFont(self.font)
        self.bold.setBold(True)

    def paint(self, p: QPainter, rect: QRectF, summaries: Sequence[ConfigSummary]) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.fillRect(rect, QColor("white"))
        metrics = QFontMetricsF(self.font)
        line = metrics.height()
        points = [s for s in summaries if not math.isnan(s.latency_p50)]
        tokens = by_tokens(points)
        simulated = any(s.simulated for s in summaries)
        title = "Trade-off: " + ("tokens" if tokens else "cost") + " per row against p50 latency"
        p.setFont(self.bold)
        p.setPen(QColor("#111827"))
        p.drawText(QRectF(rect.left() + 12, rect.top() + 6, rect.width() - 24, line + 4), title)
        if simulated:
            p.setPen(QColor("#92400e"))
            p.drawText(
                QRectF(rect.left() + 12, rect.top() + 6, rect.width() - 24, line + 4),
                Qt.AlignmentFlag.AlignRight,
                "SIMULATED",
            )
        plot = QRectF(
            rect.left() + 100, rect.top() + line + 22, rect.width() - 100 - 160, rect.height() - 2 * line - 60
        )
        if plot.width() < 40 or plot.height() < 40:
            p.restore()
            return
        x_max = _nice_max(max((s.latency_p50 for s in points), default=1.0) * 1.1)
        y_max = _nice_max(max((self._y(s, tokens) for s in points), default=1.0) * 1.1)
        self._axes(p, plot, x_max, y_max, tokens, line)
        qualities = [s.quality.mean for s in points if s.quality is not None and not math.isnan(s.quality.mean)]
        low, high = (min(qualities), max(qualities)) if qualities else (0.0, 1.0)

        def at(s: ConfigSummary) -> QPointF:
            return QPointF(
                plot.left() + plot.width() * s.latency_p50 / x_max,
                plot.bottom() - plot.height() * self._y(s, tokens) / y_max,
            )

        front = sorted((s for s in points if s.pareto), key=lambda s: s.latency_p50)
        if len(front) > 1:
            p.setPen(QPen(QColor("#2563eb"), 1.5, Qt.PenStyle.DashLine))
            for a, b in zip(front, front[1:], strict=False):
                p.drawLine(at(a), at(b))
        p.setFont(self.font)
        placed = [QRectF(at(s).x() - 12, at(s).y() - 12, 24, 24) for s in points]  # labels keep off the markers
        for s in points:
            centre = at(s)
            q = s.quality.mean if s.quality is not None else None
            fraction = None if q is None or math.isnan(q) else (0.5 if high == low else (q - low) / (high - low))
            p.setPen(QPen(QColor("#1f2937"), 1))
            p.setBrush(quality_color(fraction))
            p.drawEllipse(centre, 7, 7)
            if s.pareto:
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.setPen(QPen(QColor("#2563eb"), 2))
                p.drawEllipse(centre, 11, 11)
            label = s.label + ("" if s.quality is None else f"  q {s.quality.text()}")
            self._label(p, centre, label, placed, metrics, plot)
        self._legend(p, QRectF(plot.right() + 24, plot.top(), 110, plot.height()), low, high, summaries, line)
        p.restore()

    @staticmethod
    def _label(
        p: QPainter, centre: QPointF, text: str, placed: list[QRectF], metrics: QFontMetricsF, plot: QRectF
    ) -> None:
        box = label_box(centre, QSizeF(metrics.horizontalAdvance(text), metrics.height()), placed, plot)
        placed.append(box)
        p.setPen(QPen(QColor("#9ca3af"), 1))
        if abs(box.center().y() - centre.y()) > 1:
            p.drawLine(centre, QPointF(box.left() if box.left() > centre.x() else box.right(), box.center().y()))
        p.setPen(QColor("#111827"))
        p.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)

    @staticmethod
    def _y(s: ConfigSummary, tokens: bool) -> float:
        return s.tokens if tokens else (s.cost or 0.0)

    def _axes(self, p: QPainter, plot: QRectF, x_max: float, y_max: float, tokens: bool, line: float) -> None:
        p.setFont(self.font)
        for i in range(6):
            x = plot.left() + plot.width() * i / 5
            y = plot.bottom() - plot.height() * i / 5
            p.setPen(QPen(QColor("#e5e7eb"), 1))
            p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(QColor("#374151"))
            p.drawText(QRectF(x - 40, plot.bottom() + 4, 80, line), Qt.AlignmentFlag.AlignHCenter, f"{x_max * i / 5:g}")
            value = y_max * i / 5
            text = f"{value:,.0f}" if tokens else f"${value:.4g}"
            p.drawText(QRectF(plot.left() - 76, y - line / 2, 70, line), Qt.AlignmentFlag.AlignRight, text)
        p.setPen(QPen(QColor("#6b7280"), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(plot)
        p.setPen(QColor("#111827"))
        p.drawText(
            QRectF(plot.left(), plot.bottom() + line + 8, plot.width(), line),
            Qt.AlignmentFlag.AlignHCenter,
            "p50 latency per row (s)",
        )
        p.save()
        p.translate(plot.left() - 96 + line, plot.center().y())
        p.rotate(-90)
        p.drawText(
            QRectF(-plot.height() / 2, -line, plot.height(), line),
            Qt.AlignmentFlag.AlignHCenter,
            "tokens per row" if tokens else "cost per row (USD)",
        )
        p.restore()

    def _legend(
        self, p: QPainter, box: QRectF, low: float, high: float, summaries: Sequence[ConfigSummary], line: float
    ) -> None:
        name = next((s.quality_name for s in summaries if s.quality_name), "")
        p.setPen(QColor("#111827"))
        p.setFont(self.bold)
        p.drawText(QRectF(box.left(), box.top(), box.width(), line), "Quality")
        p.setFont(self.font)
        p.drawText(QRectF(box.left(), box.top() + line, box.width(), line), name or "none measured")
        bar = QRectF(box.left(), box.top() + 2 * line + 6, 16, min(140.0, box.height() - 5 * line))
        gradient = QLinearGradient(bar.topLeft(), bar.bottomLeft())
        gradient.setColorAt(0.0, HIGH)
        gradient.setColorAt(1.0, LOW)
        p.fillRect(bar, gradient)
        p.drawText(QPointF(bar.right() + 6, bar.top() + line * 0.7), f"{high:.2f}")
        p.drawText(QPointF(bar.right() + 6, bar.bottom()), f"{low:.2f}")
        y = bar.bottom() + line + 10
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor("#2563eb"), 2))
        p.drawEllipse(QPointF(bar.left() + 8, y), 8, 8)
        p.setPen(QColor("#111827"))
        p.drawText(QPointF(bar.left() + 22, y + line / 3), "Pareto front")


class TradeoffWidget(QWidget):
    """The chart in the Datasets panel."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.summaries: list[ConfigSummary] = []
        self.setMinimumHeight(260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_summaries(self, summaries: Sequence[ConfigSummary]) -> None:
        self.summaries = list(summaries)
        self.update()

    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        TradeoffPainter(self.font()).paint(p, QRectF(self.rect()), self.summaries)
        p.end()


def render_tradeoff(summaries: Sequence[ConfigSummary], path: str | os.PathLike[str]) -> Path:
    """Draw the chart to ``path`` (.png or .svg), offscreen."""
    from chainstudio.ui.gantt.export import ensure_gui_application

    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"the chart is a .png or .svg file, not {suffix or 'no extension'!r}")
    ensure_gui_application()
    rect = QRectF(0, 0, EXPORT_SIZE.width(), EXPORT_SIZE.height())
    painter = QPainter()
    if suffix == ".svg":
        from PySide6.QtSvg import QSvgGenerator

        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(EXPORT_SIZE)
        generator.setViewBox(rect)
        generator.setTitle("ChainStudio trade-off")
        if not painter.begin(generator):
            raise OSError(f"cannot write {path}")
        TradeoffPainter().paint(painter, rect, summaries)
        painter.end()
        return Path(path)
    image = QImage(EXPORT_SIZE, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor("white"))
    painter.begin(image)
    TradeoffPainter().paint(painter, rect, summaries)
    painter.end()
    if not image.save(str(path), "PNG"):  # type: ignore[call-overload]  # PySide6 stubs say bytes; it takes str
        raise OSError(f"cannot write {path}")
    return Path(path)
