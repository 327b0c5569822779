"""Event-loop stalls of the GUI while a big run streams: a 300-step graph at concurrency 64 on the
simulated provider (streaming, sped up 5x), in the real main window on the qasync loop (offscreen).

    .venv/bin/python benchmarks/ui_stall_bench.py            # rewrites "## Live run" in docs/performance.md
    .venv/bin/python benchmarks/ui_stall_bench.py --no-write # print only
    .venv/bin/python benchmarks/ui_stall_bench.py --ab ../main --rounds 5   # + before/after, interleaved

A 5 ms QTimer probe records how late each tick fires; the largest lateness is the longest time the UI
could not react. The same probe runs first with the window idle, side by side in one process. Each gap's
CPU time on the UI thread is recorded too: on a machine shared with other work a gap also holds time the
UI thread waited for a core, which the CPU column leaves out.

``--ab CHECKOUT --rounds N`` measures this checkout and another one (e.g. main, the *before*) N times each,
alternating, each measurement in a fresh process (``--root CHECKOUT --json OUT`` is one such measurement),
and adds the before/after table, with the machine's load average at each round, to the section.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if "--root" in sys.argv:  # measure another checkout's chainstudio with this script
    ROOT = Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for var in ("CHAINSTUDIO_CONFIG_DIR", "CHAINSTUDIO_DATA_DIR"):
    os.environ.setdefault(var, tempfile.mkdtemp(prefix="stall-bench-"))

import qasync  # noqa: E402
from perfdoc import write_section  # noqa: E402
from PySide6.QtCore import QSettings, QTimer  # noqa: E402

from chainstudio.core.editing.layout import auto_layout_positions  # noqa: E402
from chainstudio.core.graph.model import Graph, GraphInput  # noqa: E402
from chainstudio.core.launch import RunOptions  # noqa: E402
from chainstudio.core.storage.history import RunHistory  # noqa: E402
from chainstudio.ui.app import create_application  # noqa: E402
from chainstudio.ui.main_window import MainWindow  # noqa: E402

PROBE_MS = 5


def graph_300(seed: int = 3) -> Graph:
    rng = random.Random(seed)
    g = Graph("stall-300", inputs=[GraphInput("topic", "streaming")])
    names = [f"s{i}" for i in range(300)]
    for i, name in enumerate(names):
        preds = rng.sample(range(max(0, i - 40), i), min(i - max(0, i - 40), rng.randint(0, 2))) if i else []
        prompt = "Write about {{ inputs.topic }}" + "".join(
            f" and {{{{ {names[j]} | truncate_chars(60) }}}}" for j in preds
        )
        g.add("llm", name, prompt=prompt, max_tokens=rng.randint(60, 200), model="gpt-4o-mini", retries=0)
        for j in preds:
            g.connect(names[j], name)
    for node_id, position in auto_layout_positions(g).items():
        g.nodes[node_id].position = position
    return g


class Probe:
    def __init__(self) -> None:
        self.gaps: list[float] = []
        self.ends: list[float] = []  # perf_counter time at which each gap ended
        self.cpu: list[float] = []  # the UI thread's CPU time within each gap (ms)
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer = QTimer()
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps.clear()
        self.ends.clear()
        self.cpu.clear()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer.start()

    def stop(self) -> tuple[list[float], list[float]]:
        self.timer.stop()
        return [g - PROBE_MS for g in self.gaps], list(self.cpu)

    def worst(self) -> tuple[float, float]:
        """Stop, counting the gap still open (work done just before): the largest lateness (ms) and the
        largest UI-thread CPU time within one gap (ms)."""
        self._tick()
        lateness, cpu = self.stop()
        return max(lateness), max(cpu)

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.gaps.append((now - self._last) * 1000)
        self.cpu.append((cpu - self._last_cpu) * 1000)
        self.ends.append(now)
        self._last, self._last_cpu = now, cpu

    def between(self, t0: float, t1: float) -> tuple[list[float], list[float]]:
        """Lateness and CPU time of the ticks that ended within [t0, t1]."""
        ticks = [(g - PROBE_MS, c) for g, c, end in zip(self.gaps, self.cpu, self.ends, strict=True) if t0 <= end <= t1]
        return [g for g, _ in ticks], [c for _, c in ticks]


def summary(sample: tuple[list[float], list[float]]) -> dict:
    lateness, cpu = sample
    ordered = sorted(lateness)
    return {
        "ticks": len(ordered),
        "max": ordered[-1],
        "p99": ordered[int(0.99 * (len(ordered) - 1))],
        "median": statistics.median(ordered),
        "cpu_max": max(cpu),  # the busiest gap's CPU time on the UI thread
    }


async def measure(app) -> dict:
    window = MainWindow(
        QSettings(str(Path(tempfile.mkdtemp()) / "ui.ini"), QSettings.Format.IniFormat),
        history=RunHistory(Path(tempfile.mkdtemp()) / "h.sqlite3"),
    )
    window.resize(1600, 1000)
    window.show()
    window.document.replace(graph_300())
    window.view.fit()
    await asyncio.sleep(1.0)  # warm-up (tokenizer, first paints)
    probe = Probe()
    probe.start()
    await asyncio.sleep(3.0)
    idle = summary(probe.stop())
    gantt = window.runs.gantt.view
    paints_before, emissions_before = gantt.paint_count, window.runs.controller.bridge.emissions
    marks: dict[str, float] = {}
    bridge = window.runs.controller.bridge
    bridge.runStarted.connect(lambda _s: marks.setdefault("started", time.perf_counter()))
    bridge.runFinished.connect(lambda _s: marks.setdefault("finished", time.perf_counter()))
    probe.start()
    t0 = time.perf_counter()
    window.runs.request_run(RunOptions(concurrency=64, speed=5.0))
    while window.runs.controller.running:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    seconds = marks["finished"] - t0
    # "streaming": from 0.2 s after the run started to the last event; "whole": press Run .. 0.5 s after the end
    streaming = summary(probe.between(marks["started"] + 0.2, marks["finished"]))
    running = summary(probe.stop())
    state = window.runs.state
    totals = state.totals()
    result = {
        "idle": idle,
        "running": running,
        "streaming": streaming,
        "seconds": seconds,
        "status": state.status,
        "steps": len(state.spans),
        "deltas": sum(s.deltas for s in state.spans.values()),
        "events": state.events_applied,
        "emissions": window.runs.controller.bridge.emissions - emissions_before,
        "gantt_paints": gantt.paint_count - paints_before,
        "simulated_wall": totals.wall,
        "load": os.getloadavg()[0],
        "realtime": os.sched_getscheduler(0) == os.SCHED_FIFO,  # run under ``chrt -f``
    }
    window.document.replace(Graph())
    window.close()
    return result


def section(r: dict) -> str:
    i, w, s = r["idle"], r["running"], r["streaming"]
    return (
        "\n".join(
            [
                "## Live run",
                "",
                "Reproduce with one command (it rewrites this section):",
                "",
                "```",
                ".venv/bin/python benchmarks/ui_stall_bench.py",
                "```",
                "",
                f"Measured on CPython {platform.python_version()}, {platform.system()}, PySide6 offscreen, the "
                f"real main window on the qasync loop. A {r['steps']}-step random graph (each step reads up to 2 "
                f"earlier outputs) runs at concurrency 64 on the simulated provider, streaming, sped up 5x "
                f"({r['simulated_wall']:.1f} s simulated in {r['seconds']:.1f} s real): {r['events']:,} events, "
                f"{r['deltas']:,} streamed chunks. A {PROBE_MS} ms QTimer probe records how late each tick fires "
                "(target: the largest stall at most 50 ms); the idle row is the same probe, same process, just "
                "before the run (the estimate of the new graph may still be computing on its worker thread). "
                + (
                    "Run at real-time priority (`chrt -f 10 .venv/bin/python benchmarks/ui_stall_bench.py`, "
                    "SCHED_FIFO): the machine was shared with other work, whose processes would otherwise add their "
                    "own waits to every gap. "
                    if r.get("realtime")
                    else ""
                )
                + f"Load average when it ended: {r.get('load', os.getloadavg()[0]):.1f} (2 cores). "
                "*UI-thread CPU* is the largest CPU time the UI thread used within one probe gap (the 5 ms interval "
                "included); the rest of a longer gap it waited for a core (other processes) or for the interpreter "
                "(other threads: in the idle row, the estimate's 300-step simulation on its worker thread, which a "
                "run pauses).",
                "",
                "| window | probe ticks | median lateness | p99 lateness | largest stall | UI-thread CPU |",
                "|---|---:|---:|---:|---:|---:|",
                f"| idle | {i['ticks']:,} | {i['median']:.1f} ms | {i['p99']:.1f} ms | {i['max']:.1f} ms | "
                f"{i['cpu_max']:.1f} ms |",
                f"| while streaming | {s['ticks']:,} | {s['median']:.1f} ms | {s['p99']:.1f} ms | {s['max']:.1f} ms | "
                f"{s['cpu_max']:.1f} ms |",
                f"| whole run, start and end included | {w['ticks']:,} | {w['median']:.1f} ms | {w['p99']:.1f} ms | "
                f"{w['max']:.1f} ms | {w['cpu_max']:.1f} ms |",
                "",
                "*While streaming* is from 0.2 s after the run started to its last event. *Whole run* adds pressing "
                "Run (validation, planning, the Gantt's and canvas's first drawing of 300 rows and cards, the first "
                "64 calls starting) and the end (the final critical-path redraw, recording the run in the history "
                "on a thread 150 ms later, the estimate's comparison and the history's list), up to 0.5 s after it.",
                "",
                f"Coalescing: {r['emissions']:,} bridge updates and {r['gantt_paints']:,} Gantt repaints for "
                f"{r['deltas']:,} chunks over {r['seconds']:.1f} s ({r['emissions'] / r['seconds']:.0f} updates/s; the "
                "limit is ~30/s).",
                "",
            ]
        )
        + "\n"
    )


def one_measurement(root: Path) -> dict:
    """A measurement of ``root``'s chainstudio in a fresh process, with this script."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        subprocess.run(
            [sys.executable, __file__, "--root", str(root), "--json", str(out), "--no-write"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tmp,
        )
        result = json.loads(out.read_text())
    return result


