"""The interactive canvas's overview (the far-out drawing) at the file format's limits: a frame's paint time
with 10,000 steps and 100,000 edges, about 90 % of them ordering-only (issue 14).

    .venv/bin/python benchmarks/overview_bench.py                       # rewrites "## Overview at the limits"
    .venv/bin/python benchmarks/overview_bench.py --root ../main --json before.json --no-write   # the before
    .venv/bin/python benchmarks/overview_bench.py --before before.json  # + the before column

The graph is ``limits_bench.dense``; the scene is built as the window builds it (``CanvasScene`` on a
``Document``), the view fitted to the whole graph (the overview is on), and the viewport repainted
synchronously: the time of each repaint is a frame's paint time. Qt's raster engine (offscreen).

The window's thread is watched by a heartbeat (a 0 ms timer, which runs between any two other pieces of
work of the event loop): the longest gap between two beats is the longest the window could not respond.
It is measured while the graph opens (from ``Document.replace`` until every item, band and the overview
are made and the first overview image is drawn) and while the image of a new zoom level is drawn. The
worst hit test is ``scene.items(point)`` (what a click or a hover asks) at each point of a 15 × 15 grid
over the graph, the first time at that point (edge shapes not stroked yet).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if "--root" in sys.argv:
    ROOT = Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("CHAINSTUDIO_CONFIG_DIR", tempfile.mkdtemp(prefix="overview-bench-"))

from perfdoc import write_section  # noqa: E402

SECTION = "## Overview at the limits"
FRAMES = 5
GRID = 15  # hit tests at GRID × GRID points over the graph
ZOOMED_IN = 1.2  # the detailed frames' zoom
CROSSINGS = 3  # zooms in past the overview and out into it again (60 % and 30 %)
BAND_ZOOMS = (0.35, 0.45, 0.55)  # where the layer bands' frames are measured (over 0.5: the detailed frame)


class Sampler:
    """Where the window's thread is, every 10 ms, from another thread: ``during(a, b)`` names the functions of
    this checkout (innermost first) it was found in most between two times."""

    def __init__(self) -> None:
        import threading

        self.samples: list[tuple[float, str]] = []
        self._main = threading.main_thread().ident
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            frame = sys._current_frames().get(self._main)
            where = []
            while frame is not None and len(where) < 2:
                if "chainstudio" in frame.f_code.co_filename:
                    where.append(f"{Path(frame.f_code.co_filename).name} {frame.f_code.co_name}")
                frame = frame.f_back
            self.samples.append((time.perf_counter(), " ← ".join(where) or "?"))

    def stop(self) -> None:
        self._stop.set()

    def during(self, start: float, end: float) -> str:
        from collections import Counter

        found = Counter(where for at, where in self.samples if start <= at <= end)
        return ", ".join(f"{where} ({n})" for where, n in found.most_common(3))


def run_until(app, done, gap_at: list[float] | None = None, cpu: list[float] | None = None) -> tuple[float, float]:
    """Run the event loop until ``done()``; (seconds it took, the longest gap between two heartbeats); the
    longest gap's start and end go in ``gap_at``; ``cpu`` gets the most CPU time the window's thread spent
    between two heartbeats."""
    from PySide6.QtCore import QEventLoop, QTimer

    beats = [time.perf_counter()]
    spent = [time.thread_time()]
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(0)

    def beat() -> None:
        beats.append(time.perf_counter())
        spent.append(time.thread_time())
        if done():
            loop.quit()

    timer.timeout.connect(beat)
    timer.start()
    loop.exec()
    timer.stop()
    gaps = [(b - a, a, b) for a, b in zip(beats, beats[1:], strict=False)]
    longest = max(gaps, default=(0.0, 0.0, 0.0))
    if gap_at is not None:
        gap_at[:] = longest[1:]
    if cpu is not None:
        cpu.append(max((b - a for a, b in zip(spent, spent[1:], strict=False)), default=0.0))
    return beats[-1] - beats[0], longest[0]


def measure(folder: Path) -> dict:
    from PySide6.QtWidgets import QApplication

    import chainstudio
    from chainstudio.core.editing.document import Document
    from chainstudio.core.storage import fileformat
    from chainstudio.ui.canvas.scene import CanvasScene
    from chainstudio.ui.canvas.view import CanvasView

    watch_pieces()

    print(f"chainstudio from {Path(chainstudio.__file__).parent}", flush=True)
    from limits_bench import dense  # after chainstudio: it puts this checkout first on the path

    app = QApplication.instance() or QApplication([])
    path = dense(folder / "dense.chain.json")
    start = time.perf_counter()
    graph = fileformat.load(path)  # on the window's thread, as File -> Open did
    parse_s = time.perf_counter() - start
    read_slice = read_as_open_does(app, path)
    document = Document()
    try:  # as the window does (ui/editing/controller.py): a big graph is validated on a worker thread
        from chainstudio.ui.editing.problem_checker import ProblemChecker

        checker = ProblemChecker(document)
    except ImportError:  # a checkout from before (--root): the scene validates on the window's thread
        checker = None
    scene = CanvasScene(document)
    view = CanvasView(scene)
    view.resize(1400, 900)
    view.show()
    image = scene.overview._edge_image
    t0 = time.perf_counter()
    document.replace(graph)  # what the window does when a file opens: replace, fit, then its event loop
    view.fit()
    first = time.perf_counter() - t0

    def opened() -> bool:
        pending = scene._pending.isActive() or scene._problems_timer.isActive()
        underway = getattr(scene, "_pass", None)  # a sliced pass (where the checkout has one)
        pending |= underway is not None and underway.active
        pending |= checker is not None and (checker.busy or not document.problems_known)  # badges not shown yet
        return not (getattr(scene, "building", False) or pending or getattr(image, "drawing", False))

    sampler, gap_at = Sampler(), []
    _, longest = run_until(app, opened, gap_at)
    sampler.stop()
    built = time.perf_counter() - t0
    open_where = sampler.during(*gap_at) if longest > first else "replace and fit"
    open_slice = max(first, longest)
    pieces = {name: times for name, times in PIECES.items()}
    PIECES_SEEN.update(pieces)
    PIECES.clear()
    snapshot_ms = None
    if checker is not None:  # what a check costs the window's thread: the revision's snapshot (median of 5)
        times = []
        for _ in range(FRAMES):
            start = time.perf_counter()
            document.problem_check()
            times.append((time.perf_counter() - start) * 1000)
        snapshot_ms = statistics.median(times)
    edges = list(scene.edges.values())
    dashed = sum(1 for e in edges if e.ordering_only)
    paints = []
    for _ in range(FRAMES):
        start = time.perf_counter()
        view.viewport().repaint()
        paints.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    view.zoom_by(1.25)  # a wheel step: the edges' last image is stretched while the zoom goes on
    view.viewport().repaint()
    zooming = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    scene.set_zooming(False)  # the zoom settled: the first frame at the new level draws the edges' image
    view.viewport().repaint()
    zoomed = (time.perf_counter() - start) * 1000
    ready, settle_gap = run_until(app, lambda: not getattr(image, "drawing", False))
    ready += zoomed / 1000
    settle_slice = max(zoomed / 1000, settle_gap)
    centre = view.centre_scene_pos()
    start = time.process_time()  # CPU time: nothing else runs in this process now; less load-dependent
    for _ in range(FRAMES):
        scene.items(centre)  # what a click or a hover asks the scene's index
    hit = (time.process_time() - start) * 1000 / FRAMES
    worst_hit, worst_at = worst_hit_test(scene)
    crossings: dict[str, list[float]] = {}
    switch = getattr(scene.overview, "_switch", None)

    def switched() -> bool:
        busy = getattr(scene.overview, "busy", None)  # the cards drawn or not, and their cache modes
        if busy is None:  # a checkout from before (--root): drawn or not
            busy = switch is not None and switch.busy
        return not (busy or scene._pending.isActive() or scene._pass.active or image.drawing)

    for _ in range(CROSSINGS):
        for key, zoom in (("leave_overview", 0.6), ("enter_overview", 0.3)):  # the window thread's CPU time
            start = time.thread_time()  # of the step and its frame (a worker drawing an image meanwhile not counted)
            view.zoom_by(zoom / view.zoom())
            view.viewport().repaint()
            crossings.setdefault(f"{key}_all_ms", []).append((time.thread_time() - start) * 1000)
            after: list[float] = []  # then, until the cards are switched and the pass and image are done
            run_until(app, switched, cpu=after)
            crossings.setdefault(f"{key}_after_ms", []).append(after[0] * 1000)
    for key in ("leave_overview", "enter_overview"):
        crossings[f"{key}_ms"] = statistics.median(crossings[f"{key}_all_ms"])  # type: ignore[assignment]
        crossings[f"{key}_afters_ms"] = crossings[f"{key}_after_ms"]
        crossings[f"{key}_after_ms"] = max(crossings[f"{key}_after_ms"])  # type: ignore[assignment]
    bands = band_frames(app, scene, view, switched)
    detail = detailed_frames(app, scene, view)
    return {
        "steps": len(scene.nodes),
        "edges": len(edges),
        "ordering_only": dashed,
        "overview": scene.overview.active,
        "build_s": built,
        "paint_ms": paints,
        "median_ms": statistics.median(paints),
        "zooming_ms": zooming,
        "zoomed_ms": zoomed,
        "hit_ms": hit,
        "open_slice_ms": open_slice * 1000,
        "parse_ms": parse_s * 1000,
        "read_slice_ms": read_slice * 1000,
        "build_slice_ms": max(pieces.get("build", [0.0])) * 1000,
        "pass_slice_ms": max(pieces.get("pass", [0.0])) * 1000,
        "pass_ms": sum(pieces.get("pass", [0.0])) * 1000,
        "pass_pieces": len(pieces.get("pass", [])),
        "rest_slice_ms": max(pieces.get("badges", [0.0])) * 1000,
        "open_slice_where": open_where,
        "settle_ready_ms": ready * 1000,
        "settle_slice_ms": settle_slice * 1000,
        "worst_hit_ms": worst_hit,
        "worst_hit_at": worst_at,
        **crossings,
        **bands,
        **detail,
        "snapshot_ms": snapshot_ms,
        "load": os.getloadavg()[0],
    }


PIECES: dict[str, list[float]] = {}  # what the window's thread did in one go while the graph opened (s)
PIECES_SEEN: dict[str, list[float]] = {}


def watch_pieces() -> None:
    """Time each piece of the open on the window's thread: a slice of the build, the pass after it (one
    ``flush``, or one slice of a sliced pass where the checkout has ``scene_pass``), validation for the
    badges. Class attributes are wrapped before the scene connects its timers to them."""
    from chainstudio.ui.canvas import scene, scene_build

    def timed(owner: type, attribute: str, piece: str) -> None:
        method = getattr(owner, attribute)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                PIECES.setdefault(piece, []).append(time.perf_counter() - start)

        setattr(owner, attribute, wrapper)

    timed(scene_build.SlicedBuild, "_slice", "build")
    timed(scene.CanvasScene, "show_problems", "badges")
    try:
        from chainstudio.ui.canvas import scene_pass
    except ImportError:
        timed(scene.CanvasScene, "flush", "pass")
    else:
        timed(scene_pass.SlicedPass, "_slice", "pass")
        timed(scene.CanvasScene, "flush", "pass")


def read_as_open_does(app, path: Path) -> float:
    """The longest slice of the window's thread while File -> Open reads ``path``: on a worker thread where
    the checkout has ``file_loader`` (the loop turns meanwhile), else the whole parse on the window's thread."""
    try:
        from chainstudio.ui.editing.file_loader import FileLoader
    except ImportError:
        from chainstudio.core.storage import fileformat

        start = time.perf_counter()
        fileformat.load(path)
        return time.perf_counter() - start
    loader = FileLoader()
    got: list[object] = []
    loader.finished.connect(lambda _path, graph, error: got.append(graph or error))
    loader.start(path)
    return run_until(app, lambda: bool(got))[1]


