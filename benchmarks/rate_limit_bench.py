"""Rate limits that hold, in real time: every 60 s window of a local server's own request log, and the 429s
met against a server with a hidden limit, adaptive pace against a fixed cap.

    python benchmarks/rate_limit_bench.py [--steps 50] [--rpm 20] [--tpm 6000] [--hidden 20]

1. ``--steps`` independent steps (a fan-out) through ChainStudio's OpenAI-compatible provider, with
   ``--rpm`` / ``--tpm`` limits, against the test suite's fake server (127.0.0.1), which logs each
   request's arrival and its usage. Prints the most requests and the most tokens in any 60 s window of
   that log (every window: the busiest one starts at a request), and how long the run took.
2. The same fan-out without limits, at most 8 at once, against a server that answers 429 without
   Retry-After to any request that would make more than ``--hidden`` in a 60 s window: once with a fixed
   cap (no adaptive pace), once with the adaptive pace. Prints the 429s each met and how each ended.

Takes several minutes of real time (it has to: the windows are real minutes).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chainstudio.core.run.executor import Run  # noqa: E402
from chainstudio.core.run.rate_limits import RateLimits  # noqa: E402
from tests.core.helpers import fan_out  # noqa: E402
from tests.support.engine import run_on_server  # noqa: E402
from tests.support.fake_openai_server import FakeOpenAIServer, Mode  # noqa: E402


def run_fan_out(server: FakeOpenAIServer, steps: int, retries: int = 3, **context: Any) -> Run:
    graph = fan_out(steps)
    for node in graph.nodes.values():
        if node.kind == "llm":
            node.params.update(retries=retries, max_tokens=100)
    return run_on_server(server.url, graph, **context)


def windows(args: argparse.Namespace) -> None:
    with FakeOpenAIServer(chunk_delay=0.01, default_tokens=40) as server:
        started = time.monotonic()
        run = run_fan_out(server, args.steps, rate_limits=RateLimits(args.rpm, args.tpm))
        took = time.monotonic() - started
        most_requests, most_tokens = server.windows(60.0)
        log = server.stats.log
    span = max(e["start"] for e in log) - min(e["start"] for e in log)
    print(
        f"limits {args.rpm:g} requests / {args.tpm:g} tokens per minute, {args.steps} steps: run {run.state.status} "
        f"in {took:.1f} s (requests spread over {span:.1f} s); busiest 60 s window of the server's log: "
        f"{most_requests} requests, {most_tokens} tokens"
    )


def hidden_limit(args: argparse.Namespace) -> None:
    for adaptive in (False, True):
        with FakeOpenAIServer(mode=Mode(rpm_limit=(args.hidden, 60.0)), chunk_delay=0.005) as server:
            started = time.monotonic()
            run = run_fan_out(server, args.steps, concurrency=8, adaptive_pace=adaptive, seed=1)
            took = time.monotonic() - started
            stats = server.stats
        failed = sum(1 for s in run.state.spans.values() if s.status == "failed")
        print(
            f"hidden limit {args.hidden}/min, {args.steps} steps, {'adaptive pace' if adaptive else 'fixed cap 8  '}: "
            f"{stats.statuses.get(429, 0)} x 429 in {stats.requests} requests, run {run.state.status} "
            f"({failed} steps failed) in {took:.1f} s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rpm", type=float, default=20)
    parser.add_argument("--tpm", type=float, default=6000)
    parser.add_argument("--hidden", type=int, default=20, help="the hidden limit: requests per 60 s")
    parser.add_argument("--only", choices=("windows", "hidden"))
    args = parser.parse_args(argv)
    if args.only != "hidden":
        windows(args)
    if args.only != "windows":
        hidden_limit(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