def ab_section(before_root: Path, rounds: int) -> tuple[str, dict]:
    """Before/after rows, interleaved (before, after, after, before, ...), and the last *after* result."""
    rows: list[tuple[int, str, dict]] = []
    after_root = Path(__file__).resolve().parent.parent
    for i in range(rounds):
        order = [("before", before_root), ("after", after_root)]
        for label, root in order if i % 2 == 0 else order[::-1]:
            result = one_measurement(root)
            rows.append((i + 1, label, result))
            print(
                f"round {i + 1} {label}: whole run {result['running']['max']:.1f} ms "
                f"(UI-thread CPU {result['running']['cpu_max']:.1f} ms), "
                f"streaming {result['streaming']['max']:.1f} ms, "
                f"idle {result['idle']['max']:.1f} ms, load {result['load']:.1f}",
                flush=True,
            )
    lines = [
        "### Before and after (issue 12)",
        "",
        f"`--ab {before_root.name} --rounds {rounds}`: the largest stall of each measurement, this checkout "
        f"(*after*) and `{before_root.name}` (*before*) alternating, each in a fresh process; *load* is the "
        "machine's 1-minute load average (2 cores, shared with other work) when the measurement ended. Compare "
        "a round's two rows more than rows of different rounds.",
        "",
        "| round | checkout | idle | while streaming | whole run | whole run, UI-thread CPU | load |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for i, label, r in rows:
        lines.append(
            f"| {i} | {label} | {r['idle']['max']:.1f} ms | {r['streaming']['max']:.1f} ms | "
            f"{r['running']['max']:.1f} ms | {r['running']['cpu_max']:.1f} ms | {r['load']:.1f} |"
        )
    for label in ("before", "after"):
        mine = [r for _, lab, r in rows if lab == label]
        idle, streaming, whole = (
            statistics.median(r[k]["max"] for r in mine) for k in ("idle", "streaming", "running")
        )
        cpu = statistics.median(r["running"]["cpu_max"] for r in mine)
        lines.append(f"| median | {label} | {idle:.1f} ms | {streaming:.1f} ms | {whole:.1f} ms | {cpu:.1f} ms | |")
    last_after = next(r for _, lab, r in reversed(rows) if lab == "after")
    return "\n".join(lines) + "\n", last_after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--root", metavar="CHECKOUT", help="measure this checkout's chainstudio")
    parser.add_argument("--json", metavar="OUT", help="write the measurement as JSON")
    parser.add_argument("--ab", metavar="CHECKOUT", help="also measure CHECKOUT (the before), interleaved")
    parser.add_argument("--rounds", type=int, default=5, help="measurements of each side with --ab")
    args = parser.parse_args()
    if args.ab:
        extra, result = ab_section(Path(args.ab).resolve(), args.rounds)
        text = section(result) + "\n" + extra
    else:
        app = create_application()
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            result = runner.run(measure(app))
        if args.json:
            Path(args.json).write_text(json.dumps(result))
        text = section(result)
    print(text)
    if not args.no_write:
        write_section("## Live run", text)
    return 0 if result["status"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
