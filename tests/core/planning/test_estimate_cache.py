"""The estimate accounts for step-cache hits and pins: a run that would hit is predicted at its true cost."""

import asyncio

import pytest

from chainstudio.core.clock import Clock
from chainstudio.core.graph.model import Pin
from chainstudio.core.launch import RunOptions, RunServices, build_context, cache_endpoint
from chainstudio.core.planning.estimate import estimate
from chainstudio.core.providers.simulated import SimulatedProvider
from chainstudio.core.run.cache import CacheUse, endpoint_of
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.virtual_time import run_virtual
from chainstudio.core.storage.fileformat import load
from chainstudio.core.storage.settings import Settings
from chainstudio.core.storage.step_cache import PeekingCache, StepCacheStore
from tests.conftest import EXAMPLES

HYBRID = EXAMPLES / "research-hybrid.chain.json"


def fill_cache(graph, store):
    async def main():
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        provider = SimulatedProvider(seed=0, clock=clock)
        run = Run(graph, RunContext(provider=provider, clock=clock, cache=CacheUse(store, endpoint_of(provider))))
        await run.execute()
        await asyncio.sleep(0)  # the cache writes run just after each step
        return run

    return run_virtual(main())


def test_a_fully_cached_graph_is_predicted_free_and_instant(tmp_path):
    store = StepCacheStore(tmp_path / "c.sqlite3")
    graph = load(HYBRID)
    fill_cache(graph, store)
    cold = estimate(graph)
    use = CacheUse(PeekingCache(store), cache_endpoint(Settings(), RunOptions()))
    warm = estimate(graph, cache=use)
    assert cold.api_calls == 6 and cold.cost_usd > 0 and cold.wall_ms > 1000
    assert (warm.api_calls, warm.total_tokens, warm.cost_usd, warm.reused) == (0, 0, 0.0, 6)
    assert warm.wall_ms < 1.0
    assert {n.basis for n in warm.nodes if n.kind == "llm"} == {"cache hit"}
    assert all(n.cost_usd == 0.0 for n in warm.nodes if n.kind == "llm")


def test_an_edit_is_predicted_to_call_the_edited_step_and_what_follows(tmp_path):
    store = StepCacheStore(tmp_path / "c.sqlite3")
    graph = load(HYBRID)
    fill_cache(graph, store)
    entries = store.info().entries
    graph.resolve("security").params["prompt"] += " Be brief."
    use = CacheUse(PeekingCache(store), cache_endpoint(Settings(), RunOptions()))
    warm = estimate(graph, cache=use)
    called = {n.name for n in warm.nodes if n.kind == "llm" and n.basis != "cache hit"}
    assert called == {"security", "academic", "aggregate"}
    assert warm.api_calls == 3 and warm.reused == 3
    assert store.info().entries == entries  # the estimate wrote nothing


def test_pins_are_predicted_free():
    graph = load(HYBRID)
    graph.pins[graph.resolve("hardware").id] = Pin("pinned")
    result = estimate(graph)
    assert result.node("hardware").basis == "pinned" and result.node("hardware").duration_ms == 0
    assert result.api_calls == 5


@pytest.mark.parametrize(
    "options",
    [
        RunOptions(),
        RunOptions(seed=7),
        RunOptions(provider="openai", base_url="http://user:pw@127.0.0.1:9/v1/"),
        RunOptions(provider="openai", base_url="http://localhost:11434/v1"),
    ],
)
def test_the_estimate_keys_entries_as_the_run_does(options):
    settings = Settings()
    context = build_context(settings, options, RunServices())
    assert cache_endpoint(settings, options) == endpoint_of(context.provider)
