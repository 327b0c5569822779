"""The window while the limits' biggest graph runs (issue 14, "no event-loop stall over 100 ms"): 10,000 steps
and 100,000 edges (``limits_bench.dense``) opened in the real main window on the qasync loop (offscreen, 1400 x
900), then run on the simulated provider at ``--speed 100``, the live Gantt and the canvas following it.

    .venv/bin/python benchmarks/big_run_ui_bench.py                  # print the figures (JSON) and the stalls
    .venv/bin/python benchmarks/big_run_ui_bench.py --root ../main   # another checkout's chainstudio

A 5 ms QTimer probe (``ui_stall_bench.Probe``) records each gap's lateness and the window thread's CPU time in
it; a sampler thread takes the window thread's stack every 10 ms while the probe is overdue by more than
100 ms, so each long gap comes with where it was. ``gc.callbacks`` time every collection of the cyclic
garbage collector while the run goes (full ones: generation 2). The figures are from pressing Run to 0.5 s
after the run's end (the open before it is measured by ``overview_bench.py``). With ``--before`` it rewrites
"## Live run at the limits" in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import faulthandler
import gc
import json
import linecache
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import types
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if "--root" in sys.argv:
    ROOT = Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
sys.path.insert(0, str(ROOT))
sys.path.append(str(BENCH))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for var in ("CHAINSTUDIO_CONFIG_DIR", "CHAINSTUDIO_DATA_DIR"):
    os.environ.setdefault(var, tempfile.mkdtemp(prefix="big-run-ui-"))

import qasync  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from ui_stall_bench import PROBE_MS, Probe  # noqa: E402

from chainstudio.core.launch import RunOptions  # noqa: E402
from chainstudio.core.storage.history import RunHistory  # noqa: E402
from chainstudio.ui.app import create_application  # noqa: E402
from chainstudio.ui.main_window import MainWindow  # noqa: E402

STALL_S = 0.100
SPEED = 100.0


WAITS = ("wait", "get", "sleep", "select", "join", "acquire", "read")  # calls a thread waits in (a read of a
# pipe, the estimate's child's answer, gives Python's lock up)


def waiting(frame: types.FrameType) -> bool:
    """Whether ``frame`` (a thread's innermost Python frame) waits rather than runs."""
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
    return frame.f_code.co_name in WAITS or any(f"{word}(" in line for word in WAITS)


class Sampler:
    """The window thread's stack every 10 ms while the probe is overdue by more than ``STALL_S``, and the other
    threads that were not waiting then (one of them may hold Python's lock: in C code it runs on without
    giving it up, and this thread samples only when it gets it)."""

    def __init__(self, probe: Probe) -> None:
        self.probe, self.thread = probe, threading.get_ident()
        self.samples: list[tuple[float, tuple[str, ...]]] = []  # (when, innermost frames of ours)
        self.others: list[tuple[float, str]] = []  # (when, a busy other thread: name and innermost frame)
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(0.010):
            if time.perf_counter() - self.probe._last > STALL_S + PROBE_MS / 1000:
                now, frames = time.perf_counter(), sys._current_frames()
                frame = frames.get(self.thread)
                stack = traceback.extract_stack(frame) if frame is not None else []
                ours = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack if "chainstudio" in f.filename]
                if not ours:  # in the loop's own code (Qt dispatching, painting)
                    ours = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack[-2:]]
                self.samples.append((now, tuple(ours[-4:])))
                names = {t.ident: t.name for t in threading.enumerate()}
                for ident, other in frames.items():
                    if ident not in (me, self.thread) and not waiting(other):
                        where = f"{Path(other.f_code.co_filename).name}:{other.f_lineno} {other.f_code.co_name}"
                        self.others.append((now, f"{names.get(ident, ident)} {where}"))

    def stop(self) -> None:
        self._stop.set()

    def where(self, t0: float, t1: float) -> list[str]:
        common = collections.Counter(s for t, s in self.samples if t0 <= t <= t1).most_common(1)
        return list(common[0][0]) if common else []

    def busy(self, t0: float, t1: float) -> str:
        """The other thread most often busy in (t0, t1), or ''."""
        common = collections.Counter(s for t, s in self.others if t0 <= t <= t1).most_common(1)
        return common[0][0] if common else ""


async def settle(probe: Probe, quiet_s: float = 3.0, limit_s: float = 120.0) -> None:
    """Until the window has had ``quiet_s`` without a gap over 50 ms (the open, its validation and first paints)."""
    began = time.perf_counter()
    while time.perf_counter() - began < limit_s:
        await asyncio.sleep(0.25)
        recent = [g for g, end in zip(probe.gaps, probe.ends, strict=True) if end > time.perf_counter() - quiet_s]
        if time.perf_counter() - began > quiet_s and max(recent, default=0.0) < 50 + PROBE_MS:
            return


