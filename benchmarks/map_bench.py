"""A map over 200 items under ``--concurrency 8``, end to end: the ``chainstudio run`` command against the
test suite's fake server over real HTTP (127.0.0.1), each item's answer served after a fixed delay.

    python benchmarks/map_bench.py [--items 200] [--concurrency 8] [--delay 0.25]

Prints the most requests the server ever had in flight, whether every answer came back in order, and the
map's makespan (its first item's start to its last item's end, from the run record) against the total
work divided by the cap: the sum of the server's per-request latencies (arrival to last byte) / N, and
the sum of the items' call times as the client timed them (request sent to answer read) / N. The first
also counts the client's own work per request (the openai client, the event loop); the second is how
well the map keeps the N slots busy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chainstudio.core.graph.model import Graph, GraphInput  # noqa: E402
from chainstudio.core.storage import fileformat  # noqa: E402
from tests.support.fake_openai_server import FakeOpenAIServer  # noqa: E402

KEY = "sk-map-bench"


def map_graph(items: int, delay: float) -> Graph:
    g = Graph("map-bench", inputs=[GraphInput("items", "\n".join(f"item {i}" for i in range(items)))])
    g.add("input", "items", input="items")
    g.add("map", "each", over="{{ items }}", prompt=f"{{{{ item }}}} [[echo]] [[delay={delay}]]", max_tokens=20)
    g.add("output", "out", template="{{ each }}")
    g.connect("items", "each")
    g.connect("each", "out")
    return g


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.25, help="seconds before each answer's first token")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(api_key=KEY, chunk_delay=0.0) as server:
        path = Path(tmp) / "map.chain.json"
        fileformat.save(map_graph(args.items, args.delay), path)
        env = dict(os.environ, MAP_BENCH_KEY=KEY, CHAINSTUDIO_DATA_DIR=tmp, CHAINSTUDIO_CONFIG_DIR=tmp)
        command = [sys.executable, "-m", "chainstudio", "run", str(path), "--provider", "openai"]
        command += ["--base-url", server.url, "--api-key-env", "MAP_BENCH_KEY", "--model", "gpt-4o-mini"]
        command += ["--concurrency", str(args.concurrency), "--json", "-"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        record = json.loads(done.stdout[done.stdout.index("{") :])
        stats = server.stats
    node = next(n for n in record["nodes"] if n["name"] == "each")
    answers = json.loads(node["output"])
    items = node["items"]
    makespan = (max(i["end_ms"] for i in items) - min(i["start_ms"] for i in items)) / 1000
    work = sum(entry["latency"] for entry in stats.log)
    ideal = work / args.concurrency
    print(f"items {args.items} · cap {args.concurrency} · answer delay {args.delay:g} s")
    print(f"server: {stats.requests} requests, at most {stats.max_in_flight} in flight")
    print(f"answers in order: {answers == [f'item {i}.' for i in range(args.items)]}")
    print(f"total work {work:.2f} s / {args.concurrency} = {ideal:.3f} s; map makespan {makespan:.3f} s")
    print(f"makespan / (work / cap) = {makespan / ideal:.4f} ({(makespan / ideal - 1) * 100:+.2f} %)")
    calls = sum(i["end_ms"] - i["start_ms"] for i in items) / 1000  # each item's call as the client timed it
    packed = calls / args.concurrency
    print(
        f"client-timed work {calls:.2f} s / {args.concurrency} = {packed:.3f} s; makespan / that = "
        f"{makespan / packed:.4f} ({(makespan / packed - 1) * 100:+.2f} %)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
