"""Pins, step-cache hits and partial runs in the executor (scripted provider, virtual time)."""

import pytest

from chainstudio.core.graph.model import Graph, GraphInput, Pin
from chainstudio.core.providers.base import ChatRequest
from chainstudio.core.run import events as ev
from chainstudio.core.run.cache import CacheUse, Endpoint, StoredStep, cache_key, endpoint_of
from chainstudio.core.run.savings import savings
from chainstudio.core.run.scope import select_scope
from chainstudio.core.run.state import RunState
from chainstudio.core.run.status import StepStatus
from chainstudio.core.storage import event_codec
from tests.core.helpers import chain
from tests.support.engine import run_scripted

SCRIPTED = Endpoint("scripted", simulated=True)


class DictCache:
    """The StepCache protocol on a dict, counting what the run asks."""

    def __init__(self):
        self.entries: dict[str, StoredStep] = {}
        self.gets = 0

    def get(self, key):
        self.gets += 1
        return self.entries.get(key)

    def put(self, key, step):
        self.entries[key] = step


def hybrid() -> Graph:
    """topic -> a, b; a -> c; (b, c) -> d -> out: like research-hybrid, smaller."""
    g = Graph("mini-hybrid", inputs=[GraphInput("topic", "t")])
    g.add("input", "topic", input="topic")
    g.add("llm", "a", prompt="a on {{ topic }}")
    g.add("llm", "b", prompt="b on {{ topic }}")
    g.add("llm", "c", prompt="c after {{ a }}")
    g.add("llm", "d", prompt="d from {{ b }} and {{ c }}")
    g.add("output", "out", template="{{ d }}")
    for s, t in (("topic", "a"), ("topic", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "out")):
        g.connect(s, t)
    return g


def cached_run(graph, cache, **options):
    return run_scripted(graph, context={"cache": CacheUse(cache, SCRIPTED)}, latency={"a": 2.0, "d": 0.5}, **options)


def reused(run):
    return {run.graph.nodes[e.node_id].name: e for e in run.events if isinstance(e, ev.NodeReused)}


def test_second_identical_run_calls_nothing_and_saves_what_the_first_recorded():
    cache = DictCache()
    first, provider = cached_run(hybrid(), cache)
    assert [c.key for c in provider.calls] == ["a", "b", "c", "d"] and len(cache.entries) == 4
    second, provider2 = cached_run(hybrid(), cache)
    assert provider2.calls == []
    assert second.state.outputs == first.state.outputs and second.state.status == "succeeded"
    totals = second.state.totals()
    assert (totals.api_calls, totals.total_tokens, totals.cost_usd) == (0, 0, 0.0)
    saved = savings(second.state)
    one = first.state.totals()
    assert (saved.steps, saved.cached, saved.calls) == (4, 4, one.api_calls)
    assert (saved.input_tokens, saved.output_tokens) == (one.input_tokens, one.output_tokens)
    recorded_seconds = sum(s.duration for s in first.state.spans.values() if s.kind == "llm")
    assert saved.seconds == pytest.approx(recorded_seconds)
    assert all(e.source == "cache" and e.origin == first.run_id for e in reused(second).values())
    assert second.events[0].cache is True


def test_editing_one_prompt_calls_that_step_and_its_descendants_only():
    cache = DictCache()
    cached_run(hybrid(), cache)
    graph = hybrid()
    graph.resolve("c").params["prompt"] = "c, edited, after {{ a }}"
    run, provider = cached_run(graph, cache)
    assert sorted(c.key for c in provider.calls) == ["c", "d"]
    assert sorted(reused(run)) == ["a", "b"]


def test_pinned_step_is_never_called_and_feeds_its_dependents():
    graph = hybrid()
    graph.pins[graph.resolve("a").id] = Pin("PINNED TEXT", "run-earlier")
    run, provider = run_scripted(graph)
    assert "a" not in [c.key for c in provider.calls]
    assert provider.calls[[c.key for c in provider.calls].index("c")].prompt == "c after PINNED TEXT"
    event = reused(run)["a"]
    assert (event.source, event.origin, event.output) == ("pin", "run-earlier", "PINNED TEXT")
    assert savings(run.state).pinned == 1 and savings(run.state).steps == 0


def test_pins_of_removed_or_non_model_steps_are_ignored():
    graph = hybrid()
    graph.pins["node-gone"] = Pin("x")
    graph.pins[graph.resolve("out").id] = Pin("x")
    run, provider = run_scripted(graph)
    assert len(provider.calls) == 4 and not reused(run)


