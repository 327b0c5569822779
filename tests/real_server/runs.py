"""One real run of a graph against a running server, as the CLI makes it: the real executor and the real
openai client over HTTP, primed from the run history (learned step durations, measured capacity), and
recorded in that history. Shared by the tier's tests and ``benchmarks/real_server_bench.py``."""

from __future__ import annotations

import asyncio

from chainstudio.core.graph.model import Graph
from chainstudio.core.launch import RunOptions, build_context, history_settings
from chainstudio.core.planning.calibration import prime
from chainstudio.core.run.executor import Run, Strategy
from chainstudio.core.storage.history import RunHistory
from chainstudio.core.storage.settings import Settings
from tests.real_server.server import MODEL_ALIAS


def real_run(
    base_url: str,
    graph: Graph,
    history: RunHistory,
    strategy: Strategy = "eager",
    *,
    model: str | None = MODEL_ALIAS,
    warm_prefix: bool = False,
) -> Run:
    """Run ``graph`` with every step on ``model`` (default: the server's; None: each step's own); the finished
    Run (its ``state`` and ``context``). ``warm_prefix``: the run option."""
    options = RunOptions(provider="openai", base_url=base_url, model=model, strategy=strategy, warm_prefix=warm_prefix)
    context = build_context(Settings(), options)
    prime(context, history, graph)
    run = Run(graph, context, strategy=strategy, model=model)

    async def go() -> None:
        try:
            await run.execute()
        finally:
            await context.provider.aclose()

    asyncio.run(go())
    settings = history_settings(Settings(), options, context, strategy).to_dict()
    history.add(run.events, graph, source="real-server", settings=settings, state=run.state)
    return run
