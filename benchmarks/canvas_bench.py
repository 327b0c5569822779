"""Canvas benchmark: a 1,000-node graph — load-to-shown time and paint time per frame while panning and
zooming. Writes the figures into docs/performance.md under "## Canvas".

    .venv/bin/python benchmarks/canvas_bench.py            # offscreen (raster), or a real window under xvfb-run
    .venv/bin/python benchmarks/canvas_bench.py --no-write # print only
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("CHAINSTUDIO_CONFIG_DIR", tempfile.mkdtemp(prefix="canvas-bench-"))

from perfdoc import write_section  # noqa: E402

from chainstudio.core.editing.layout import auto_layout_positions  # noqa: E402
from chainstudio.core.graph.model import Graph, GraphInput  # noqa: E402
from chainstudio.core.storage import fileformat  # noqa: E402

LAYERS, WIDTH = 50, 20  # 1 input + 50 x 20 LLM steps = 1,001 nodes
FRAME_BUDGET_MS = 16.0
SECTION = "## Canvas"


def build_graph() -> Graph:
    graph = Graph("bench-1000", "50 layers of 20 parallel steps", [GraphInput("topic", "benchmarks")])
    previous = [graph.add("input", "topic", input="topic")]
    for layer in range(LAYERS):
        current = []
        for i in range(WIDTH):
            parents = previous[max(0, i - 1) : i + 1] or previous[:1]
            uses = parents[0].name
            node = graph.add(
                "llm",
                f"s{layer}_{i}",
                prompt=f"Step {layer}.{i}: build on {{{{ {uses} }}}} about {{{{ inputs.topic }}}}.\nBe brief.",
            )
            for parent in parents:
                graph.connect(parent.id, node.id)
            current.append(node)
        previous = current
    for node_id, position in auto_layout_positions(graph).items():
        graph.nodes[node_id].position = position
    return graph


def paint_ms(view) -> float:
    start = time.perf_counter()
    view.viewport().repaint()
    return (time.perf_counter() - start) * 1000


def frames(view, moves, repeat: int = 1) -> list[float]:
    out = []
    for _ in range(repeat):
        for move in moves:
            move()
            out.append(paint_ms(view))
    return out


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "p95": ordered[max(0, round(0.95 * len(ordered)) - 1)],
        "max": ordered[-1],
        "n": len(ordered),
    }


def run() -> dict:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from chainstudio.ui.app import create_application
    from chainstudio.ui.main_window import MainWindow

    app = create_application()
    graph = build_graph()
    path = Path(tempfile.mkdtemp(prefix="canvas-bench-")) / "bench-1000.chain.json"
    fileformat.save(graph, path)
    settings = QSettings(str(path.parent / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1600, 1000)
    window.show()
    for _ in range(5):
        app.processEvents()
    view = window.view

    start = time.perf_counter()
    loaded = fileformat.load(path)
    parsed = time.perf_counter()
    window.document.replace(loaded, path)
    built = time.perf_counter()
    view.fit()
    view.viewport().repaint()
    shown = time.perf_counter()
    window.scene.flush()  # edge styles (ordering-only dashes) and layer bands
    view.viewport().repaint()
    annotated = time.perf_counter()
    QApplication.processEvents()

    results = {
        "nodes": len(loaded.nodes),
        "edges": len(loaded.edges),
        "items": len(window.scene.items()),
        "load_ms": (parsed - start) * 1000,
        "build_ms": (built - parsed) * 1000,
        "shown_ms": (shown - start) * 1000,
        "annotated_ms": (annotated - start) * 1000,
        "platform": QApplication.platformName(),
        "viewport": f"{view.viewport().width()}x{view.viewport().height()}",
    }
    pan = [lambda d=d: view.pan_by(*d) for d in [(40, 0)] * 15 + [(0, 30)] * 10 + [(-40, 0)] * 15 + [(0, -30)] * 10]
    fit_zoom = view.zoom()
    results["fit_zoom"] = fit_zoom
    frames(view, pan[:5])  # warm the caches
    results["pan_fit"] = summary(frames(view, pan, repeat=2))
    view.zoom_by(1.0 / fit_zoom)  # 100 %
    view.centerOn(window.scene.nodes[loaded.resolve("s25_10").id].sceneBoundingRect().center())
    frames(view, pan[:5])
    results["pan_100"] = summary(frames(view, pan, repeat=2))
    zoom_steps = [lambda: view.zoom_by(0.8)] * 12 + [lambda: view.zoom_by(1.25)] * 12
    results["zoom_first"] = summary(frames(view, zoom_steps))  # cards come into view for the first time
    results["zoom"] = summary(frames(view, zoom_steps, repeat=2))  # the same zoom range again
    window.scene.set_zooming(False)  # what the settle timer does after the last step
    results["settle_ms"] = paint_ms(view)
    window.document.replace(Graph())
    window.close()
    return results


def render_section(r: dict) -> str:
    def row(name: str, s: dict) -> str:
        ok = "yes" if s["p95"] <= FRAME_BUDGET_MS else "**no**"
        return f"| {name} | {s['n']} | {s['median']:.1f} | {s['p95']:.1f} | {s['max']:.1f} | {ok} |"

    return "\n".join(
        [
            SECTION,
            "",
            f"`.venv/bin/python benchmarks/canvas_bench.py` on {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, Qt platform `{r['platform']}`, viewport {r['viewport']} "
            f"(measured {time.strftime('%Y-%m-%d')}). Graph: {r['nodes']:,} nodes, {r['edges']:,} edges "
            f"({LAYERS} layers x {WIDTH} parallel steps, auto-laid out), {r['items']:,} scene items.",
            "",
            "| Load to shown | ms |",
            "|---|---:|",
            f"| parse + validate the file (`fileformat.load`) | {r['load_ms']:.0f} |",
            f"| build the scene (document reset -> items) | {r['build_ms']:.0f} |",
            f"| **load to shown** (parse, build, fit, first full paint) | **{r['shown_ms']:.0f}** |",
            "| load to fully annotated (+ layer bands, dashed ordering-only edges, second paint) | "
            f"{r['annotated_ms']:.0f} |",
            "",
            f"Paint time per frame (synchronous `viewport().repaint()`), target <= {FRAME_BUDGET_MS:.0f} ms:",
            "",
            "| Scenario | frames | median ms | p95 ms | max ms | p95 within budget |",
            "|---|---:|---:|---:|---:|---|",
            row(f"pan, whole graph in view (zoom {r['fit_zoom']:.0%}, cards drawn as blocks)", r["pan_fit"]),
            row("pan at 100 % (full cards)", r["pan_100"]),
            row(
                "zoom out to 7 % and back in (0.8x / 1.25x steps), first time: cards drawn as they come into view",
                r["zoom_first"],
            ),
            row("the same zoom range again (cards cached)", r["zoom"]),
            "",
            f"After the last zoom step of a gesture (250 ms idle) the visible cards are redrawn sharp once: "
            f"{r['settle_ms']:.1f} ms.",
            "",
            "How: below 50 % zoom the scene switches to an overview — cards and edges are flagged as having no "
            "contents (Qt skips painting them; they stay selectable and movable) and one item draws all of them "
            "with a few C++ calls "
            "(`drawRects` per kind, two combined edge paths, names only where readable and in view). Cards are "
            "cached at screen resolution (`DeviceCoordinateCache`); during a zoom gesture they switch to "
            "`ItemCoordinateCache`, so each step rescales pixmaps instead of redrawing text, and are redrawn sharp "
            "250 ms after the last step. "
            "Bounding rects, shapes and elided card text are computed once per change, not per paint; the pixmap "
            "cache is raised to 96 MB; the grid background is cached; layer bands and edge styles are recomputed "
            "once per event-loop turn; the inspector validates after the first paint, not before.",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print the figures without editing the docs")
    parser.add_argument("--doc", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args()
    results = run()
    section = render_section(results)
    print(section)
    if not args.no_write:
        write_section(SECTION, section, Path(args.doc))
        print(f"updated the '{SECTION}' section of {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
