"""Full garbage collections and event-loop gaps, in the window and the CLI (issue 14: no stall over 100 ms).

    .venv/bin/python benchmarks/gc_pause_bench.py                      # every scenario, a table
    .venv/bin/python benchmarks/gc_pause_bench.py --only map,cli-map   # some of them
    .venv/bin/python benchmarks/gc_pause_bench.py --root ../main --json before.json   # another checkout
    .venv/bin/python benchmarks/gc_pause_bench.py --before before-*.json --after after-*.json   # one table

Each scenario runs in a fresh process. ``gc.callbacks`` times every collection of the oldest generation (a
full pass: it walks every object that is not frozen, on the thread that triggered it). In the window
(offscreen, 1400x900, simulated provider) a heartbeat timer (every 5 ms) records the longest gap of the
window's loop, by the wall and by the window thread's CPU time (load-independent). Scenarios:

- ``map``: a graph whose map step goes over 20,000 items (speed x1000), one run;
- ``twice``: the same graph with 5,000 items, two runs back to back;
- ``dense``: ``limits_bench.dense`` (10,000 steps, 100,000 edges) opened, run for 15 s (speed x100), stopped;
- ``compare``: Compare (sequential, layered, eager: dependency-driven) on a 300-step graph (speed x1000);
- ``runs20``: the welcome graph run 20 times, then the map graph (2,000 items) 20 times: the frozen set and
  the process's RSS after each 5 (what is frozen across runs must stay bounded);
- ``cli-map``: ``chainstudio run`` of the 20,000-item map graph; ``cli-batch``: ``chainstudio batch`` over
  5,000 rows of the welcome graph's input (simulated).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if "--root" in sys.argv:  # measure another checkout's chainstudio with this script
    ROOT = Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
sys.path.insert(0, str(ROOT))
sys.path.append(str(BENCH))

SCENARIOS = ["map", "twice", "dense", "compare", "runs20", "cli-map", "cli-batch"]
WELCOME = BENCH.parent / "resources" / "examples" / "research-hybrid.chain.json"


# --- the graphs ----------------------------------------------------------------------------------------------
def map_graph(folder: Path, items: int) -> Path:
    lines = "\n".join(f"thing {i}" for i in range(items))
    doc = {
        "format": "chainstudio/graph",
        "version": 3,
        "name": f"map{items}",
        "description": "",
        "inputs": [{"name": "things", "default": lines}],
        "nodes": [
            {"id": "in", "kind": "input", "name": "things", "position": [0.0, 0.0], "input": "things"},
            {
                "id": "each",
                "kind": "map",
                "name": "each",
                "position": [300.0, 0.0],
                "over": "{{ inputs.things }}",
                "prompt": "about {{ item }}",
                "model": "gpt-4o-mini",
                "max_tokens": 20,
            },
        ],
        "edges": [{"id": "e1", "source": "in", "target": "each"}],
    }
    path = folder / f"map{items}.chain.json"
    path.write_text(json.dumps(doc))
    return path


def mid_graph(folder: Path, steps: int = 300) -> Path:
    rng = random.Random(14)
    nodes = [{"id": "n0", "kind": "input", "name": "topic", "position": [0.0, 0.0], "input": "topic"}]
    edges = []
    for i in range(1, steps):
        preds = sorted(rng.sample(range(max(0, i - 20), i), min(i, 2)))
        for p in preds:
            edges.append({"id": f"e{len(edges)}", "source": f"n{p}", "target": f"n{i}"})
        named = "topic" if preds[-1] == 0 else f"s{preds[-1]}"
        nodes.append(
            {
                "id": f"n{i}",
                "kind": "llm",
                "name": f"s{i}",
                "position": [float(i % 20) * 260, float(i // 20) * 160],
                "prompt": f"Go on from {{{{ {named} }}}}.",
                "model": "gpt-4o-mini",
                "max_tokens": 40,
            }
        )
    inputs = [{"name": "topic", "default": "x"}]
    doc = {"format": "chainstudio/graph", "version": 3, "name": "mid", "inputs": inputs, "nodes": nodes, "edges": edges}
    path = folder / "mid.chain.json"
    path.write_text(json.dumps(doc))
    return path


# --- measuring in the child --------------------------------------------------------------------------------
class Probe:
    """Times each full collection (gc.callbacks); counts the young ones."""

    def __init__(self) -> None:
        self.full: list[float] = []
        self.in_loop: list[float] = []  # those made while an asyncio loop ran on this thread (the CLI's run)
        self.young = 0
        self._t = 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        elif info["generation"] == 2:
            self.full.append((time.perf_counter() - self._t) * 1000)
            if asyncio._get_running_loop() is not None:
                self.in_loop.append(self.full[-1])
        else:
            self.young += 1

    def reset(self) -> None:
        self.full.clear()
        self.in_loop.clear()
        self.young = 0


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def window_child(scenario: str, folder: Path) -> dict[str, Any]:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["CHAINSTUDIO_DATA_DIR"] = str(folder / "data")
    os.environ["CHAINSTUDIO_CONFIG_DIR"] = str(folder / "config")
    from chainstudio.ui.app import create_application

    app = create_application()
    import qasync
    from PySide6.QtCore import QTimer

    from chainstudio.core.launch import RunOptions
    from chainstudio.ui.main_window import MainWindow

    probe = Probe()
    beats = {"last": time.perf_counter(), "cpu": time.thread_time(), "gap": 0.0, "gap_cpu": 0.0, "over": 0}
    out: dict[str, Any] = {}

    def beat() -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gap, gap_cpu = now - beats["last"], cpu - beats["cpu"]
        beats["gap"] = max(beats["gap"], gap)
        beats["gap_cpu"] = max(beats["gap_cpu"], gap_cpu)
        beats["over"] += gap_cpu > 0.1
        beats["last"], beats["cpu"] = now, cpu

    def measuring() -> None:
        probe.reset()
        beats.update(last=time.perf_counter(), cpu=time.thread_time(), gap=0.0, gap_cpu=0.0, over=0)

    async def settle(w: Any, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            await asyncio.sleep(0.1)

    async def run_once(w: Any, speed: float, stop_after: float | None = None) -> None:
        w.runs.request_run(RunOptions(speed=speed))
        t0 = time.perf_counter()
        await asyncio.sleep(0.2)
        while w.runs.controller.running:
            await asyncio.sleep(0.1)
            if stop_after is not None and time.perf_counter() - t0 > stop_after:
                w.runs.controller.stop()
                stop_after = None
            if time.perf_counter() - t0 > 600:
                out["note"] = "still running at 600 s"
                break
        await settle(w, 1.0)

    async def main() -> None:
        w = MainWindow()
        with contextlib.suppress(ImportError):  # as ``ui/app.run_app`` does (a checkout before it has none)
            from chainstudio.core.collector import set_aside

            set_aside()
        w.resize(1400, 900)
        w.show()
        await settle(w, 1.5)
        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(beat)
        timer.start()
        if scenario == "map":
            w.open_path(str(map_graph(folder, 20_000)))
            await settle(w, 2)
            measuring()
            await run_once(w, 1000)
        elif scenario == "twice":
            w.open_path(str(map_graph(folder, 5_000)))
            await settle(w, 2)
            measuring()
            await run_once(w, 1000)
            await run_once(w, 1000)
        elif scenario == "dense":
            import limits_bench

            path = limits_bench.dense(folder / "dense.chain.json")
            measuring()
            w.open_path(str(path))
            await settle(w, 2)
            while w.scene._build.active or w.runs.controller.running:
                await asyncio.sleep(0.2)
            await settle(w, 5)
            await run_once(w, 100, stop_after=15)
            await settle(w, 3)
        elif scenario == "compare":
            from chainstudio.core.storage import fileformat
            from chainstudio.ui.planning.compare_runner import CompareRunner

            graph = fileformat.load(mid_graph(folder))
            runner = CompareRunner()
            options = RunOptions(speed=1000)
            measuring()
            task = runner.start(
                [("mid", graph)],
                ["sequential", "layered", "eager"],
                lambda index: w.services.context(options, index),
            )
            failed: list[str] = []
            runner.failed.connect(failed.append)
            await task
            out["rows"] = len(runner.result.rows) if runner.result is not None else failed
            await settle(w, 1.0)
        elif scenario == "runs20":
            measuring()  # (the first heartbeat's gap held the window's start-up: 1.7 s, 0.5 s of CPU)
            frozen: list[list[float]] = []
            for path, n in ((WELCOME, 20), (map_graph(folder, 2_000), 20)):
                w.open_path(str(path))
                await settle(w, 1.5)
                for i in range(n):
                    await run_once(w, 1000)
                    if i % 5 == 4:
                        frozen.append([i + 1, gc.get_freeze_count(), round(rss_mb())])
            out["frozen_rss"] = frozen
        out["gap_ms"] = round(beats["gap"] * 1000)
        out["gap_cpu_ms"] = round(beats["gap_cpu"] * 1000)
        out["gaps_over_100ms_cpu"] = beats["over"]
        timer.stop()
        app.quit()

    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        runner.run(main())
    return out | collected(probe)


def collected(probe: Probe) -> dict[str, Any]:
    full = sorted(probe.full, reverse=True)
    return {
        "full_passes": len(full),
        "full_ms_max": round(full[0]) if full else 0,
        "full_ms_sum": round(sum(full)),
        "in_loop_full_passes": len(probe.in_loop),
        "in_loop_full_ms_max": round(max(probe.in_loop, default=0)),
        "young_passes": probe.young,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def cli_child(scenario: str, folder: Path) -> dict[str, Any]:
    os.environ["CHAINSTUDIO_DATA_DIR"] = str(folder / "data")
    os.environ["CHAINSTUDIO_CONFIG_DIR"] = str(folder / "config")
    from chainstudio.__main__ import main

    probe = Probe()
    if scenario == "cli-map":
        args = ["run", str(map_graph(folder, 20_000)), "--speed", "1000", "--no-history", "--no-output"]
    else:
        rows = folder / "rows.jsonl"
        rows.write_text("".join(json.dumps({"topic": f"topic {i}"}) + "\n" for i in range(5_000)))
        args = ["batch", str(WELCOME), "--dataset", str(rows), "--out", str(folder / "out.jsonl"), "--speed", "1000"]
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the CLI's table is not measured
    code = main(args)
    sys.stdout = sys.__stdout__
    return {"exit": code} | collected(probe)


# --- the driver --------------------------------------------------------------------------------------------
def measure(scenario: str, root: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gc-bench-") as tmp:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", scenario, "--root", str(root), "--dir", tmp]
        began = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        wall = time.perf_counter() - began
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"scenario": scenario, "error": (proc.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return {"scenario": scenario, "wall_s": round(wall, 1)} | json.loads(lines[-1])


def table(rows: list[dict[str, Any]]) -> str:
    head = "| scenario | full passes | longest full pass | their sum | longest gap (wall) | longest gap (window CPU) |"
    out = [head + " peak RSS |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['scenario']} | error: {r['error']} |||||")
            continue
        gap = f"{r['gap_ms']} ms" if "gap_ms" in r else "–"
        cpu = f"{r['gap_cpu_ms']} ms" if "gap_cpu_ms" in r else "–"
        out.append(
            f"| {r['scenario']} | {r['full_passes']} | {r['full_ms_max']} ms | {r['full_ms_sum']} ms | {gap} | {cpu} "
            f"| {r['peak_rss_mb']} MB |"
        )
    return "\n".join(out)


def _span(values: list[float], unit: str) -> str:
    """A range over the runs: ``lo-hi unit`` (one value alone when they agree)."""
    lo, hi = min(values), max(values)
    return (f"{lo:,.0f} {unit}" if lo == hi else f"{lo:,.0f}-{hi:,.0f} {unit}").strip()


def _ok(row: dict[str, Any]) -> bool:
    """A scenario that ran (a comparison that refused to start, or a child that failed, is left out)."""
    return "error" not in row and not isinstance(row.get("rows"), list)


def combined(before: list[Path], after: list[Path]) -> str:
    """Before and after over several runs each: per scenario the range of each figure over the runs."""
    runs = {
        "before": [json.loads(p.read_text())["rows"] for p in before],
        "after": [json.loads(p.read_text())["rows"] for p in after],
    }
    names = [r["scenario"] for r in runs["before"][0]]
    out = [
        "| scenario | | runs | full passes | longest full pass | their sum | in the run's loop (longest) "
        "| longest gap (wall) | longest gap (window CPU) | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        for label in ("before", "after"):
            rows = [r for rows in runs[label] for r in rows if r["scenario"] == name and _ok(r)]
            if not rows:
                continue
            gaps = [r["gap_ms"] for r in rows if "gap_ms" in r]
            cpu = [r["gap_cpu_ms"] for r in rows if "gap_cpu_ms" in r]
            out.append(
                f"| {name} | {label} | {len(rows)} | {_span([r['full_passes'] for r in rows], '')} "
                f"| {_span([r['full_ms_max'] for r in rows], 'ms')} | {_span([r['full_ms_sum'] for r in rows], 'ms')} "
                f"| {_span([r.get('in_loop_full_passes', r['full_passes']) for r in rows], '')} "
                f"({_span([r.get('in_loop_full_ms_max', r['full_ms_max']) for r in rows], 'ms')}) "
                f"| {_span(gaps, 'ms') if gaps else '–'} | {_span(cpu, 'ms') if cpu else '–'} "
                f"| {_span([r['peak_rss_mb'] for r in rows], 'MB')} |"
            )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated scenarios (default: all)")
    parser.add_argument("--root", help="measure this checkout's chainstudio")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--before", nargs="*", help="with --after: the before's --json files, combined in one table")
    parser.add_argument("--after", nargs="*", help="the after's --json files")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        folder = Path(args.dir)
        measure_child = cli_child if args.child.startswith("cli-") else window_child
        print(json.dumps(measure_child(args.child, folder)), flush=True)
        os._exit(0)  # (Qt's teardown is not measured)
    if args.before and args.after:
        print(combined([Path(p) for p in args.before], [Path(p) for p in args.after]))
        return 0
    names = args.only.split(",") if args.only else SCENARIOS
    rows = []
    for name in names:
        row = measure(name, ROOT)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{platform.python_implementation()} {platform.python_version()}, root {ROOT}; load {os.getloadavg()}")
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "load": os.getloadavg(), "root": str(ROOT)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