async def measure(folder: Path, limit_s: float | None) -> dict:
    from limits_bench import dense  # here: it puts this checkout first on sys.path (ROOT's chainstudio is loaded)

    window = MainWindow(
        QSettings(str(folder / "ui.ini"), QSettings.Format.IniFormat), history=RunHistory(folder / "h.sqlite3")
    )
    window.resize(1400, 900)
    window.show()
    await asyncio.sleep(1.0)
    probe = Probe()
    probe.start()
    t_open = time.perf_counter()
    window.files.open_path(dense(folder / "dense.chain.json"), confirm=False)
    while getattr(getattr(window.files, "loader", None), "loading", None) is not None:  # read on a worker
        await asyncio.sleep(0.05)
    await settle(probe)
    opened_s = time.perf_counter() - t_open
    print(f"opened in {opened_s:.1f} s; running", file=sys.stderr, flush=True)
    pauses: list[tuple[int, float, float]] = []  # (generation, seconds, ended at) while the run goes
    began = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            now = time.perf_counter()
            pauses.append((info["generation"], now - began[0], now))

    gc.callbacks.append(on_gc)
    marks: dict[str, float] = {}
    bridge = window.runs.controller.bridge
    bridge.runStarted.connect(lambda _s: marks.setdefault("started", time.perf_counter()))
    bridge.runFinished.connect(lambda _s: marks.setdefault("finished", time.perf_counter()))
    probe.start()
    sampler = Sampler(probe)
    t0 = time.perf_counter()
    window.runs.request_run(RunOptions(speed=SPEED))
    while window.runs.controller.running:
        await asyncio.sleep(0.05)
        if limit_s is not None and time.perf_counter() - t0 > limit_s and not marks.get("stopped"):
            marks["stopped"] = time.perf_counter()
            window.runs.controller.stop()  # as the Stop button
        if window.runs.state is not None and int(time.perf_counter() - t0) % 5 == 0:
            done = sum(1 for s in window.runs.state.spans.values() if s.done)
            print(f"{time.perf_counter() - t0:.0f} s: {done} steps done", file=sys.stderr, flush=True)
    await asyncio.sleep(0.5)
    probe._tick()
    probe.timer.stop()
    sampler.stop()
    gc.callbacks.remove(on_gc)
    gaps = [
        {
            "ms": round(g - PROBE_MS, 1),
            "cpu_ms": round(c, 1),
            "at_s": round(end - t0, 2),
            "gc_ms": round(1000 * sum(s for _g, s, at in pauses if end - g / 1000 <= at <= end)),
            "where": " ← ".join(reversed(sampler.where(end - g / 1000, end))),
            "busy": sampler.busy(end - g / 1000, end),
        }
        for g, c, end in zip(probe.gaps, probe.cpu, probe.ends, strict=True)
    ]
    state = window.runs.state
    assert state is not None
    full = [s for generation, s, _at in pauses if generation == 2]
    result = {
        "chainstudio": str(Path(sys.modules["chainstudio"].__file__ or "").parent.parent),
        "commit": commit(),
        "steps": len(state.spans),
        "status": str(state.status),
        "done": sum(1 for span in state.spans.values() if span.done),
        "done_ok": sum(1 for span in state.spans.values() if span.status == "succeeded"),
        "stopped_after_s": args_stop(marks, t0),
        "open_s": round(opened_s, 1),
        "run_s": round(marks.get("finished", time.perf_counter()) - t0, 1),
        "ticks": len(gaps),
        "max_ms": max(g["ms"] for g in gaps),
        "max_cpu_ms": max(g["cpu_ms"] for g in gaps),
        "cpu_over_100ms": sum(1 for g in gaps if g["cpu_ms"] > 100),
        "over_100ms": sum(1 for g in gaps if g["ms"] > 100),
        "gc_full": len(full),
        "gc_full_max_ms": round(1000 * max(full, default=0.0)),
        "gc_max_ms": round(1000 * max((s for _g, s, _a in pauses), default=0.0)),
        "emissions": bridge.emissions,
        "gantt_paints": window.runs.gantt.view.paint_count,
        "load": os.getloadavg()[0],
        "worst": sorted(gaps, key=lambda g: -g["cpu_ms"])[:10],
        "longest": sorted(gaps, key=lambda g: -g["ms"])[:10],
        "end": [g for g in gaps if g["at_s"] >= args_end(marks, t0) and g["ms"] > 100],
    }
    window.close()
    return result


