"""Class 7 of issue 14 at the canvas export: a graph at the file format's limits is drawn without building a
scene (as the canvas draws itself far out), and no PNG grows beyond its pixel limits, wherever the steps are."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from chainstudio.core.graph.model import Graph
from chainstudio.core.storage.fileformat import MAX_COORDINATE, loads
from chainstudio.ui import theme
from chainstudio.ui.canvas import export, scene


def grid(steps: int, columns: int = 50) -> Graph:
    graph = Graph("big")
    previous = None
    for i in range(steps):
        node = graph.add("join", f"s{i}", position=((i % columns) * 260.0, (i // columns) * 160.0), template="x")
        if previous is not None:
            graph.connect(previous.id, node.id)
        previous = node
    return graph


@pytest.fixture
def no_scene(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a scene was built for a graph over the export's scene limit")

    monkeypatch.setattr(scene.CanvasScene, "__init__", refuse)


def test_a_graph_over_the_scene_limit_is_exported_as_the_overview(qapp, tmp_path, no_scene):
    graph = grid(export.SCENE_STEPS + 1)
    png = export.export_canvas(graph, tmp_path / "big.png")
    image = QImage(str(png))
    assert 0 < image.width() <= export.MAX_PNG_SIDE and image.width() * image.height() <= export.MAX_PNG_PIXELS
    background = theme.CANVAS_BACKGROUND.rgb()
    samples = [image.pixel(x, y) for y in range(0, image.height(), 7) for x in range(0, image.width(), 7)]
    assert sum(1 for p in samples if p != background) / len(samples) > 0.05  # drawn, not blank
    assert theme.kind_color("join").rgb() in set(samples)  # the cards, in their kind's colour
    svg = export.export_canvas(graph, tmp_path / "big.svg")
    assert svg.read_text(encoding="utf-8").count("<path") >= 1


def test_no_png_outgrows_its_limits_wherever_the_steps_are(qapp, tmp_path):
    text = (
        '{"format": "chainstudio/graph", "version": 1, "name": "far", "nodes": ['
        '{"id": "a", "kind": "join", "name": "a", "position": [-1e308, -1e308], "template": "x"},'
        '{"id": "b", "kind": "join", "name": "b", "position": [1e308, 1e308], "template": "x"}], "edges": []}'
    )
    graph = loads(text)
    assert {node.position for node in graph.nodes.values()} == {
        (-MAX_COORDINATE, -MAX_COORDINATE),
        (MAX_COORDINATE, MAX_COORDINATE),
    }
    image = QImage(str(export.export_canvas(graph, tmp_path / "far.png", scale=8)))
    assert 0 < image.width() <= export.MAX_PNG_SIDE and 0 < image.height() <= export.MAX_PNG_SIDE
    assert image.width() * image.height() <= export.MAX_PNG_PIXELS


@pytest.mark.parametrize(("width", "height"), [(1e6, 100.0), (100.0, 2e6), (3e5, 3e5), (500.0, 400.0)])
def test_the_fitted_scale_keeps_both_limits(width, height):
    scale = export.fitted_scale(width, height, 1.5)
    assert scale <= 1.5
    assert width * scale <= export.MAX_PNG_SIDE + 1 and height * scale <= export.MAX_PNG_SIDE + 1
    assert width * height * scale * scale <= export.MAX_PNG_PIXELS * 1.001
    if width * 1.5 <= export.MAX_PNG_SIDE and height * 1.5 <= export.MAX_PNG_SIDE and width * height < 1e6:
        assert scale == 1.5  # a canvas within the limits keeps its scale
