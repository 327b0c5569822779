"""Resident memory per hostile input (issue 14: "no more than 500 MB for any single hostile input"): the
window with the 10,000-step / 100,000-edge graph open, phase by phase, and the peak of each CLI command on
the files of ``limits_bench`` (10,000 steps; the 9,998-step fan-out; the 16 MB prompt), for another
checkout (the *before*, ``--root``) and this one, one right after the other.

    .venv/bin/python benchmarks/memory_bench.py --root ../main      # rewrites "## Memory at the limits"
    .venv/bin/python benchmarks/memory_bench.py --root ../main --no-write
    .venv/bin/python benchmarks/memory_bench.py --window-only --root ../main --no-write

The window: the real main window (1400×900, offscreen, on the qasync loop) in a fresh process; *empty* after
start-up, *items made* once the graph's cards and edges are (File → Open, the sliced build), *settled*
once the live estimate has arrived and the window is idle again (or 60 s); RSS is the current resident
memory (``/proc/self/statm``), *peak* the process's maximum (``ru_maxrss``). A CLI command's figure is its
peak RSS (``wait4``), as ``/usr/bin/time -v`` reports it. Commands stopped at ``--timeout`` say so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Memory at the limits"
SETTLE_S = 60.0
SPEED = 100


NOTE = (
    "*time* is wall time on a machine shared with other work (load above), not the commands' speed ([At the "
    "limits](#at-the-limits) has their CPU time). Where the window's memory went before (946 MB; RSS growth per "
    "phase, item sizes measured by making 100,000 edges or 10,000 cards alone, tracemalloc for Python's side): "
    "the empty window 195 MB (Qt, PySide6, the tokenizer's tables); parsing the file +78 MB (the graph is 37 MB "
    "of it: 99,945 edges with a dictionary each, and a string of their own for each end; the rest is the "
    "parser's garbage, reused later); 10,000 cards at 5.4 KB (two ports 2.7 KB, a problem badge 1 KB that far "
    "out is never drawn, the laid-out text 1.3 KB); 99,945 edges at 3.6 KB (curve, arrow and bounding box kept "
    "as three painter paths 2.2 KB, an attribute dictionary, the control points; Qt's item and its index entry "
    "1.1 KB); the pass that marks the 89,946 ordering-only edges +34 MB (each got the same tooltip, a string of "
    "its own); validation's 89,947 problems +21 MB; the overview's edge paths +13 MB and its image 1 MB at the "
    "fitted zoom (one kept, at most 32 MB); no undo entries (opening empties the stacks). The live estimate: "
    "two `copy.deepcopy`s of the graph (87 MB at the peak each, for a 17 MB copy), a simulated run of the "
    "10,000 steps on a worker thread (about 90 MB while it runs: the run's own copy of the graph, its plan, a "
    "second analysis, the state of every step), a tooltip listing all 10,000 steps, and the result kept (16 "
    "MB). After: an edge keeps its two ends and its looks in slots and makes its curve, arrow and control "
    "points when asked (1.3 KB), its tooltip is set when hovered; a card lays out its text when first drawn in "
    "detail and makes its badge when it first has a problem (3.4 KB); edges hold the nodes' own id strings, in "
    "slots; `Graph.copy` copies field by field (16 MB peak, 0.3 s), the estimate copies once, waits until the "
    "cards are made and lists 40 steps in its tooltip; memory freed after the build and the estimate is handed "
    "back to the system (`malloc_trim`). The window once the estimate had come was still over 500 MB (583 "
    "MB: the simulated run on a worker thread, about 120 MB, mostly kept by the allocators afterwards); a graph "
    "of over 1,200 steps and edges is now estimated in a child process (`core/planning/estimate_process.py`: "
    "a fresh interpreter without Qt, the graph sent in frames of 500 steps or 5,000 edges, the figures and the "
    "per-step table back, the simulated run left in the child, which then exits), so the estimate costs the "
    "window a few MB (the result kept; the graph is sent from the document's own, a frame per turn of the "
    "loop, without a copy); the child's own peak has its column. Then (417 MB settled, peak 421): a card draws "
    "its own ports, their items made when the pointer comes near one (two port items took 2.7 KB a card); the "
    "window drops the tokenizer's tables (35-45 MB) when it opens a graph a child process estimates; `validate` "
    "keeps the 89,946 ordering-only warnings as their ids and names (`core/graph/problems.py`, about 27 MB as "
    "objects). "
    "*Longest slice*: the longest the window's thread went without a turn of its event loop from File → Open "
    "until settled (a 0 ms heartbeat timer), and the most CPU time the thread spent between two turns (the "
    "rest of a wall slice is waiting for a core or for Python's lock). `estimate` of the 10,000 steps no "
    "longer stops: it spent its time (over 15 minutes) comparing each call's prompt with every earlier call's "
    "(`predict_cached`). `advise` of the 10,000 steps still does not finish: it sorts the ordering-only edges "
    "with `list.index` and estimates the graph once per such edge (89,946 simulated runs)."
)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def window_child(path: Path) -> None:
    """In a fresh process (``--child``): open ``path`` in the main window, print one JSON line per phase."""
    import asyncio
    import resource

    import qasync
    from PySide6.QtCore import QSettings, QTimer

    import chainstudio
    from chainstudio.core.storage.history import RunHistory
    from chainstudio.ui.app import create_application
    from chainstudio.ui.main_window import MainWindow

    last = [0.0, 0.0]  # the last turn of the window's event loop: (wall, the window thread's CPU)
    most = [0.0, 0.0]  # the longest time between two turns (wall), the most CPU the thread spent between two

    def beat() -> None:  # constant memory: keeping every beat (millions) grew the heap it measures
        wall, cpu = time.perf_counter(), time.thread_time()
        if last[0]:
            most[0], most[1] = max(most[0], wall - last[0]), max(most[1], cpu - last[1])
        last[0], last[1] = wall, cpu

    def slices() -> dict[str, float]:
        """The longest the window's thread went without a turn of its loop since the open (wall), and the most
        CPU it spent between two turns (what it did itself; the rest of a wall slice is waiting)."""
        return {"slice_ms": round(most[0] * 1000), "slice_cpu_ms": round(most[1] * 1000)}

    def phase(name: str, **more: object) -> None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"phase": name, "rss": round(rss_mb()), "peak": round(peak), **more}), flush=True)

    async def measure(folder: Path) -> None:
        window = MainWindow(QSettings(str(folder / "ui.ini"), QSettings.Format.IniFormat), RunHistory(folder / "h.db"))
        window.resize(1400, 900)
        window.show()
        await asyncio.sleep(2.0)
        phase("empty window", source=str(Path(chainstudio.__file__).parent))
        heartbeat = QTimer()
        heartbeat.setInterval(0)  # runs between any two other pieces of the loop's work
        heartbeat.timeout.connect(beat)
        heartbeat.start()
        t0 = time.perf_counter()
        window.files.open_path(path, confirm=False)
        while getattr(getattr(window.files, "loader", None), "loading", None) is not None:  # read on a worker
            await asyncio.sleep(0.05)
        while window.scene.building or time.perf_counter() - t0 < 0.5:
            await asyncio.sleep(0.1)
        phase("items made", s=round(time.perf_counter() - t0, 1), **slices())
        label = window.estimate.label
        while time.perf_counter() - t0 < SETTLE_S and label.text().startswith("≈ …"):
            await asyncio.sleep(0.25)
        await asyncio.sleep(2.0)
        child = getattr(window.estimate, "child_peak_mb", None)  # the estimate's own process, where it has one
        heartbeat.stop()
        phase(
            "settled",
            s=round(time.perf_counter() - t0, 1),
            estimate=label.text()[:40],
            child=child and round(child),
            **slices(),
        )
        window.close()

    app = create_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as folder, loop:
        loop.run_until_complete(measure(Path(folder)))


def window(root: Path, path: Path, folder: Path) -> list[dict]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(root)}
    env["CHAINSTUDIO_CONFIG_DIR"] = env["CHAINSTUDIO_DATA_DIR"] = tempfile.mkdtemp(dir=folder)
    script = Path(__file__).resolve()
    out = subprocess.run(
        [sys.executable, str(script), "--child", str(path)], env=env, cwd=root, capture_output=True, text=True
    )
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    if not rows:
        raise SystemExit(f"the window's process failed: {out.stderr.strip()[-400:]}")
    return rows


def command(root: Path, folder: Path, timeout: float, *args: str) -> dict:
    """One CLI command in a fresh process of ``root``'s chainstudio: exit code, seconds, peak RSS."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(root)}
    env["CHAINSTUDIO_CONFIG_DIR"] = env["CHAINSTUDIO_DATA_DIR"] = tempfile.mkdtemp(dir=folder)
    t0 = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "chainstudio", *args],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stopped = False
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t0 > timeout:
            child.kill()
            stopped = True
            _, status, usage = os.wait4(child.pid, 0)
            break
        time.sleep(0.1)
    child.returncode = os.waitstatus_to_exitcode(status)
    rc = "stopped" if stopped else child.returncode
    peak = usage.ru_maxrss / 1024
    return {"rc": rc, "s": round(time.perf_counter() - t0, 1), "peak": round(peak)}