FINDINGS = """What held the window's thread, and what was done (issue 14):

- **Making the run**: the graph's snapshot, the plan (layers, priorities, ancestors), the `RunStarted` and the
  state's spans, 0.6-0.8 s when Run was pressed, then the history's recorder hashed the graph (0.25 s). From
  1,000 steps both are made on a worker thread (`ui/run/prepare.py`; an edit meanwhile makes the run again;
  Stop works meanwhile).
- **The canvas at every update** (30 a second): each one visited the 100,000 edges (lit or not) and checked
  them against a set of the lit ones made again each time, 0.2-0.5 s. An update now draws the cards of the
  steps that changed and the edges leaving them (`run_overlay.apply_part`); the run's start and end (every
  card, the critical path) are drawn on a big canvas a few cards at a time between turns of the loop
  (`ui/run/overlay_slices.py`).
- **The Gantt header** computed the critical path so far at each step's end: 0.1-0.4 s for 100,000 edges
  (the dependency graph built on the window's thread the first time). From 2,000 steps it says *at the
  end* while the run goes; the dependency graph is made with the run, off the window's thread.
- **Full garbage collections**, each walking the whole heap (the graph's 110,000 canvas items, the run's
  events), 0.2-0.7 s each: none while a big run goes (`core/collector.py`, the rule `chainstudio run`
  follows; the objects the run starts with are set aside, young passes go on).
- *Steps done at Stop* counts the steps that succeeded in the 40 s: the simulated provider generates its
  answers on the window's thread, so a held window also slows the run (on the command line the whole run
  takes 12 s of loop time).

- **The overview's lit edges** (a fitted big graph shows the overview): each of its redraws during a run (up
  to ten a second) recomputed the look of every lit edge, 0.2-0.4 s as they grew, and each frame stroked
  one path of all of them, 0.1-0.5 s. Each look now keeps its edges in paths of 250, updated by the edges
  that changed (`overview_overlays.py`); many are copied from an image drawn on a worker thread, edges newly
  lit are stroked into it, and an edge leaving its look remakes only its path (the image is drawn again).

- **The run's end** (this work): turning the lit edges on the critical path into critical ones remade most
  of the overview's lit paths (0.16-0.26 s of the window thread's CPU) and had their image drawn again on a
  worker thread. Qt keeps Python's lock while it strokes a path, 15-30 ms per path of 1,000 lit edges, so
  the window's thread, busy with the end meanwhile, ran about 5 ms in every 20-35: that made the end's wall
  gaps of 0.6-2.3 s (the bench now names the other thread busy in each gap: `chainstudio-edge-image
  _stroke`). A critical edge now stays lit under its critical stroke (nothing is remade; the new critical
  edges are stroked into the image shown), the looks' paths hold 250 edges, and paths left by many edges at
  once are remade a few per turn. The end's critical path (0.1 s of CPU for 100,000 edges) is computed a
  part at a time between turns (`RunState.critical_path_parts`; the Gantt header says *computing…*
  meanwhile). The looks are copied from the image above 2,000 path elements (their 2-3 px pens stroke ten
  times slower than the plain hairlines: frames stroked 0.1 s of lit edges). The history's writer encodes
  a long list (the `RunStarted`'s 100,000 edges) 2,000 items per `json.dumps` call (one call held the lock
  70-150 ms at the run's start).
- **A stopped run's critical path** ran through ~590 steps that never started (0 s each, at its end): it
  is now over the steps that started, and the header says "over the steps that ran".

- **The window's turns** (issue 14's "no stall over 100 ms", the turns that still took 70-120 ms of the
  window thread's CPU): at Stop the executor cancelled the ~6,000 unfinished steps in one turn (their events
  through the state, the history's recorder and the bridge: 85-115 ms); it now cancels them 500 a turn
  (`Run._finish_parts`; the same events, state and outcome). An update that changed many cards on a big
  canvas (those cancellations) is drawn a part at a time (`OverlaySlices.draw`), and the overview restyles
  many cards 500 at a time in the scene's sliced pass (`OverviewItem.restyle_parts`: 6,000 cancelled cards
  in one 85 ms piece). The run's drawing made an index of the 100,000 edges by source again after every
  revision of the document (the graph's check ending is one: 80 ms at the run's start and again at its
  end): a card's edges now come from the scene's own index. The estimate's badges, arriving from the child
  process, are set a part at a time (`ui/planning/estimate_badges.py`, 70 ms at once). Edges newly lit are
  stroked into the overview's image a part per turn (their 2-3 px pens: 1,000 edges lit by one update took
  0.1 s). Each piece of sliced work had its own zero-interval timer and its own 20-40 ms, and Qt fired them
  back to back in one turn (90-110 ms): they now run from one timer, within one budget per turn
  (`ui/common/turn_budget.py`, 30 ms; the pieces left out go first next turn), 1 ms apart so that the
  timers already due go between. The edge image's worker gives Python's lock up after each path for twice
  as long as it stroked it (`edge_image.YIELD_SHARE`; `sleep(0)` let it take the lock back at once, so a busy
  window's thread ran 5 ms in every 10-35).

- **Per-turn scans** (issue 14's run turns): the Gantt's header summed the totals over the 10,000 spans at
  each refresh, the live tick scanned them for the running steps and the Gantt for its map items, the overview
  gathered its 10,000 blocks by colour after each restyle (8-25 ms each, several in one turn). A live run's
  figures are now running sums kept from the steps each event touched (`core/run/tally.py`); the overview
  moves only the cards restyled (`ui/canvas/overview_looks.py`). A big run loads the tokenizer (released
  after the graph's estimate: 0.2-0.3 s) and makes its tally on its worker thread.

Under a load of 5-10 on 2 cores the wall gaps are mostly the window's thread waiting for a core. The before
rows are main (its commit in the row), measured alternately with this branch.
"""


