"""Helpers to run the executor in tests: on virtual time (exact, instant) with a scripted provider."""

from __future__ import annotations

import asyncio
from typing import Any

from chainstudio.core.clock import Clock
from chainstudio.core.graph.model import Graph
from chainstudio.core.providers.scripted import ScriptedProvider
from chainstudio.core.providers.simulated import SimulatedProvider
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.virtual_time import run_virtual


def run_scripted(
    graph: Graph, *, latency: Any = None, script: Any = None, context: dict | None = None, **run_options: Any
) -> tuple[Run, ScriptedProvider]:
    """Run ``graph`` on a ScriptedProvider on virtual time; returns the finished run and the provider."""

    async def main() -> tuple[Run, ScriptedProvider]:
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        provider = ScriptedProvider(
            latency=latency if latency is not None else {}, script=script or {}, clock=clock, default_latency=1.0
        )
        run = Run(graph, RunContext(provider=provider, clock=clock, **(context or {})), **run_options)
        await run.execute()
        assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return run, provider

    return run_virtual(main())


def run_simulated(
    graph: Graph, *, seed: int = 0, context: dict | None = None, provider: dict | None = None, **run_options: Any
) -> Run:
    """Run ``graph`` on the simulated provider on virtual time."""

    async def main() -> Run:
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        sim = SimulatedProvider(seed=seed, clock=clock, **(provider or {}))
        run = Run(graph, RunContext(provider=sim, clock=clock, seed=seed, **(context or {})), **run_options)
        await run.execute()
        return run

    return run_virtual(main())


def starts(run: Run) -> dict[str, float]:
    """Step name -> first attempt's start, in seconds from the run's start."""
    state = run.state
    return {s.name: state.rel(s.started_at) for s in state.spans.values() if s.started_at is not None}


def ends(run: Run) -> dict[str, float]:
    state = run.state
    return {s.name: state.rel(s.ended_at) for s in state.spans.values() if s.ended_at is not None}


def run_on_server(url: str, graph: Graph, *, key: str = "k", **context: Any) -> Run:
    """Run ``graph`` in real time through the OpenAI-compatible provider against the server at ``url``
    (e.g. the fake server's), with these ``RunContext`` fields; the provider is closed afterwards."""
    from chainstudio.core.providers.openai_compat import OpenAICompatProvider, OpenAISettings

    async def main() -> Run:
        provider = OpenAICompatProvider(OpenAISettings(base_url=url, api_key=key))
        try:
            run = Run(graph, RunContext(provider=provider, **context))
            await run.execute()
            return run
        finally:
            await provider.aclose()

    return asyncio.run(main())


def run_over_http(url: str, graph: Graph, *, api_key: str = "sk-test", **context: Any) -> Run:
    """A real run of ``graph`` through the OpenAI-compatible provider against the server at ``url``
    (``context``: more ``RunContext`` fields); the provider is closed afterwards."""
    from chainstudio.core.providers.openai_compat import OpenAICompatProvider, OpenAISettings

    async def main() -> Run:
        provider = OpenAICompatProvider(OpenAISettings(base_url=url, api_key=api_key))
        run = Run(graph, RunContext(provider=provider, **context))
        try:
            await run.execute()
        finally:
            await provider.aclose()
        return run

    return asyncio.run(main())