def band_frames(app, scene, view, settled) -> dict:
    """Where the layer bands cost most (issue 14: 90-160 of this graph's 980 bands cross the view): at each of
    ``BAND_ZOOMS``, the zoom settled, then ``FRAMES`` pans of 60 × 30 px, each frame's window thread CPU; and the
    most CPU the window's thread spent in one slice from the zoom step to the end of the pans."""
    frames: dict[str, list[float]] = {}
    cpu: list[float] = []
    for zoom in BAND_ZOOMS:
        for step in (lambda z=zoom: view.zoom_by(z / view.zoom()), lambda: scene.set_zooming(False)):
            start = time.thread_time()  # the zoom step and its frame, then (a turn later) its settling and frame
            step()
            view.viewport().repaint()
            cpu.append(time.thread_time() - start)
        run_until(app, settled, cpu=cpu)
        for _ in range(FRAMES):
            view.pan_by(60, 30)
            start = time.thread_time()
            view.viewport().repaint()
            frames.setdefault(f"{zoom:.2f}", []).append((time.thread_time() - start) * 1000)
            run_until(app, settled, cpu=cpu)
    every = [ms for times in frames.values() for ms in times]
    return {
        "band_frames_ms": frames,
        "band_frame_median_ms": statistics.median(every),
        "band_frame_max_ms": max(every),
        "band_slice_cpu_ms": max(cpu) * 1000,
    }


