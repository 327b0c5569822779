"""Graphs at the file format's limits (issue 14, class 7): how long ``validate``, ``run`` and ``export
--canvas`` take, and their peak memory, each command in a fresh process as a user runs it.

    .venv/bin/python benchmarks/limits_bench.py            # rewrites "## At the limits" in docs/performance.md
    .venv/bin/python benchmarks/limits_bench.py --no-write # print only
    .venv/bin/python benchmarks/limits_bench.py --runs-only --root ../main --json before.json --no-write
    .venv/bin/python benchmarks/limits_bench.py --before before.json   # + a before/after table of the runs

``--root CHECKOUT`` runs the commands with another checkout's chainstudio (e.g. main, the *before*);
``--runs-only`` measures only the ``run`` rows.

The files: 10,000 steps with 100,000 edges (each step reads 10 of the 200 steps before it, its prompt names
one of them); a 9,998-step fan-out (one input, 9,997 steps reading it, one output reading them all); one
step whose 16 MB prompt holds 1.5 million ``{{ x }}`` expressions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perfdoc import write_section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chainstudio.core.storage.fileformat import MAX_EDGES, MAX_NODES  # noqa: E402

TARGET_VALIDATE_S, TARGET_EXPORT_S = 5.0, 30.0
SPEED = 100  # at 1,000 a step's 60 s timeout is 60 ms of real time: a busy machine times steps out
NOTE = (
    f"The `run` rows run at `--speed {SPEED}`: at `--speed 1000` a step's 60 s timeout is 60 ms of real time, "
    "and on a machine shared with other work a call that waits longer than that for a core times out (its "
    "descendants are skipped, which makes the run cheaper and the figure meaningless). Their CPU time is what "
    "running the graph costs: the engine, the simulated provider (which generates and counts each answer's "
    "text), the progress lines, the history and the final table. The 16 MB prompt is over the "
    "2,000,000-character template limit: refused in one line, without parsing it."
)


def _node(i: int, kind: str, name: str, **params: object) -> dict:
    node = {"id": f"n{i}", "kind": kind, "name": name, "position": [(i % 100) * 260.0, (i // 100) * 160.0]}
    return {**node, **({"input": name} if kind == "input" else {}), **params}


def dense(path: Path) -> Path:
    """MAX_NODES steps and MAX_EDGES edges: step i reads 10 distinct steps among the 200 before it."""
    rng = random.Random(14)
    nodes = [_node(0, "input", "topic")]
    edges: list[list[str]] = []
    per_step = MAX_EDGES // (MAX_NODES - 10)
    for i in range(1, MAX_NODES):
        preds = sorted(rng.sample(range(max(0, i - 200), i), min(i, per_step)))
        edges.extend([f"n{p}", f"n{i}"] for p in preds)
        named = "topic" if preds[-1] == 0 else f"s{preds[-1]}"
        nodes.append(_node(i, "llm", f"s{i}", prompt=f"Go on from {{{{ {named} }}}}.", max_tokens=40))
    edges = edges[:MAX_EDGES]
    return _write(path, "dense", nodes, edges)


def fan_out(path: Path) -> Path:
    n = MAX_NODES - 2
    nodes = [_node(0, "input", "topic")]
    nodes += [_node(i, "llm", f"s{i}", prompt="About {{ topic }}.", max_tokens=20) for i in range(1, n)]
    nodes.append(_node(n, "output", "all", template=""))
    edges = [["n0", f"n{i}"] for i in range(1, n)] + [[f"n{i}", f"n{n}"] for i in range(1, n)]
    return _write(path, "fan-out", nodes, edges)


def big_prompt(path: Path) -> Path:
    prompt = "{{ x }} " * 1_500_000  # 12 MB of template
    prompt += "y" * (16 * 1024 * 1024 - len(prompt) - 4096)  # 16 MB in all
    nodes = [_node(0, "input", "x"), _node(1, "llm", "huge", prompt=prompt)]
    return _write(path, "big-prompt", nodes, [["n0", "n1"]])


def _write(path: Path, name: str, nodes: list[dict], edges: list[list[str]]) -> Path:
    inputs = [{"name": n["name"], "default": "a topic"} for n in nodes if n["kind"] == "input"]
    links = [{"id": f"e{k}", "source": a, "target": b} for k, (a, b) in enumerate(edges)]
    document = {"format": "chainstudio/graph", "version": 1, "name": name, "inputs": inputs, "nodes": nodes}
    document["edges"] = links
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def command(*args: str, data: Path, root: Path = ROOT) -> dict:
    """One CLI command in a fresh process (``root``'s chainstudio): its exit code, wall time and peak RSS."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CHAINSTUDIO_DATA_DIR": str(data), "PYTHONPATH": str(root)}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "chainstudio", *args], cwd=root, env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - t0
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        lines = out.read().strip().splitlines() or err.read().strip().splitlines() or [""]
    cpu, peak = usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
    return {"rc": child.returncode, "s": seconds, "cpu": cpu, "peak_mb": peak, "last": lines[-1][:100]}


def measure(folder: Path, root: Path = ROOT, runs_only: bool = False) -> list[dict]:
    data = folder / "data"
    rows = []
    files = {"10,000 steps, 100,000 edges": dense(folder / "dense.chain.json")}
    files["9,998-step fan-out"] = fan_out(folder / "fan.chain.json")
    files["16 MB prompt, 1.5 M expressions"] = big_prompt(folder / "big.chain.json")
    for label, path in files.items():
        runs = [] if runs_only else [("validate", ("validate", str(path)))]
        if "prompt" not in label and not runs_only:
            runs.append(("export --canvas .png", ("export", str(path), "--canvas", str(folder / "out.png"))))
            runs.append(("export --canvas .svg", ("export", str(path), "--canvas", str(folder / "out.svg"))))
        runs.append((f"run (simulated, --speed {SPEED})", ("run", str(path), "--speed", str(SPEED), "--no-output")))
        for name, args in runs:
            row = {"file": label, "command": name, **command(*args, data=data, root=root)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def steps_of(label: str) -> int:
    return {"10,000 steps, 100,000 edges": MAX_NODES, "9,998-step fan-out": MAX_NODES - 1}.get(label, 0)


def before_after(rows: list[dict], before: list[dict]) -> list[str]:
    """The run rows before (another checkout) and now, side by side."""
    lines = [
        "",
        "`chainstudio run`, before (main, `--root`) and after this change, the same command on the same files:",
        "",
        "| file | steps | CPU time before | after | per step before | after | peak RSS before | after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    old = {(r["file"], r["command"]): r for r in before}
    for r in rows:
        b = old.get((r["file"], r["command"]))
        n = steps_of(r["file"])
        if b is None or not n or not r["command"].startswith("run"):
            continue
        lines.append(
            f"| {r['file']} | {n:,} | {b['cpu']:.1f} s | {r['cpu']:.1f} s | {b['cpu'] / n * 1000:.2f} ms | "
            f"{r['cpu'] / n * 1000:.2f} ms | {b['peak_mb']:.0f} MB | {r['peak_mb']:.0f} MB |"
        )
    return lines


def section(rows: list[dict], before: list[dict] | None = None) -> str:
    lines = [
        "## At the limits",
        "",
        "Reproduce with one command (it rewrites this section):",
        "",
        "```",
        ".venv/bin/python benchmarks/limits_bench.py",
        "```",
        "",
        f"Measured on CPython {platform.python_version()}, {platform.system()}, 2 cores shared with other work. "
        "Each command runs in a fresh process as a user runs it (interpreter start-up and imports included); "
        "*CPU time* is the process's user + system time (the fairer figure while other work shares the cores), "
        "*peak RSS* its maximum resident memory. "
        f"Targets (issue 14): validate under {TARGET_VALIDATE_S:.0f} s, export under {TARGET_EXPORT_S:.0f} s.",
        "",
        "| file | command | exit | wall time | CPU time | peak RSS | last line |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        peak = f"{r['peak_mb']:.0f} MB"
        last = r["last"].replace("|", "\\|")
        row = f"| {r['file']} | `{r['command']}` | {r['rc']} | {r['s']:.1f} s | {r['cpu']:.1f} s | {peak} | {last} |"
        lines.append(row)
    if before:
        lines += before_after(rows, before)
    lines += ["", NOTE, ""]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--root", type=Path, default=ROOT, help="run another checkout's chainstudio")
    parser.add_argument("--runs-only", action="store_true", help="measure only the run rows")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--before", type=Path, help="rows of a --json measurement of the before")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = measure(Path(folder), args.root.resolve(), args.runs_only)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    text = section(rows, json.loads(args.before.read_text()) if args.before else None)
    print(text)
    if not args.no_write:
        write_section("## At the limits", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
