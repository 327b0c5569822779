"""Render a graph's canvas to PNG or SVG, offscreen. File → Export and ``chainstudio export`` share it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator

from chainstudio.core.editing.document import Document
from chainstudio.core.graph.model import Graph
from chainstudio.ui import theme

FORMATS = (".png", ".svg")
MARGIN = 40.0
MAX_PNG_SIDE = 16_384  # pixels: a 10,000-step column at 1.5x would be a 1.8-million-pixel-tall, 7 GB image
MAX_PNG_PIXELS = 64 * 1024 * 1024  # 256 MB of ARGB at most; a bigger canvas is drawn smaller to fit


def fitted_scale(width: float, height: float, scale: float) -> float:
    """``scale``, reduced so that a ``width`` x ``height`` canvas stays within the PNG limits."""
    fit = min(1.0, MAX_PNG_SIDE / max(width * scale, 1.0), MAX_PNG_SIDE / max(height * scale, 1.0))
    fit = min(fit, (MAX_PNG_PIXELS / max(width * height * scale * scale, 1.0)) ** 0.5)
    return scale * fit


def canvas_rect(scene) -> QRectF:
    rect = QRectF()
    for item in [*scene.nodes.values(), *scene.bands]:
        rect = rect.united(item.sceneBoundingRect())
    if rect.isNull():
        rect = QRectF(0, 0, 400, 300)
    return rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)


def export_canvas(graph: Graph, path: str | Path, scale: float = 1.5, show_layers: bool = True) -> Path:
    """Draw ``graph`` as the canvas shows it (without selection) into ``path`` (.png or .svg).

    Needs a QApplication. Raises ValueError for another suffix and OSError when the file cannot be written.
    """
    from chainstudio.ui.canvas.scene import CanvasScene

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot export to {suffix or 'a file without a suffix'}; use .png or .svg")
    scene = CanvasScene(Document(graph.copy()))
    try:
        scene.set_show_layers(show_layers)
        scene.flush()
        for item in scene.nodes.values():
            item.setCacheMode(item.CacheMode.NoCache)  # draw each card straight at the export resolution
        source = canvas_rect(scene)
        if suffix == ".png":
            scale = fitted_scale(source.width(), source.height(), scale)
        size = QSize(max(1, round(source.width() * scale)), max(1, round(source.height() * scale)))
        if suffix == ".png":
            image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
            image.fill(theme.CANVAS_BACKGROUND)
            _render(scene, image, size, source)
            if not image.save(str(path), "PNG"):  # type: ignore[call-overload]  # PySide6 stubs say bytes; it takes str
                raise OSError(f"cannot write {path}")
        else:
            generator = QSvgGenerator()
            generator.setFileName(str(path))
            generator.setSize(size)
            generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
            generator.setTitle(graph.name)
            generator.setDescription(graph.description)
            _render(scene, generator, size, source, background=True)
            if not path.exists():
                raise OSError(f"cannot write {path}")
    finally:
        scene.detach()
        scene.deleteLater()
    return path


def _render(scene, device, size: QSize, source: QRectF, background: bool = False) -> None:
    painter = QPainter(device)
    try:
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        target = QRectF(0, 0, size.width(), size.height())
        if background:
            painter.fillRect(target, theme.CANVAS_BACKGROUND)
        scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
    finally:
        painter.end()
