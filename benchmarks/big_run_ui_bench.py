"""The window while the limits' biggest graph runs (issue 14, "no event-loop stall over 100 ms"): 10,000 steps
and 100,000 edges (``limits_bench.dense``) opened in the real main window on the qasync loop (offscreen, 1400 x
900), then run on the simulated provider at ``--speed 100``, the live Gantt and the canvas following it.

    .venv/bin/python benchmarks/big_run_ui_bench.py                  # print the figures (JSON) and the stalls
    .venv/bin/python benchmarks/big_run_ui_bench.py --root ../main   # another checkout's chainstudio

A 5 ms QTimer probe (``ui_stall_bench.Probe``) records each gap's lateness and the window thread's CPU time in
it; a sampler thread takes the window thread's stack every 10 ms while the probe is overdue by more than
100 ms, so each long gap comes with where it was. ``gc.callbacks`` time every collection of the cyclic
garbage collector while the run goes (full ones: generation 2). The figures are from pressing Run to 0.5 s
after the run's end (the open before it is measured by ``overview_bench.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import faulthandler
import gc
import json
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
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
from limits_bench import dense  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from ui_stall_bench import PROBE_MS, Probe  # noqa: E402

from chainstudio.core.launch import RunOptions  # noqa: E402
from chainstudio.core.storage.history import RunHistory  # noqa: E402
from chainstudio.ui.app import create_application  # noqa: E402
from chainstudio.ui.main_window import MainWindow  # noqa: E402

STALL_S = 0.100
SPEED = 100.0


class Sampler:
    """The window thread's stack every 10 ms while the probe is overdue by more than ``STALL_S``."""

    def __init__(self, probe: Probe) -> None:
        self.probe, self.thread = probe, threading.get_ident()
        self.samples: list[tuple[float, tuple[str, ...]]] = []  # (when, innermost frames of ours)
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(0.010):
            if time.perf_counter() - self.probe._last > STALL_S + PROBE_MS / 1000:
                frame = sys._current_frames().get(self.thread)
                stack = traceback.extract_stack(frame) if frame is not None else []
                ours = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack if "chainstudio" in f.filename]
                self.samples.append((time.perf_counter(), tuple(ours[-4:])))

    def stop(self) -> None:
        self._stop.set()

    def where(self, t0: float, t1: float) -> list[str]:
        common = collections.Counter(s for t, s in self.samples if t0 <= t <= t1).most_common(1)
        return list(common[0][0]) if common else []


async def settle(probe: Probe, quiet_s: float = 3.0, limit_s: float = 120.0) -> None:
    """Until the window has had ``quiet_s`` without a gap over 50 ms (the open, its validation and first paints)."""
    began = time.perf_counter()
    while time.perf_counter() - began < limit_s:
        await asyncio.sleep(0.25)
        recent = [g for g, end in zip(probe.gaps, probe.ends, strict=True) if end > time.perf_counter() - quiet_s]
        if time.perf_counter() - began > quiet_s and max(recent, default=0.0) < 50 + PROBE_MS:
            return


async def measure(folder: Path, limit_s: float | None) -> dict:
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
        }
        for g, c, end in zip(probe.gaps, probe.cpu, probe.ends, strict=True)
    ]
    state = window.runs.state
    assert state is not None
    full = [s for generation, s, _at in pauses if generation == 2]
    result = {
        "steps": len(state.spans),
        "status": str(state.status),
        "done": sum(1 for span in state.spans.values() if span.done),
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
    }
    window.close()
    return result


def args_stop(marks: dict[str, float], t0: float) -> float | None:
    return round(marks["stopped"] - t0, 1) if "stopped" in marks else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", help="measure this checkout's chainstudio")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--stop-after", type=float, help="press Stop this many seconds after Run")
    args = parser.parse_args()
    faulthandler.register(signal.SIGUSR1)
    app = create_application()
    with tempfile.TemporaryDirectory() as folder, asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as r:
        result = r.run(measure(Path(folder), args.stop_after))
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0 if result["status"] in ("succeeded", "cancelled") else 1


if __name__ == "__main__":
    sys.exit(main())
