"""Stress: large random graphs at concurrency 128 on the simulated provider with 10 % injected faults,
in real time (simulated latencies sped up 20x), each size in a fresh process so peak RSS is its own.

    .venv/bin/python benchmarks/stress_bench.py            # rewrites "## Stress" in docs/performance.md
    .venv/bin/python benchmarks/stress_bench.py --no-write # print only
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

from perfdoc import write_section

ROOT = Path(__file__).resolve().parent.parent
SIZES = (250, 1000, 2000)

CHILD = r"""
import asyncio, json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from chainstudio.core.clock import Clock
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.providers.simulated import Faults, SimulatedProvider
from tests.core.run.test_stress import wide_dag

n = int(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
graph = wide_dag(n, seed=7)
clock = Clock(speed=20.0)
faults = Faults(rate_limit=0.04, server_error=0.03, dropped=0.03, retry_after=0.5)
provider = SimulatedProvider(seed=7, clock=clock, faults=faults)
run = Run(graph, RunContext(provider=provider, clock=clock, seed=7, concurrency=128), strategy="eager")
t0 = time.perf_counter()
state = asyncio.run(run.execute())
real = time.perf_counter() - t0
statuses = {}
for span in state.spans.values():
    statuses[span.status] = statuses.get(span.status, 0) + 1
totals = state.totals()
print(json.dumps({"n": n, "real_s": real, "simulated_wall_s": totals.wall, "status": state.status,
                  "statuses": statuses, "api_calls": totals.api_calls, "events": len(run.events),
                  "rss_before_mb": before / 1024,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(n: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), str(ROOT)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def section(rows: list[dict]) -> str:
    lines = [
        "## Stress",
        "",
        "Reproduce with one command (it rewrites this section):",
        "",
        "```",
        ".venv/bin/python benchmarks/stress_bench.py",
        "```",
        "",
        f"Measured on CPython {platform.python_version()}, {platform.system()}. Random DAGs (each step reads up "
        "to 2 earlier steps' outputs), concurrency 128, simulated provider in real time sped up 20x, faults on "
        "10 % of attempts (4 % HTTP 429 with Retry-After 0.5 s, 3 % HTTP 500, 3 % streams dropped midway), 2 "
        "retries per step. Each size runs in a fresh process; *peak RSS* is that process's maximum resident "
        "memory (interpreter and libraries included), *before* is the same process after imports. The simulated "
        "wall time includes the machine's own scheduling delays magnified 20x by the speed-up, so it varies "
        "with load; what this measures is the statuses and the memory.",
        "",
        "| steps | real time | simulated wall | calls (with retries) | events | statuses | RSS before | peak RSS |",
        "|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items()))
        lines.append(
            f"| {r['n']:,} | {r['real_s']:.1f} s | {r['simulated_wall_s']:.1f} s | {r['api_calls']:,} | "
            f"{r['events']:,} | {statuses} | {r['rss_before_mb']:.0f} MB | {r['peak_rss_mb']:.0f} MB |"
        )
    lines.append("")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = [measure(n) for n in SIZES]
    text = section(rows)
    print(text)
    if not args.no_write:
        write_section("## Stress", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
