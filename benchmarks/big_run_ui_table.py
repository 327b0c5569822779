"""Median and max over several ``big_run_ui_bench.py --json`` measurements, as a Markdown table.

    .venv/bin/python benchmarks/big_run_ui_table.py "main (before)=b1.json,b2.json,b3.json" \
        "this branch=a1.json,a2.json,a3.json"

Each argument is ``label=comma-separated JSON files`` (one row). A single run of the window at the limits
varies with the machine's load: the rows give the median and the largest figure of the runs, and the range of
the 1-minute load average at their ends.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def row(label: str, runs: list[dict]) -> str:
    def both(key: str, unit: str = " ms") -> str:
        values = [r[key] for r in runs]
        return f"{statistics.median(values):,.0f}{unit} / {max(values):,.0f}{unit}"

    stopped = all(r.get("stopped_after_s") is not None for r in runs)
    done = statistics.median(r["done_ok"] for r in runs)
    took = "" if stopped else f"{statistics.median(r['run_s'] for r in runs):.1f} s | "
    ends = [end_cpu(r) for r in runs]
    end = f"{statistics.median(ends):,.0f} ms / {max(ends):,.0f} ms"
    over = statistics.median(r["over_100ms"] for r in runs)
    over_cpu = statistics.median(r["cpu_over_100ms"] for r in runs)
    loads = [r["load"] for r in runs]
    return (
        f"| {label} | {len(runs)} | {done:,.0f} | {took}{both('max_ms')} | {both('max_cpu_ms')} | {end} | "
        f"{over:.0f} / {over_cpu:.0f} | {min(loads):.1f}-{max(loads):.1f} |"
    )


def end_cpu(run: dict) -> float:
    """The most window-thread CPU in one gap from Stop (or the run's end) on, among the gaps the measurement
    lists: those over 100 ms of wall time from then on, and the ten with the most CPU."""
    since = run.get("stopped_after_s") or run["run_s"]
    listed = [*run.get("end", []), *(g for g in run["worst"] if g["at_s"] >= since)]
    return max((g["cpu_ms"] for g in listed), default=0.0)


def table(rows: list[tuple[str, list[dict]]]) -> str:
    stopped = all(r.get("stopped_after_s") is not None for _, runs in rows for r in runs)
    took = "" if stopped else " run took (median) |"
    head = (
        f"| checkout | runs | steps succeeded (median) |{took} largest gap (median / max) | most window-thread CPU "
        "in a gap (median / max) | ... from Stop on (median / max) | gaps over 100 ms, wall / CPU (median) | load |"
    )
    rule = "|---|---:|---:|" + ("---:|" if not stopped else "") + "---:|---:|---:|---:|---:|"
    return "\n".join([head, rule, *(row(label, runs) for label, runs in rows)])


def main(argv: list[str]) -> int:
    rows = []
    for arg in argv:
        label, _, files = arg.partition("=")
        rows.append((label, [json.loads(Path(f).read_text()) for f in files.split(",") if f]))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
