"""Warm-then-fan-out (``RunContext.warm_prefix``): against the fake server's prompt cache, real HTTP."""

import asyncio

from chainstudio.core.gantt.text import tooltip_html
from chainstudio.core.run import events as ev
from chainstudio.core.run.warm_prefix import PrefixWarmer
from chainstudio.core.storage.fileformat import load
from tests.conftest import ROOT
from tests.support.engine import run_on_server
from tests.support.fake_openai_server import FakeOpenAIServer, Mode

SHARED = ROOT / "tests" / "data" / "shared-context.chain.json"


def context_first():
    """The shared-context graph with each prompt's document first (what the advisor's reorder makes)."""
    graph = load(SHARED)
    for node in graph.nodes.values():
        if node.kind == "llm":
            task, document = str(node.params["prompt"]).split("\n\n")
            node.params["prompt"] = f"{document}\n\n{task}"
    return graph


def messages(text):
    return ({"role": "user", "content": text},)


def test_a_call_sharing_a_prefix_waits_for_the_leaders_first_token_and_others_do_not():
    async def main():
        warmer, order = PrefixWarmer(min_chars=10), []
        shared = "x" * 20

        async def call(step, text, first_token_after=None):
            await warmer.wait_turn(step, messages(text), lambda leader: order.append(f"{step} holds for {leader}"))
            order.append(f"{step} goes")
            if first_token_after is not None:
                await asyncio.sleep(first_token_after)
                order.append(f"{step} first token")
                warmer.warmed(step)

        await asyncio.gather(call("a", shared + "1", 0.05), call("b", shared + "2"), call("c", "other text here"))
        await call("d", shared + "3")  # the prefix is warm now: no wait
        return order, warmer.held

    order, held = asyncio.run(main())
    assert order.index("b holds for a") < order.index("a first token") < order.index("b goes")
    assert order.index("c goes") < order.index("a first token")  # no shared prefix: not held
    assert "d goes" in order and not any(o.startswith("d holds") for o in order)
    assert held == {"b": "a"}


def test_warming_the_prefix_makes_the_fan_out_read_it_from_the_servers_cache():
    mode = Mode(prefix_cache=True, prefill_per_token=0.0005)
    graph = context_first()
    with FakeOpenAIServer(mode=mode) as server:
        together = run_on_server(server.url, graph)
        server.prefixes.clear()
        warmed = run_on_server(server.url, graph, warm_prefix=True)
    branches = [n.id for n in graph.nodes.values() if n.kind == "llm"]
    assert together.state.status == warmed.state.status == "succeeded"
    cached_together = sum(together.state.spans[b].cached_tokens for b in branches)
    cached = {b: warmed.state.spans[b].cached_tokens for b in branches}
    waits = [e for e in warmed.events if isinstance(e, ev.NodeWaiting) and e.reason == "prefix"]
    assert len(waits) == 3 and not [e for e in together.events if isinstance(e, ev.NodeWaiting)]
    (leader,) = set(branches) - {e.node_id for e in waits}
    assert cached[leader] == 0 and all(cached[b] > 700 for b in branches if b != leader)  # the 779-token document
    assert cached_together < sum(cached.values())
    first = next(e.t for e in warmed.events if isinstance(e, ev.NodeFirstToken) and e.node_id == leader)
    for wait in waits:
        started = next(e.t for e in warmed.events if isinstance(e, ev.NodeStarted) and e.node_id == wait.node_id)
        assert started >= first
    assert warmed.state.totals().cached_tokens == sum(cached.values())
    follower = warmed.state.spans[waits[0].node_id]
    assert follower.wait_reason == "prefix" and "Waited for shared prefix" in tooltip_html(warmed.state, follower)
