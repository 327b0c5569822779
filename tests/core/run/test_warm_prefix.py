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


def test_the_cached_prefixes_are_those_of_a_comparison_with_every_earlier_call():
    """``predict_cached`` looks only at the sorted neighbours of a prompt; the answer is the one of comparing it
    with every call whose first token came before it started (what it did before: quadratic)."""
    import random
    from types import SimpleNamespace

    from chainstudio.core.run.warm_prefix import (
        _tokens_of_prefix,
        messages_text,
        predict_cached,
        shared_prefix_chars,
        span_messages,
    )

    rng = random.Random(7)
    for _ in range(30):
        spans = {}
        for i in range(rng.randint(1, 40)):
            started = rng.choice([0.0, 1.0, 2.0, rng.uniform(0, 5)])
            words = [rng.choice(["alpha ", "beta ", "gamma "]) * rng.randint(1, 30) for _ in range(3)]
            spans[f"n{i}"] = SimpleNamespace(
                node_id=f"n{i}",
                kind="llm",
                reused=None,
                started_at=started,
                first_token_at=started + rng.choice([0.0, 0.5, 2.0]) if rng.random() < 0.9 else None,
                system=rng.choice(["", "be brief"]),
                prompt="".join(words[: rng.randint(1, 3)]),
            )
        state = SimpleNamespace(spans=spans)
        calls = sorted(spans.values(), key=lambda s: s.started_at)
        texts = {s.node_id: messages_text(span_messages(s.system, s.prompt)) for s in calls}
        expected = {}
        for span in calls:
            longest = max(
                (
                    shared_prefix_chars(texts[span.node_id], texts[o.node_id])
                    for o in calls
                    if o is not span and o.first_token_at is not None and o.first_token_at <= span.started_at
                ),
                default=0,
            )
            if longest >= 20:
                expected[span.node_id] = _tokens_of_prefix(texts[span.node_id][:longest])
        assert predict_cached(state, min_chars=20) == expected