def detailed_frames(app, scene, view) -> dict:
    """Zoomed in to 120 % on the middle of the graph (issue 14: thousands of edges cross the view): the first
    frame (the window thread's CPU), until its edges' image is ready and the longest slice meanwhile (without
    the image: the first frame), then a pan's frame (the window thread's CPU) five times; the most CPU time
    the window's thread spent in one slice through all of it, and the worker's CPU time for the last image."""
    from PySide6.QtCore import QRectF, Qt

    layer = getattr(scene, "edge_layer", None)

    def ready() -> bool:
        return layer is None or not layer._image.drawing

    view.zoom_by(ZOOMED_IN / view.zoom())
    scene.set_zooming(False)
    if getattr(scene.overview, "_switch", None) is not None:
        scene.overview.finish_switching()
    start, wall = time.thread_time(), time.perf_counter()
    view.viewport().repaint()
    first = (time.thread_time() - start) * 1000
    cpu: list[float] = []
    took, gap = run_until(app, ready, cpu=cpu)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    crossing = scene.items(QRectF(visible), Qt.ItemSelectionMode.IntersectsItemBoundingRect)
    pans = []
    for _ in range(FRAMES):
        view.pan_by(60, 30)
        start = time.thread_time()
        view.viewport().repaint()
        pans.append((time.thread_time() - start) * 1000)
    _, pan_gap = run_until(app, ready, cpu=cpu)
    return {
        "detail_in_view": sum(1 for item in crossing if type(item).__name__ == "EdgeItem"),
        "detail_first_ms": first,
        "detail_ready_ms": (time.perf_counter() - wall) * 1000 if layer is not None else first,
        "detail_slice_ms": max(first, gap * 1000) if layer is not None else first,
        "detail_pan_ms": pans,
        "detail_pan_slice_ms": max(max(pans), pan_gap * 1000),
        "detail_cpu_ms": max([first, *pans, *(c * 1000 for c in cpu)]),
        "detail_worker_cpu_ms": getattr(getattr(layer, "_image", None), "drawn_cpu_s", 0.0) * 1000,
    }