def test_from_calls_the_step_and_its_descendants_and_reuses_recorded_upstream():
    graph = hybrid()
    first, _ = run_scripted(graph)
    scope = select_scope(graph, "from", "c")
    assert {graph.nodes[n].name for n in scope.calls} == {"c", "d", "out"}
    assert {graph.nodes[n].name for n in scope.reuse} == {"topic", "a", "b"}
    recorded = {nid: StoredStep(first.state.spans[nid].output, run_id=first.run_id) for nid in scope.reuse}
    run, provider = run_scripted(graph, scope=scope.with_recorded(recorded))
    assert [c.key for c in provider.calls] == ["c", "d"]
    assert run.state.status == "succeeded" and run.state.outputs == first.state.outputs
    assert {name: (e.source, e.origin) for name, e in reused(run).items()} == {
        "a": ("run", first.run_id),
        "b": ("run", first.run_id),
    }
    assert run.events[0].scope == "from c" and run.events[0].not_run == ()


def test_only_runs_one_step_and_marks_the_rest_not_run():
    graph = hybrid()
    first, _ = run_scripted(graph)
    scope = select_scope(graph, "only", "c")
    recorded = {nid: StoredStep(first.state.spans[nid].output, run_id=first.run_id) for nid in scope.reuse}
    run, provider = run_scripted(graph, scope=scope.with_recorded(recorded))
    assert [c.key for c in provider.calls] == ["c"]
    statuses = {s.name: s.status for s in run.state.spans.values()}
    assert statuses == {
        "topic": StepStatus.SUCCEEDED,
        "a": StepStatus.SUCCEEDED,
        "b": StepStatus.NOT_RUN,
        "c": StepStatus.SUCCEEDED,
        "d": StepStatus.NOT_RUN,
        "out": StepStatus.NOT_RUN,
    }
    assert run.state.status == "succeeded"
    assert run.state.spans[graph.resolve("d").id].layer == 3  # its layer in the whole graph
    assert run.state.outputs == {"c": run.state.spans[graph.resolve("c").id].output}  # the sink of the part run


def test_to_runs_the_step_and_its_ancestors():
    graph = hybrid()
    run, provider = run_scripted(graph, scope=select_scope(graph, "to", "c"))
    assert [c.key for c in provider.calls] == ["a", "c"]
    assert {run.graph.nodes[n].name for n in run.events[0].not_run} == {"b", "d", "out"}


def test_a_reused_step_without_any_earlier_output_fails_with_the_way_out():
    graph = hybrid()
    run, provider = run_scripted(graph, scope=select_scope(graph, "from", "c"))
    assert provider.calls == []
    a = run.state.span_by_name("a")
    assert a.status == "failed" and "no earlier output of 'a' to reuse" in a.error and "pin" in a.error
    assert run.state.span_by_name("c").status == "skipped"
    assert run.state.status == "failed"


def test_a_partial_run_prefers_the_cache_to_recorded_outputs():
    cache = DictCache()
    first, _ = cached_run(hybrid(), cache)
    graph = hybrid()
    scope = select_scope(graph, "from", "d")
    stale = {nid: StoredStep("stale", run_id="run-old") for nid in scope.reuse}
    run, provider = cached_run(graph, cache, scope=scope.with_recorded(stale))
    assert [c.key for c in provider.calls] == ["d"]  # the step the user pointed at is called
    assert {e.source for e in reused(run).values()} == {"cache"}
    assert set(reused(run)) == {"a", "b", "c"}


def test_the_step_a_partial_run_points_at_is_called_despite_the_cache_and_the_rest_follow_it():
    cache = DictCache()
    cached_run(hybrid(), cache)
    graph = hybrid()
    run, provider = cached_run(graph, cache, scope=select_scope(graph, "from", "c"))
    # c is called again; the scripted model answers it as before, so d's request is unchanged: a cache hit
    assert [c.key for c in provider.calls] == ["c"]
    assert set(reused(run)) == {"a", "b", "d"}
    run, provider = cached_run(graph, cache, scope=select_scope(graph, "to", "c"))
    assert [c.key for c in provider.calls] == ["c"] and set(reused(run)) == {"a"}


def test_unknown_step_or_mode_is_refused():
    from chainstudio.core.run.context import RunError

    with pytest.raises(RunError, match="no step named 'zz'.*steps: a, b, c, d, out, topic"):
        select_scope(hybrid(), "from", "zz")
    with pytest.raises(RunError, match="unknown partial run"):
        select_scope(hybrid(), "around", "a")


