"""Render a graph's canvas to PNG or SVG, offscreen. File → Export and ``chainstudio export`` share it.

A PNG stays within ``MAX_PNG_SIDE`` and ``MAX_PNG_PIXELS`` (a bigger canvas is drawn smaller). Where the
picture is drawn below the canvas's detail zoom, or the graph is too big to build a scene for in good time
(over ``SCENE_STEPS`` steps or ``SCENE_EDGES`` edges), it is drawn as the canvas draws itself zoomed far
out (coloured blocks with names, edges as thin lines, layer bands), straight from the model: 10,000 steps
and 100,000 edges in seconds instead of minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator

from chainstudio.core.editing.document import Document
from chainstudio.core.graph.analysis import Analysis, CycleError
from chainstudio.core.graph.model import Graph
from chainstudio.ui import theme
from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.canvas.edge_item import draw_band
from chainstudio.ui.canvas.export_overview import draw_overview, overview_parts

FORMATS = (".png", ".svg")
MARGIN = 40.0
MAX_PNG_SIDE = 16_384  # pixels: a 10,000-step column at 1.5x would be a 1.8-million-pixel-tall, 7 GB image
MAX_PNG_PIXELS = 32 * 1024 * 1024  # 128 MB of ARGB at most; a bigger canvas is drawn smaller to fit
SCENE_STEPS, SCENE_EDGES = 2_000, 10_000  # a bigger graph is drawn as the overview, without a scene


def fitted_scale(width: float, height: float, scale: float) -> float:
    """``scale``, reduced so that a ``width`` x ``height`` canvas stays within the PNG limits."""
    fit = min(1.0, MAX_PNG_SIDE / max(width * scale, 1.0), MAX_PNG_SIDE / max(height * scale, 1.0))
    fit = min(fit, (MAX_PNG_PIXELS / max(width * height * scale * scale, 1.0)) ** 0.5)
    return scale * fit


def _pixels(source: QRectF, scale: float) -> QSize:
    """The image size for ``source`` at ``scale``, rounded down (never over a limit ``fitted_scale`` kept)."""
    return QSize(max(1, int(source.width() * scale)), max(1, int(source.height() * scale)))


def canvas_rect(scene) -> QRectF:
    rect = QRectF()
    for item in scene.nodes.values():
        rect = rect.united(item.box())  # (its ports reach a little beyond: inside the margin)
    for band in scene.bands:
        rect = rect.united(band.sceneBoundingRect())
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
    if len(graph.nodes) > SCENE_STEPS or len(graph.edges) > SCENE_EDGES:
        return _export_overview(graph, path, scale, show_layers)
    if suffix == ".png":
        rect = _model_rect(graph, [])
        if fitted_scale(rect.width(), rect.height(), scale) < geo.DETAIL_LOD:
            return _export_overview(graph, path, scale, show_layers)
    scene = CanvasScene(Document(graph.copy()))
    try:
        scene.finish_building()  # over the scene's BIG_SCENE_ITEMS its items are made a slice at a time
        scene.set_show_layers(show_layers)
        scene.flush()
        for item in scene.nodes.values():
            item.setCacheMode(item.CacheMode.NoCache)  # draw each card straight at the export resolution
        source = canvas_rect(scene)
        if suffix == ".png":
            scale = fitted_scale(source.width(), source.height(), scale)
        size = _pixels(source, scale)
        _write(graph, path, size, lambda painter, target: scene.render(painter, target, source))
    finally:
        scene.detach()
        scene.deleteLater()
    return path


def _write(graph: Graph, path: Path, size: QSize, draw: Callable[[QPainter, QRectF], None]) -> None:
    """Paint ``draw`` into a PNG or SVG of ``size`` pixels at ``path``, on the canvas's background."""
    if path.suffix.lower() == ".png":
        image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(theme.CANVAS_BACKGROUND)
        _paint(image, size, draw)
        # quality 80: zlib's fast levels, twice as fast as its default for a few percent more bytes
        if not image.save(str(path), "PNG", 80):  # type: ignore[call-overload]  # PySide6 stubs say bytes; it takes str
            raise OSError(f"cannot write {path}")
        return
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(size)
    generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
    generator.setTitle(graph.name)
    generator.setDescription(graph.description)
    _paint(generator, size, draw, background=True)
    if not path.exists():
        raise OSError(f"cannot write {path}")


def _paint(device, size: QSize, draw: Callable[[QPainter, QRectF], None], background: bool = False) -> None:
    painter = QPainter(device)
    try:
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        target = QRectF(0, 0, size.width(), size.height())
        if background:
            painter.fillRect(target, theme.CANVAS_BACKGROUND)
        draw(painter, target)
    finally:
        painter.end()


# --- big graphs: the overview, straight from the model -----------------------------------------------
def _bands(graph: Graph, show_layers: bool) -> list[tuple[QRectF, str]]:
    if not show_layers:
        return []
    try:
        layers = Analysis(graph).layers
    except CycleError:
        return []
    return [
        (geo.band_rect(geo.node_rect_at(graph.nodes[n].position) for n in group), geo.band_label(i, len(group)))
        for i, group in enumerate(layers)
    ]


def _model_rect(graph: Graph, bands: list[tuple[QRectF, str]]) -> QRectF:
    xs = [node.position[0] for node in graph.nodes.values()]
    ys = [node.position[1] for node in graph.nodes.values()]
    rect = QRectF() if not xs else QRectF(min(xs), min(ys), max(xs) - min(xs) + geo.CARD_WIDTH, max(ys) - min(ys))
    if xs:
        rect.setHeight(rect.height() + geo.CARD_HEIGHT)
    for band, _ in bands:
        rect = rect.united(band)
    if rect.isNull():
        rect = QRectF(0, 0, 400, 300)
    return rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)


def _export_overview(graph: Graph, path: Path, scale: float, show_layers: bool) -> Path:
    bands = _bands(graph, show_layers)
    source = _model_rect(graph, bands)
    if path.suffix.lower() == ".png":
        scale = fitted_scale(source.width(), source.height(), scale)
    size = _pixels(source, scale)
    parts = overview_parts(graph)
    zoom = size.width() / source.width()

    def draw(painter: QPainter, target: QRectF) -> None:
        painter.scale(target.width() / source.width(), target.height() / source.height())
        painter.translate(-source.x(), -source.y())
        for i, (rect, label) in enumerate(bands):
            draw_band(painter, rect, i, label, zoom)
        draw_overview(painter, parts, zoom, source)

    _write(graph, path, size, draw)
    return path