def worst_hit_test(scene) -> tuple[float, list[float]]:
    """The slowest ``scene.items(point)`` over a grid of points on the graph (ms of CPU time), and where."""
    from PySide6.QtCore import QPointF, QRectF

    bounds = QRectF()
    for item in scene.nodes.values():
        bounds = bounds.united(item.sceneBoundingRect())
    worst, at = 0.0, [0.0, 0.0]
    for i in range(GRID):
        for j in range(GRID):
            point = QPointF(
                bounds.left() + bounds.width() * (i + 0.5) / GRID, bounds.top() + bounds.height() * (j + 0.5) / GRID
            )
            start = time.process_time()
            scene.items(point)
            took = (time.process_time() - start) * 1000
            if took > worst:
                worst, at = took, [round(point.x()), round(point.y())]
    return worst, at


def _ms(row: dict, key: str, digits: int = 0) -> str:
    return f"{row[key]:,.{digits}f} ms" if key in row else "not measured"


def section(r: dict, before: dict | None) -> str:
    rows = [(label, row) for label, row in (("main (before)", before), ("this branch", r)) if row is not None]
    lines = [
        SECTION,
        "",
        "Reproduce with one command (it rewrites this section):",
        "",
        "```",
        ".venv/bin/python benchmarks/overview_bench.py",
        "```",
        "",
        f"Measured on CPython {platform.python_version()}, {platform.system()}, Qt offscreen (raster), a 1400×900 "
        f"view fitted to {r['steps']:,} steps and {r['edges']:,} edges, {r['ordering_only']:,} of them "
        f"ordering-only (`limits_bench.dense`); load average {r['load']:.1f} on 2 cores"
        + (f" ({before['load']:.1f} for the before run)" if before else "")
        + ". *Longest slice*: the longest the window's thread was busy without a turn of its event loop "
        "(a 0 ms heartbeat timer's longest gap), issue 14's limit is 100 ms."
        + (
            " The before row: `overview_bench.py --root ../main --json before.json --no-write`, run just before "
            "this branch's `--before before.json`."
            if before
            else ""
        ),
        "",
        "| checkout | open: until all is drawn | open: longest slice | first frame once a zoom settles | "
        "its image ready after | longest slice meanwhile | worst hit test (15 × 15 points, CPU) | "
        "hit test at the centre (CPU) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, row in rows:
        cells = [
            f"{row['build_s']:.1f} s",
            _ms(row, "open_slice_ms"),
            _ms(row, "zoomed_ms"),
            _ms(row, "settle_ready_ms"),
            _ms(row, "settle_slice_ms"),
            _ms(row, "worst_hit_ms", 1),
            _ms(row, "hit_ms", 1),
        ]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    lines += [
        "",
        "Opening, step by step (the longest piece of work the window's thread did in one go in each step, "
        "wall time: *parsing* is `fileformat.load` on the window's thread, as File → Open did; *while it "
        "reads* the heartbeat's longest gap while File → Open reads it as this checkout does):",
        "",
        "| checkout | parsing the file | File → Open while it reads: longest slice | making the items: "
        "longest slice | the pass after the last item: longest piece | the pass in all (pieces) | the badges "
        "(`show_problems`: on main it validated the graph) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, row in rows:
        cells = [
            _ms(row, "parse_ms"),
            _ms(row, "read_slice_ms"),
            _ms(row, "build_slice_ms"),
            _ms(row, "pass_slice_ms"),
            f"{_ms(row, 'pass_ms')} ({row.get('pass_pieces', '?')})",
            _ms(row, "rest_slice_ms"),
        ]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    lines += [
        "",
        "| checkout | paint time per frame (median of 5) | frames | a wheel step's frame | "
        f"zooming in past the overview (window thread CPU, median of {CROSSINGS}) | then most in a slice | "
        f"zooming out into it (window thread CPU, median of {CROSSINGS}) | then most in a slice |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for label, row in rows:
        frames = ", ".join(f"{p:,.0f}" for p in row["paint_ms"])
        crossing = " | ".join(
            _ms(row, f"{way}_overview{what}_ms") for way in ("leave", "enter") for what in ("", "_after")
        )
        lines.append(f"| {label} | {row['median_ms']:,.0f} ms | {frames} ms | {_ms(row, 'zooming_ms')} | {crossing} |")
    lines += [
        "",
        "The layer bands at 35-60 % (the zoom settled, then 5 pans of 60 × 30 px at each zoom; window thread CPU "
        "of a pan's frame; 35 % and 45 % are the overview's frames, 55 % a detailed one):",
        "",
        "| checkout | "
        + " | ".join(f"a pan's frame at {z:.0%} (median of {FRAMES})" for z in BAND_ZOOMS)
        + " | frames: median | frames: most | most window thread CPU in a slice (the zoom step to the last pan) |",
        "|---|" + "---:|" * (len(BAND_ZOOMS) + 3),
    ]
    for label, row in rows:
        if "band_frames_ms" not in row:
            lines.append(f"| {label} |" + " not measured |" * (len(BAND_ZOOMS) + 3))
            continue
        cells = [f"{statistics.median(row['band_frames_ms'][f'{z:.2f}']):,.0f} ms" for z in BAND_ZOOMS]
        cells += [_ms(row, "band_frame_median_ms"), _ms(row, "band_frame_max_ms"), _ms(row, "band_slice_cpu_ms")]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    lines += [
        "",
        "| checkout | edges crossing the view at 120 % | first frame at 120 % (window thread CPU) | "
        "its edges ready after | longest slice meanwhile | a pan's frame at 120 % (window thread CPU, median of 5) | "
        "frames | longest slice while panning | most window thread CPU in a slice | the last image (worker CPU) |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for label, row in rows:
        if "detail_pan_ms" not in row:
            lines.append(f"| {label} | not measured | | | | | | | | |")
            continue
        frames = ", ".join(f"{p:,.0f}" for p in row["detail_pan_ms"])
        lines.append(
            f"| {label} | {row['detail_in_view']:,} | {_ms(row, 'detail_first_ms')} | {_ms(row, 'detail_ready_ms')} | "
            f"{_ms(row, 'detail_slice_ms')} | {statistics.median(row['detail_pan_ms']):,.0f} ms | {frames} ms | "
            f"{_ms(row, 'detail_pan_slice_ms')} | {_ms(row, 'detail_cpu_ms')} | {_ms(row, 'detail_worker_cpu_ms')} |"
        )
    lines += [""]
    for label, row in rows:
        if "open_slice_where" in row:
            lines.append(
                f"- {label}: the open's longest slice was spent in {row['open_slice_where']} (samples of 10 ms)"
            )
    if r.get("snapshot_ms") is not None:
        lines.append(
            f"- this branch: a problem check's snapshot of the graph takes {r['snapshot_ms']:,.0f} ms of the window's "
            "thread (median of 5; the check itself runs on a worker thread)"
        )
    lines += ["", NOTES, ""]
    return "\n".join(lines) + "\n"


NOTES = (
    "Before the sliced build, the image drawn on a worker thread and the quick hit-test refusal (load 3.6): the "
    "open's longest slice 9,119 ms, the first frame once a zoom settles 617 ms, the worst hit test 438 ms, "
    "zooming in past the overview 4,350 ms. "
    "A frame copies the edges from an image drawn once per zoom level (`chainstudio/ui/canvas/edge_image.py`: "
    "the edges' whole extent at the view's scale while that is at most 8 million pixels, so panning reuses it) "
    "and fills the blocks; the view paints it itself (`overview_frame.py`), so Qt does not gather, sort and "
    "visit the 110,000 undrawn cards and edges each frame (they stay in the scene: clicks, drags and drops "
    "work). During a zoom gesture a frame stretches the last image. Once the zoom settles (250 ms after the "
    "last wheel step) the new image is drawn on a worker thread (a QImage and a QPainter; the edges are kept "
    "as paths of 1,000 edges, because Qt holds Python's interpreter lock while it strokes a path and the "
    "window's thread gets it back between two), the frame showing the last image stretched until it is ready; "
    "an image for a zoom that changed again meanwhile is thrown away. Opening: the cards and edges are made a "
    "slice of at most 40 ms at a time between turns of the event loop (`scene_build.py`), with the progress "
    "over the canvas and the view fitted at once to where the graph puts its cards; Python's cyclic garbage "
    "collector is paused while they are made and the objects made are then frozen (its full collections, each "
    "0.3-0.5 s with this heap, were the longest slices). *Hit test*: `scene.items(point)`, what each click and "
    "hover asks; the worst of a 15 × 15 grid over the graph, each point asked once, and at the view's centre "
    "(average of 5). It first rules out the edges whose curve is far from the point (`edge_hit.py`: the cubic "
    "split in halves while a half's control points' box, widened by the hit width, still holds the point) and "
    "tests only the others against their stroked shape (about 2 ms of a query now), so a click or hover takes "
    "what it took before; cards, edges and layer bands let Qt compute their bounding boxes (a Python "
    "`boundingRect` was called for every item in the index's cells around the point), and a big scene's index "
    "covers the graph from the start (the scene's rect is set from the model: Qt's index, re-filed whenever the "
    "items' bounds grew, had been left with lopsided cells, so that a hit test walked most of the graph). "
    "Zoomed in, an edge under 1.25 px wide on screen is stroked with a one-pixel (cosmetic) pen: dashing the "
    "7,000 edges in view at 60 % with the 1.8-unit antialiased pen took 3.6 s of the first frame past the "
    "overview (`edge_item.py`, `THIN_PX`). Validation parses a template for structured fields only where it "
    "names a step with an output schema (parsing all 6,370 templates took 0.9 s of the 2.1 s). "
    "Validation: a graph of over 1,200 steps and edges is validated on a worker thread "
    "(`ui/editing/problem_checker.py`, on a snapshot of the revision taken on the window's thread: "
    "`core/editing/problem_check.py`; a result for a revision edited meanwhile is dropped); meanwhile the status "
    "bar and the Inspector say *checking…* and a card's badge of the revision before is dimmed. *Open: until all "
    "is drawn* waits for the check and the badges too (on main they came on the window's thread); the check "
    "shares Python's interpreter lock with the window's thread while the cards are made, so the open takes "
    "about as much longer as the check takes. Badging the cards took 42-62 ms of the window's thread for "
    "this graph's 89,947 problems in one instrumented open at load 6 (only the cards whose badge changes are "
    "touched; touching all 10,000 took 227 ms). On main, validating the whole graph once it is open took "
    "0.9-2.2 s of the window's thread (more "
    "the higher the load), the open's longest slice (`Document.problems`, for the badges, the inspector and the "
    "status bar). In the real window the live estimate followed, with two deep copies of the graph on the "
    "window's thread (`Graph.copy()`, 2-3.4 s each): the estimate and the advisor now take `topology.snapshot` "
    "(15-55 ms; the edges are shared, as no edit changes an edge). "
    "The one pass that follows the last slice (layers, edge "
    "styles, bands and the overview's geometry: 0.8-1.6 s in one `flush`) runs as a generator, at most 40 ms "
    "of it per turn of the loop (`scene_pass.py`), with the collector paused as during the build; the layers "
    "and the ordering-only edges are found a part at a time and once per revision (`Document.find_analysis`, "
    "`Document.find_ordering_only`; the worker's check takes them when the canvas found them first, and hands "
    "back the ones it found otherwise), and the overview's geometry and looks are gathered a part at a time and "
    "shown at once. Sliced, the pass takes longer in all (1.1-1.8 s in 25-47 pieces, against 0.7-1.6 s in one "
    "go, the window turning between pieces), and its longest piece was 54-114 ms over four runs at load 3-7 (the "
    "run above had this project's test suite running alongside). "
    "The file (0.4-1.1 s of `fileformat.load` on the window's thread): File → Open reads a file "
    "over 128 kB on a worker thread, and the format's schema checks its nodes and edges 1,000 per pydantic call "
    "(`chunked_validation.py`: one call over the whole document kept Python's lock 0.4-0.6 s, so a worker "
    "alone did not help). "
    "On a loaded machine (load 4 and more on 2 cores; this benchmark runs under nice 15) the wall-time "
    "figures (the open, the slices, until an image is ready) are mostly the wait for a core; the columns of "
    "the window thread's CPU are not. "
    "*Detailed frames* (the last table): zoomed in, a graph of more than 400 edges has its edges drawn by one "
    "item under the cards (`edge_layer.py`; the edge items draw nothing themselves and stay in the scene for "
    "clicks, hovers, drops and tooltips), which strokes them as the items would while at most 400 cross the view "
    "and otherwise copies them from an image of the view drawn at the view's scale on the worker thread "
    "(`edge_image.py`; then one of the view and a quarter of it on each side, once a pan leaves the first; "
    "until an image is ready the last one is stretched, or the overview's). The worker strokes the edges "
    "one at a time, the fastest way to dash them (the 3,737 edges in view at 120 %: 1.3 s of CPU one by one, "
    "2.9-3.9 s as paths of 4 to 256 edges), and gives Python's lock up every 5 ms (stroked back to back, they "
    "kept the window's thread waiting for it 1-3 s at a time). The selected edges and those of a selected card "
    "are left out of the image and drawn live, and an edge that moves, changes its look, comes or goes is "
    "erased from the image at once (where "
    "other edges crossed it they show a gap until the next image) and drawn live over it. *Most window thread "
    "CPU in a slice*: the most CPU time the window's thread spent between two heartbeats from the first frame "
    "at 120 % to the end of the pans; the wall-time slices also hold the time it waited for a core (nice 15 on "
    "a loaded machine) and for Python's lock (one path of the worker's). The leaving of the overview no longer "
    "switches the edges (only the 10,000 cards), so the first detailed frame past it shows the overview's "
    "image stretched and picks the edges for its own image on the next turn of the loop: their ends and looks, "
    "the worker makes their curves and arrows (made on the window's thread, the 10,000 in view at 60 % took "
    "0.1-0.17 s of it). *Zooming in past the overview* and *zooming out into it*: the window thread's CPU time "
    "for the zoom step and its first frame (60 % and 30 %, median of the crossings); *then most in a slice*: the "
    "most CPU the window's thread spent between two heartbeats afterwards, until the cards are switched and the "
    "image drawn (a frame and a slice of the switch can fall between two). The overview's geometry (its blocks "
    "and the 100,000 edge curves) is kept across zooms (`overview_geometry.py`) and made again only where an "
    "edit touched it: a moved card's block and the paths holding its edges (250 edges a path), an edge added, "
    "removed or dashed anew; after a new file, or once over a quarter of the edges are touched, all of it. "
    "Zooming out into the overview made all 100,000 curves each time (0.3-0.45 s of the window's thread). "
    "Zooming in past it is mostly its first detailed frame (Qt's walk over the 10,000 edges whose boxes cross "
    "the view, about 15-20 ms, and the cards' first paint at the new zoom, 10-18 ms) and varies with the load: "
    "over three runs at load 4-6, one after main's each, its median of 3 was 41-44 ms (main: 75-110 ms), the "
    "first crossing 76-84 ms (main: 83-104 ms; the cards' first layout), then most in a slice 62-65 ms (main: "
    "82-144 ms); zooming out into it 54-58 ms, then 49-50 ms (main: 64-83, 55-70 ms); the bands at 35-60 %: a "
    "pan's frame 18-21 ms median, 30-37 ms at most (main: 27-32, 43-79 ms), most in a slice 49-69 ms (main: "
    "91-121 ms); zoomed in at 120 %, most in a slice 23-42 ms (main: 53-81 ms). The "
    "blocks' looks are kept too, made again only for the cards whose run state or badge changed meanwhile "
    "(making all 10,000 and finding the edges with a look of their own took 50-70 ms of each zoom out), and the "
    "ports in view are drawn one ellipse at a time (one path of 700, at 30 %, took Qt's filler 57 ms of each "
    "frame: it grows faster than the count; where two ports overlap, the one drawn last now covers the other, "
    "as the cards' own ports do, instead of leaving their overlap unfilled). Leaving the overview, the cards in "
    "view (found from the overview's blocks: asking the scene's index, 100,000 edges' boxes in it, took 26 ms) "
    "are switched at once and the others 5 ms at a time (10 and 20 ms before: with a frame in the same turn of "
    "the loop that came near the limit), each with its cache mode (setting all 10,000 took 20-40 ms of the step); "
    "a zoom "
    "gesture's start and end set the cards' cache modes the same way, in view first and the rest 5 ms at a time "
    "(`OverviewItem.set_crisp`: all 10,000 at once took about 20 ms of the first wheel step and of the turn the "
    "zoom settled in). *The layer bands* (980 here; 90-160 of them, wide, translucent, outlined and overlapping, "
    "cross the view at 35-60 %) are drawn by one item (`band_layer.py`) from a picture of the view and an eighth "
    "of it on each side at the view's scale, which frames copy; a pan that leaves it copies what it held and "
    "draws only the strips it uncovers; a zoom gesture stretches it, and once the zoom settles the new one is "
    "drawn 8 ms of the window thread's CPU per turn, the last one stretched meanwhile. A band is drawn only where "
    "it shows (`geometry.band_in_view`: outlining whole bands 16,000 units wide was most of the 15-30 ms the "
    "bands took of each frame). The picture looks as the bands drawn one by one, at most 2 levels of a colour "
    "channel apart (composited in another order: `tests/ui/canvas/test_band_layer.py`); the zoom screenshots "
    "before and after this change (`make_zoom_screenshots.py`: fitted, 45 %, 62 %, 100 %, the card moved) are pixel "
    "for pixel the same but for 4 pixels one level apart at 100 %. An edge image's job takes the edges' "
    "ends and looks 2,000 per turn after the turn that finds them (all 10,000 in view at 60 % took 40-70 ms of "
    "one turn), and the edges crossing the view are counted again only after a zoom, an edit or a pan of a "
    "quarter view while thousands cross it (13-15 ms of each pan's frame at 60 %). With the mouse over the "
    "canvas, Qt replays its last move at each zoom step, and "
    "the hover hit test over this graph took 0.1-0.3 s of a wheel step (stroking edges' shapes): while a zoom "
    "gesture lasts the scene ignores those moves, and so it does while a view is dragged (middle button, "
    "Space+drag: their hover hit test took 0.1-0.3 s of each step of such a pan). "
    "Real wheel events in the real window at its default size (`docs/screenshots/make_zoom_screenshots.py`, "
    "xdotool under Xvfb) took up to 238-534 ms of the window thread's CPU in a slice before the image and the"
    " sliced switches, 56-66 ms after them; the wall-time slices beyond that are the wait for a core and for "
    "Python's lock (held by the window's workers). "
    "Still over issue 14's 100 ms on the window's thread: now and then a slice of the build on this loaded "
    "machine (40 ms of work a slice, wall time); after an edit that adds or removes steps or edges, the "
    "analysis of the new revision (0.14 s in one piece, `analysis.of_edges_parts`; a move no longer redoes it, "
    "and the autosave and File → Save now write on a worker: see [Editing at the limits](#editing-at-the-limits)). "
    "Over the 50 ms aimed at (for 100 ms on a loaded machine) but under 100 ms: now and then a slice of "
    "zooming out into the overview, 44-55 ms of the window thread's CPU (the table below). "
    "The worker's CPU "
    "for one image at 120 % (thousands of long dashed antialiased curves) is seconds; the frames meanwhile do "
    "not wait for it. The slices measured are wall time on a loaded machine: "
    "while a worker draws, the window's thread also waits for Python's lock (at most one path of the worker's)."
    "\n"
    "\n"
    "*The window's activation* was the 0.37-0.43 s slice of the first middle-button pan at 47 %: that click "
    "activated the window, and a QGraphicsScene without a panel sends WindowActivate (and WindowDeactivate) "
    "to every top-level item, sorting all 110,000 by stacking order to find them (`QGraphicsScene::event`; "
    "found with `py-spy record --native`: three quarters in the sort, the rest in PySide's look-up of a "
    "Python `sceneEvent` per item). Every activation and deactivation did the same (Alt+Tab, a dialog opened "
    "or closed). The scene now holds one empty panel (`chainstudio/ui/canvas/activation.py`), and Qt "
    "activates that panel alone. Zooming out into the overview with nothing changed keeps the blocks' fills "
    "and names (10 ms of the step), and the cards' drawn/undrawn and cache-mode switches take 5 ms a turn "
    "each (10 ms, checking the clock every 200 cards: 5 ms). `make_zoom_screenshots.py --pans` (real input, "
    "the default window and opening zoom; `--root` for main at dc24717), three runs each, main and this "
    "branch one after the other, load 8.0-9.8 on 2 cores (the wall-time columns are mostly the wait for a "
    "core): the window's thread's most CPU in one slice of each gesture, and the longest slice in wall time. "
    "The zoom screenshots (fitted, 47 %, 62 %, the card moved, 94 %, research-hybrid out and in) are pixel "
    "for pixel main's but for 20-22 pixels one level of 255 apart at 94 % and in research-hybrid at 102 % "
    "(`compare -metric AE`, `PAE`).\n"
    "\n"
    "| gesture (`--pans`, in this order) | main: most window-thread CPU in a slice | this branch | main: "
    "longest slice (wall) | this branch |\n"
    "|---|---:|---:|---:|---:|\n"
    "| wheeled in to 47 % (17 notches) | 26-32 ms | 30-39 ms | 111-143 ms | 180-493 ms |\n"
    "| the first middle-button pan at 47 % (the click that activates the window) | 362-461 ms | 17-34 ms | "
    "1,408-1,910 ms | 58-371 ms |\n"
    "| a middle-button pan at 47 % | 16-18 ms | 16-17 ms | 81-141 ms | 48-126 ms |\n"
    "| a Space+drag pan at 47 % | 16-25 ms | 17-18 ms | 66-121 ms | 66-109 ms |\n"
    "| another window made active, then this one again | 262-304 ms | 3 ms | 1,004-1,416 ms | 23-29 ms |\n"
    "| wheeled in past the overview (to 62 %) | 35-44 ms | 32-35 ms | 160-216 ms | 148-159 ms |\n"
    "| a middle-button pan at 62 % | 19-29 ms | 19-21 ms | 93-171 ms | 148-171 ms |\n"
    "| wheeled in to 94 % | 30-46 ms | 30-37 ms | 94-189 ms | 143-191 ms |\n"
    "| a middle-button pan at 94 % | 19-32 ms | 30-32 ms | 148-173 ms | 154-181 ms |\n"
    "| wheeled in to 124 % | 28-31 ms | 25-39 ms | 119-211 ms | 70-170 ms |\n"
    "| a Space+drag pan at 124 % | 19-20 ms | 19 ms | 85-143 ms | 58-165 ms |\n"
    "| wheeled out into the overview (to 31 %) | 35-77 ms | 44-55 ms | 259-356 ms | 238-315 ms |\n"
    "| a middle-button pan at 31 % | 21-25 ms | 22-25 ms | 58-129 ms | 83-160 ms |"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--root", help="measure another checkout's chainstudio")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--before", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = measure(Path(folder))
    print(json.dumps(result), flush=True)
    print(
        "pieces of the open (ms):",
        {k: sorted((round(t * 1000) for t in v), reverse=True)[:5] for k, v in PIECES_SEEN.items()},
    )
    if args.json:
        args.json.write_text(json.dumps(result))
    text = section(result, json.loads(args.before.read_text()) if args.before else None)
    print(text)
    if not args.no_write and not args.root:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
