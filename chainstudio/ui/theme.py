"""Colours and fonts shared by the canvas, the palette and the inspector."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap

KIND_COLORS = {
    "input": QColor("#2e7d32"),
    "llm": QColor("#1565c0"),
    "join": QColor("#8e24aa"),
    "output": QColor("#ef6c00"),
}
KIND_SYMBOLS = {"input": "→", "llm": "✦", "join": "⋈", "output": "■"}

CANVAS_BACKGROUND = QColor("#f4f5f7")
GRID_COLOR = QColor("#dde0e6")
CARD_FILL = QColor("#ffffff")
CARD_BORDER = QColor("#b8bec9")
SELECTION = QColor("#ff9800")
TEXT = QColor("#1d232b")
TEXT_MUTED = QColor("#5f6b7a")
EDGE = QColor("#6b7685")
EDGE_OK = QColor("#2e7d32")
REFUSED = QColor("#d32f2f")
CRITICAL = QColor("#b45309")  # the critical path of a finished run
EDGE_LIT = QColor("#16a34a")  # an edge whose data has arrived
BAND_FILLS = (QColor(66, 133, 244, 26), QColor(52, 168, 83, 26))
BAND_BORDER = QColor(90, 110, 140, 60)
BAND_TEXT = QColor("#44546a")


def kind_color(kind: str) -> QColor:
    return KIND_COLORS.get(kind, QColor("#607d8b"))


def font(point_size: float, bold: bool = False) -> QFont:
    result = QFont()
    result.setPointSizeF(point_size)
    result.setBold(bold)
    return result


@lru_cache(maxsize=None)
def canvas_font(pixels: int, bold: bool = False) -> QFont:
    """A font sized in scene units, so the canvas looks the same on any screen and in exports.
    Made on first use (after the QApplication exists), never at import time."""
    result = QFont()
    result.setPixelSize(pixels)
    result.setBold(bold)
    return result


def kind_icon(kind: str, size: int = 28) -> QIcon:
    """A rounded square in the kind's colour with its symbol."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(kind_color(kind))
    painter.drawRoundedRect(QRectF(1, 1, size - 2, size - 2), 6, 6)
    painter.setPen(QPen(QColor("white")))
    painter.setFont(font(size * 0.4, bold=True))
    painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, KIND_SYMBOLS.get(kind, "?"))
    painter.end()
    return QIcon(pixmap)