def section(after: dict, before: dict | None) -> str:
    rows = [(f"main {before.get('commit', '')} (before)", before), ("this branch", after)] if before else []
    rows = rows or [("this branch", after)]
    lines = [
        "## Live run at the limits",
        "",
        "Reproduce (the before with `--root` on a checkout of main, just before):",
        "",
        "```",
        ".venv/bin/python benchmarks/big_run_ui_bench.py --stop-after 40 --root ../main --json before.json --no-write",
        ".venv/bin/python benchmarks/big_run_ui_bench.py --stop-after 40 --before before.json",
        "```",
        "",
        f"Measured on CPython {platform.python_version()}, {platform.system()}, PySide6 offscreen, the real main "
        "window (1400 x 900) on the qasync loop; 2 cores shared with other work (*load*: the 1-minute load "
        "average at the end). The 10,000 steps and 99,945 edges of `limits_bench.dense` are opened (the canvas "
        "fitted: its overview), then run on the simulated provider at `--speed 100` (SIMULATED), and Stop is "
        "pressed 40 s after Run. A 5 ms probe timer on the window's thread records each gap: *largest gap* is "
        "the longest the window could not react, *most CPU in a gap* the window thread's own CPU time in one "
        "gap (the rest of a gap it waited for a core or for the interpreter), *gaps over 100 ms* counted both "
        "ways; *full GCs* are the garbage collector's full passes while the run went, and the longest.",
        "",
        "| checkout | steps done at Stop | largest gap | most CPU in a gap | gaps over 100 ms (wall / CPU) "
        "| full GCs (longest) | bridge updates | Gantt repaints | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in rows:
        assert r is not None
        lines.append(
            f"| {label} | {r['done_ok']:,} | {r['max_ms']:,.0f} ms | {r['max_cpu_ms']:,.0f} ms | "
            f"{r['over_100ms']} / {r['cpu_over_100ms']} of {r['ticks']:,} | {r['gc_full']} ({r['gc_full_max_ms']} ms) "
            f"| {r['emissions']} | {r['gantt_paints']} | {r['load']:.1f} |"
        )
    lines += ["", "The gaps with the most CPU now (seconds after Run; where the window's thread was):", ""]
    for g in after["worst"][:8]:
        where = f"`{g['where']}`" if g["where"] else "?"
        lines.append(f"- {g['at_s']:.1f} s: {g['ms']:.0f} ms, {g['cpu_ms']:.0f} ms CPU, in {where}")
    for label, r in rows:
        assert r is not None
        lines += ["", f"The gaps over 100 ms from Stop on, {label} (and the other thread busy then, if any):", ""]
        for g in r.get("end", []):
            busy = f"; busy: `{g['busy']}`" if g.get("busy") else ""
            where = f"`{g['where']}`" if g["where"] else "?"
            lines.append(f"- {g['at_s']:.1f} s: {g['ms']:.0f} ms, {g['cpu_ms']:.0f} ms CPU, in {where}{busy}")
    return "\n".join([*lines, "", FINDINGS])


def commit() -> str:
    """The measured checkout's commit (short), or ''."""
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def args_end(marks: dict[str, float], t0: float) -> float:
    """Seconds from Run to Stop, or to the run's end if it ended first."""
    return min(marks.get("stopped", float("inf")), marks.get("finished", float("inf"))) - t0


def args_stop(marks: dict[str, float], t0: float) -> float | None:
    return round(marks["stopped"] - t0, 1) if "stopped" in marks else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", help="measure this checkout's chainstudio")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--stop-after", type=float, help="press Stop this many seconds after Run")
    parser.add_argument("--before", type=Path, help="a --json measurement of the before: write the section")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    faulthandler.register(signal.SIGUSR1)
    app = create_application()
    with tempfile.TemporaryDirectory() as folder, asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as r:
        result = r.run(measure(Path(folder), args.stop_after))
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)
    if args.before and not args.no_write:
        from perfdoc import write_section

        write_section("## Live run at the limits", section(result, json.loads(args.before.read_text())))
    return 0 if result["status"] in ("succeeded", "cancelled") else 1


if __name__ == "__main__":
    sys.exit(main())
