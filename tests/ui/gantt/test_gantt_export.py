"""PNG and SVG export, and ``render_gantt`` as the CLI's ``--gantt`` will call it."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from chainstudio.ui.gantt import ChartDocument, GanttWidget, render_gantt
from chainstudio.ui.gantt.export import MARGIN
from chainstudio.ui.gantt.theme import Theme
from tests.ui.gantt_scripts import failing, hybrid, nid, staircase

ROOT = Path(__file__).resolve().parents[3]


def svg_texts(path):
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return " ".join(t.strip() for el in root.iter() for t in [el.text or ""] if t.strip())


def test_render_png_has_the_document_size_and_the_bar_colours(qapp, tmp_path):
    state = failing().state()
    out = render_gantt(state, tmp_path / "run.png", width=1100)
    image = QImage(str(out))
    doc = ChartDocument([state], 1100)
    assert (image.width(), image.height()) == (1100, doc.height)
    theme = Theme.light()
    x0, y0, x1, y1 = doc.layout.bar_rect(nid("hardware"))
    centre = (round(MARGIN + (x0 + x1) / 2), round(doc.chart_top + doc.layout.metrics.axis_height + (y0 + y1) / 2))
    assert image.pixelColor(*centre) == theme.status_color("failed")


def test_render_svg_parses_and_names_the_nodes(qapp, tmp_path):
    out = render_gantt(hybrid().state(), tmp_path / "run.svg", width=1200)
    text = svg_texts(out)
    for word in ("hardware", "aggregate", "SIMULATED", "Layer 2 · 3 in parallel", "Cost $0.0258"):
        assert word in text.replace("\u00a0", " ")


def test_render_refuses_other_suffixes(qapp, tmp_path):
    with pytest.raises(ValueError, match="png or .svg"):
        render_gantt(hybrid().state(), tmp_path / "run.jpg")


def test_widget_exports_png_and_svg(qtbot, tmp_path):
    widget = GanttWidget()
    qtbot.addWidget(widget)
    widget.set_states([hybrid().state(), staircase().state()])
    png = widget.export_png(tmp_path / "w.png", width=900)
    image = QImage(str(png))
    assert not image.isNull() and image.width() == 900
    assert image.height() == ChartDocument(widget.states(), 900).height
    svg = widget.export_svg(tmp_path / "w.svg", width=900)
    assert "sequential" in svg_texts(svg)


def test_render_gantt_without_an_application_creates_an_offscreen_one(tmp_path):
    out = tmp_path / "cli.png"
    code = (
        "from tests.ui.gantt_scripts import staircase\n"
        "from chainstudio.ui.gantt import render_gantt\n"
        f"render_gantt(staircase().state(), {str(out)!r}, width=800)\n"
        "from PySide6.QtGui import QGuiApplication\n"
        "print(QGuiApplication.platformName())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "offscreen"
    assert QImage(str(out)).width() == 800


def test_a_png_too_big_to_hold_is_cut_below_the_rows_that_fit_and_says_so(qapp, tmp_path, monkeypatch):
    """A 10,000-step run's chart was a 1400 x 257,787 PNG (1.5 GB while drawn): the picture is cut at
    ``MAX_PNG_PIXELS`` with a note of how many rows it holds; the SVG keeps them all."""
    from chainstudio.ui.gantt import export

    state = staircase().state()
    full = ChartDocument([state], 1000)
    monkeypatch.setattr(export, "MAX_PNG_PIXELS", 1000 * (full.height - 100))
    image = QImage(str(render_gantt(state, tmp_path / "run.png", width=1000)))
    assert image.width() == 1000 and image.height() * 1000 <= export.MAX_PNG_PIXELS
    cut = ChartDocument([state], 1000, max_pixels=export.MAX_PNG_PIXELS)
    assert cut.height == image.height() and cut.cut_note.startswith("Cut here: ")
    rows = [r for r in full.layout.rows if r.kind == "node"]
    assert f" of {len(rows):,} rows fit" in cut.cut_note
    shown = int(cut.cut_note.split()[2].replace(",", ""))
    assert 0 < shown < len(rows)
    assert ChartDocument([state], 1000, max_pixels=1000 * full.height).cut_note == ""  # fits: whole
    assert "aggregate" in svg_texts(render_gantt(state, tmp_path / "run.svg", width=1000))
