"""Prompt-caching benchmark: a shared context sent to four branches, against a server with a prompt cache.

    .venv/bin/python benchmarks/prefix_cache_bench.py fake                   # the fake server's prefix-cache mode
    .venv/bin/python benchmarks/prefix_cache_bench.py llama-server --port 18150 --rounds 2

The graph is tests/data/shared-context.chain.json: one 779-token document read by four LLM steps (16 tokens
each). It runs in three ways, each ``--rounds`` times, on a fresh run history:

* ``as saved``: each prompt starts with its own task, then the document (what the advisor flags);
* ``context first``: the advisor's reorder applied (the document first), the branches started together;
* ``context first + warm``: the same with the warm-prefix option (one branch first, the rest at its first token).

For each it prints the wall time, the leader's and the followers' time to first token, the prompt tokens
the server reported as cached (``usage.prompt_tokens_details.cached_tokens``), and what the run's tokens would
cost at gpt-4o-mini's prices (the server itself is free), next to the estimate's prediction (calibrated on
this history's earlier runs; predicted cached tokens from the simulated schedule, ``predict_cached``). The
fake server takes 0.5 ms of prefill per uncached prompt token and caches a prompt once it is processed;
llama-server is started fresh (``tests/real_server/server.py``: Gemma 3 270M, 4 slots, 1 thread).

``--probe`` (llama-server) sends the shared-context prompt with three different tasks one after another,
each after the previous one ended, and prints each request's time and ``cached_tokens``: what the server's
cache does when the prefix is free to be reused.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chainstudio.core.graph.model import Graph  # noqa: E402
from chainstudio.core.planning.calibration import calibrate  # noqa: E402
from chainstudio.core.planning.estimate import estimate  # noqa: E402
from chainstudio.core.run.executor import Run  # noqa: E402
from chainstudio.core.run.pricing import Pricing  # noqa: E402
from chainstudio.core.run.warm_prefix import predict_cached  # noqa: E402
from chainstudio.core.storage.fileformat import load  # noqa: E402
from chainstudio.core.storage.history import RunHistory  # noqa: E402
from tests.real_server.runs import real_run  # noqa: E402

GRAPH = ROOT / "tests" / "data" / "shared-context.chain.json"
PRICED_AS = "gpt-4o-mini"
WAYS = (("as saved", False, False), ("context first", True, False), ("context first + warm", True, True))


def shared_context(first: bool) -> Graph:
    graph = load(GRAPH)
    for node in graph.nodes.values():
        if node.kind == "llm":
            node.params["timeout"] = 900.0
            if first:
                task, document = str(node.params["prompt"]).split("\n\n")
                node.params["prompt"] = f"{document}\n\n{task}"
    return graph


def one_run(base_url: str, model: str | None, graph: Graph, history: RunHistory, warm: bool) -> Run:
    return real_run(base_url, graph, history, model=model, warm_prefix=warm)


def figures(run: Run) -> dict[str, Any]:
    state = run.state
    spans = sorted((s for s in state.spans.values() if s.kind == "llm"), key=lambda s: s.started_at or 0.0)
    ttft = [(s.first_token_at or 0.0) - (s.queued_at or 0.0) for s in spans]
    totals = state.totals()
    cost = Pricing().cost(PRICED_AS, totals.input_tokens, totals.output_tokens, totals.cached_tokens)
    return {
        "status": str(state.status),
        "wall": totals.wall,
        "leader_ttft": ttft[0],
        "follower_ttft": statistics.mean(ttft[1:]),
        "input": totals.input_tokens,
        "cached": totals.cached_tokens,
        "cost": float(cost or 0),
    }


def predicted(history: RunHistory, graph: Graph, endpoint: str, model: str | None, warm: bool) -> dict[str, Any]:
    latency = calibrate(history, graph, endpoint)
    result = estimate(graph, model=model, latency=latency, warm_prefix=warm, with_range=False)
    return {"wall": result.wall_ms / 1000, "cached": sum(predict_cached(result.state).values())}


def bench(base_url: str, model: str | None, rounds: int, label: str) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="prefix-bench-"))
    history = RunHistory(workdir / "history.sqlite3")
    print(f"## {label}: {rounds} round(s), load {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print("| way | predicted wall | predicted cached | wall | leader TTFT | followers' TTFT | input | cached | "
          f"cost at {PRICED_AS} prices |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for name, first, warm in WAYS:
        graph = shared_context(first)
        one_run(base_url, model, graph, history, warm)  # calibrates; its prefix is then cached: not counted
        guess = predicted(history, graph, base_url, model, warm)
        measured = []
        for _ in range(rounds):
            measured.append(figures(one_run(base_url, model, _fresh(graph), history, warm)))
        mean = {k: statistics.mean(m[k] for m in measured) for k in measured[0] if k != "status"}
        print(
            f"| {name} | {guess['wall']:.2f} s | {guess['cached']:,} | {mean['wall']:.2f} s | "
            f"{mean['leader_ttft']:.2f} s | {mean['follower_ttft']:.2f} s | {mean['input']:,.0f} | "
            f"{mean['cached']:,.0f} | ${mean['cost']:.6f} |",
            flush=True,
        )


_ROUND = [0]


def _fresh(graph: Graph) -> Graph:
    """The graph with a new document start, so no earlier run's prompt is in the server's cache."""
    _ROUND[0] += 1
    copy = graph.copy()
    document = copy.inputs[0]
    copy.inputs[0] = type(document)(document.name, f"Report {_ROUND[0]}. {document.default}", document.description)
    return copy


def probe(base_url: str, model: str) -> None:
    """Three requests sharing the document, one after another (see the module docstring)."""
    import json
    import time
    import urllib.request

    document = load(GRAPH).inputs[0].default or ""
    print("| request | time | prompt tokens | cached tokens |\n|---|---|---|---|")
    for task in ("Summarise it.", "List the risks.", "Write a headline."):
        messages = [
            {"role": "system", "content": "You are an analyst."},
            {"role": "user", "content": f"Document:\n{document}\n\nTask: {task}"},
        ]
        body = json.dumps({"model": model, "max_tokens": 4, "messages": messages}).encode()
        request = urllib.request.Request(f"{base_url}/chat/completions", body, {"Content-Type": "application/json"})
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=300) as response:
            usage = json.loads(response.read())["usage"]
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
        print(f"| {task} | {time.monotonic() - started:.2f} s | {usage['prompt_tokens']} | {cached} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("server", choices=("fake", "llama-server"))
    parser.add_argument("--port", type=int, default=18150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--probe", action="store_true", help="llama-server: three requests one after another")
    args = parser.parse_args(argv)
    if args.server == "fake":
        from tests.support.fake_openai_server import FakeOpenAIServer, Mode

        with FakeOpenAIServer(mode=Mode(prefix_cache=True, prefill_per_token=0.0005), chunk_delay=0.01) as server:
            bench(server.url, None, args.rounds, "fake server (prefix cache, 0.5 ms prefill per uncached token)")
        return 0
    from tests.real_server.server import MODEL_ALIAS, running

    with running("llama-server", args.port) as server:
        if args.probe:
            probe(server.base_url, MODEL_ALIAS)
            return 0
        bench(server.base_url, MODEL_ALIAS, args.rounds, "llama-server (Gemma 3 270M, 4 slots, 1 thread)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