def commands(folder: Path) -> list[tuple[str, str, list[str]]]:
    from limits_bench import big_prompt, dense, fan_out  # (not in a child: it puts this checkout on the path)

    files = {
        "10,000 steps, 100,000 edges": dense(folder / "dense.chain.json"),
        "9,998-step fan-out": fan_out(folder / "fan.chain.json"),
        "16 MB prompt": big_prompt(folder / "big.chain.json"),
    }
    found = []
    for label, path in files.items():
        found += [
            (label, "validate", ["validate", str(path)]),
            (label, f"run --speed {SPEED}", ["run", str(path), "--speed", str(SPEED), "--no-output"]),
            (label, "export --canvas .png", ["export", str(path), "--canvas", str(folder / "x.png")]),
            (label, "estimate", ["estimate", str(path)]),
            (label, "advise", ["advise", str(path)]),
        ]
    return found


def section(window_rows: dict[str, list[dict]], cli_rows: list[dict], roots: dict[str, str], timeout: float) -> str:
    load = os.getloadavg()
    lines = [
        SECTION,
        "",
        "Reproduce with one command (it rewrites this section; `--root` is the checkout measured as the before):",
        "",
        "```",
        ".venv/bin/python benchmarks/memory_bench.py --root ../main",
        "```",
        "",
        f"Measured on CPython {platform.python_version()}, {platform.system()}, 2 cores shared with other work "
        f"(load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end), before ({roots['before']}) and "
        "after (this checkout) one right after the other. Issue 14's limit: 500 MB for any single hostile input.",
        "",
        "The window with `limits_bench.dense` open (10,000 steps, 99,945 edges), current RSS per phase and the "
        "process's peak:",
        "",
        "| checkout | empty window | items made | settled (estimate shown) | peak | open until items made | the "
        "estimate's child process: peak | longest slice, open to settled: wall | its window-thread CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, rows in window_rows.items():
        by = {r["phase"]: r for r in rows}
        empty, made, settled = by.get("empty window", {}), by.get("items made", {}), by.get("settled", {})
        lines.append(
            f"| {name} | {empty.get('rss', '—')} MB | {made.get('rss', '—')} MB | {settled.get('rss', '—')} MB | "
            f"{settled.get('peak', made.get('peak', '—'))} MB | {made.get('s', '—')} s | "
            + (f"{settled['child']} MB |" if settled.get("child") else "none (estimated on a thread) |")
            + f" {settled.get('slice_ms', '—')} ms | {settled.get('slice_cpu_ms', '—')} ms |"
        )
    if cli_rows:
        lines += [
            "",
            f"Peak RSS of each CLI command (a fresh process; stopped after {timeout:.0f} s where it says so):",
            "",
            "| file | command | before: peak | exit | time | after: peak | exit | time |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in cli_rows:
            b, a = r["before"], r["after"]
            lines.append(
                f"| {r['file']} | `{r['command']}` | {b['peak']} MB | {b['rc']} | {b['s']} s | {a['peak']} MB | "
                f"{a['rc']} | {a['s']} s |"
            )
    lines += ["", NOTE]
    return "\n".join(lines) + "\n\n"


def main() -> int:
    if "--child" in sys.argv:
        window_child(Path(sys.argv[sys.argv.index("--child") + 1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, required=True, help="the checkout measured as the before")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--window-only", action="store_true")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a CLI command may take")
    args = parser.parse_args()
    roots = {"before": args.root.resolve(), "after": ROOT}
    from limits_bench import dense
    from perfdoc import write_section

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        window_rows = {}
        for which, root in roots.items():
            window_rows[which] = window(root, dense(folder / "dense.chain.json"), folder)
            print(which, json.dumps(window_rows[which]), flush=True)
        cli_rows = []
        if not args.window_only:
            for label, name_, cmd in commands(folder):
                row = {"file": label, "command": name_}
                for which, root in roots.items():
                    row[which] = command(root, folder, args.timeout, *cmd)
                print(json.dumps(row), flush=True)
                cli_rows.append(row)
    text = section(window_rows, cli_rows, {k: str(v) for k, v in roots.items()}, args.timeout)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
