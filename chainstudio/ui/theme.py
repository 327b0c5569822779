"""Colours and fonts shared by the canvas, the palette and the inspector."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap

KIND_COLORS = {
    "input": QColor("#2e7d32"),
    "llm": QColor("#1565c0"),
    "join": QColor("#8e24aa"),
    "map": QColor("#00838f"),
    "route": QColor("#c2185b"),
    "output": QColor("#ef6c00"),
    "pick_best": QColor("#00838f"),
}
KIND_SYMBOLS = {"input": "→", "llm": "✦", "join": "⋈", "output": "■", "pick_best": "★", "map": "⇶", "route": "◇"}

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
WARNING = QColor("#f59e0b")  # a step with a warning
DROP_TARGET = QColor("#3d7bd9")  # an edge a dragged step would be inserted into
HINT_TEXT = QColor("#7b8794")  # the empty canvas's hint
BAND_FILLS = (QColor(66, 133, 244, 26), QColor(52, 168, 83, 26))
BAND_BORDER = QColor(90, 110, 140, 60)
BAND_TEXT = QColor("#44546a")


# The canvas colours that change with a dark palette (the kind colours and state colours stay).
_LIGHT = {
    name: globals()[name]
    for name in (
        "CANVAS_BACKGROUND",
        "GRID_COLOR",
        "CARD_FILL",
        "CARD_BORDER",
        "TEXT",
        "TEXT_MUTED",
        "EDGE",
        "EDGE_OK",
        "REFUSED",
        "CRITICAL",
        "EDGE_LIT",
        "BAND_FILLS",
        "BAND_BORDER",
        "BAND_TEXT",
        "HINT_TEXT",
    )
}
_DARK = {
    "CANVAS_BACKGROUND": QColor("#1b1f25"),
    "GRID_COLOR": QColor("#262c34"),
    "CARD_FILL": QColor("#2b3139"),
    "CARD_BORDER": QColor("#4b5563"),
    "TEXT": QColor("#e6e8eb"),
    "TEXT_MUTED": QColor("#9aa5b4"),
    "EDGE": QColor("#8b96a6"),
    "EDGE_OK": QColor("#4caf50"),
    "REFUSED": QColor("#ef5350"),
    "CRITICAL": QColor("#f59e0b"),
    "EDGE_LIT": QColor("#22c55e"),
    "BAND_FILLS": (QColor(66, 133, 244, 38), QColor(52, 168, 83, 38)),
    "BAND_BORDER": QColor(140, 160, 190, 70),
    "BAND_TEXT": QColor("#a9b6c8"),
    "HINT_TEXT": QColor("#8a95a5"),
}


DARK = False  # which set is in use


def use_dark(dark: bool) -> None:
    """Switch the canvas colours (read as ``theme.NAME`` at paint time) to the dark or the light set.
    Called by ``app.apply_look`` before any window exists."""
    globals().update(_DARK if dark else _LIGHT, DARK=dark)


OTHER_KIND = QColor("#607d8b")  # a kind without a colour of its own


def kind_color(kind: str) -> QColor:
    return KIND_COLORS.get(kind, OTHER_KIND)


def font(point_size: float, bold: bool = False) -> QFont:
    result = QFont()
    result.setPointSizeF(point_size)
    result.setBold(bold)
    return result


@cache
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


def cosmetic_pen(color: QColor, width: float = 0.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    """A pen as wide on screen at any zoom (0: one pixel)."""
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    return pen