def test_simulated_and_real_keys_differ_and_cover_what_determines_the_answer():
    request = ChatRequest("m", ({"role": "user", "content": "hi"},), 0.3, 100, seed_key="a")
    real = Endpoint("openai", "http://127.0.0.1:1/v1")
    sim0, sim1 = Endpoint("simulated", seed=0, simulated=True), Endpoint("simulated", seed=1, simulated=True)
    keys = {cache_key(e, request) for e in (real, sim0, sim1)}
    assert len(keys) == 3
    base = cache_key(real, request)
    for changed in (
        ChatRequest("m2", request.messages, 0.3, 100, seed_key="a"),
        ChatRequest("m", ({"role": "user", "content": "hi!"},), 0.3, 100, seed_key="a"),
        ChatRequest("m", ({"role": "system", "content": "hi"},), 0.3, 100, seed_key="a"),
        ChatRequest("m", request.messages, 0.4, 100, seed_key="a"),
        ChatRequest("m", request.messages, 0.3, 101, seed_key="a"),
    ):
        assert cache_key(real, changed) != base
    # a real server's answer does not depend on the step's name (or the timeout); the simulator's does
    assert cache_key(real, ChatRequest("m", request.messages, 0.3, 100, timeout=5, seed_key="b")) == base
    assert cache_key(sim0, ChatRequest("m", request.messages, 0.3, 100, seed_key="b")) != cache_key(sim0, request)


def test_endpoint_identity_drops_credentials():
    class Real:
        name, simulated, label, base_url = "openai", False, "x", "http://user:secret@host:8000/v1/"

    assert endpoint_of(Real()) == Endpoint("openai", "http://host:8000/v1")
    request = ChatRequest(model="m", messages=({"role": "user", "content": "q"},))
    Real.base_url = "http://host:8000/v1?api-version=1&api_key=k1"  # the query's values are masked in the URL
    first = endpoint_of(Real())
    Real.base_url = "http://host:8000/v1?api-version=2&api_key=k1"  # but answers may depend on them
    assert first.url == endpoint_of(Real()).url == "http://host:8000/v1?api-version=***&api_key=***"
    assert cache_key(first, request) != cache_key(endpoint_of(Real()), request)
    assert "k1" not in repr(first)


def test_a_simulated_entry_is_never_replayed_into_a_real_run():
    class AnswersEverything(DictCache):
        def get(self, key):
            return StoredStep("simulated text", simulated=True, run_id="run-sim")

    run, provider = run_scripted(chain("a"), context={"cache": CacheUse(AnswersEverything(), Endpoint("x"))})
    assert [c.key for c in provider.calls] == ["a"] and not reused(run)
    run, provider = run_scripted(chain("a"), context={"cache": CacheUse(AnswersEverything(), SCRIPTED)})
    assert provider.calls == [] and reused(run)["a"].simulated


def test_reuse_events_and_scope_round_trip_through_the_codec():
    cache = DictCache()
    cached_run(hybrid(), cache)
    graph = hybrid()
    run, _ = cached_run(graph, cache, scope=select_scope(graph, "only", "c"))
    decoded = event_codec.loads(event_codec.dumps(run.events))
    assert decoded == run.events
    state = RunState.from_events(decoded)
    assert state.spans[graph.resolve("d").id].status == "not_run"
    assert savings(state) == savings(run.state)


def test_a_step_rendered_off_the_loop_is_remembered_and_replayed(monkeypatch):
    from chainstudio.core.graph.templating import TemplateTooSlow
    from chainstudio.core.run.inputs import StepInputs

    real = StepInputs.prepare_call
    off_loop = []

    def slow_on_the_loop(self, node, **kwargs):  # c's prompt is "too slow" within the loop's budget only
        if node.name == "c" and kwargs.get("cpu_seconds") is not None:
            raise TemplateTooSlow("slow")
        if node.name == "c":
            off_loop.append(node.name)
        return real(self, node, **kwargs)

    monkeypatch.setattr(StepInputs, "prepare_call", slow_on_the_loop)
    cache = DictCache()
    first, provider = cached_run(hybrid(), cache)
    assert off_loop == ["c"] and "c" in [c.key for c in provider.calls] and len(cache.entries) == 4
    again, provider = cached_run(hybrid(), cache)
    assert off_loop == ["c", "c"] and provider.calls == []
    c = again.state.span_by_name("c")
    assert c.reused.source == "cache" and c.output == first.state.span_by_name("c").output
    assert again.state.span_by_name("d").status == "succeeded"
