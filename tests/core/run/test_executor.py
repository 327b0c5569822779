"""Executor semantics on virtual time: order, strategies, the cap, priority, retries, timeouts, isolation."""

import pytest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.providers.base import ProviderError
from chainstudio.core.providers.scripted import ScriptedProvider
from chainstudio.core.run import events as ev
from chainstudio.core.run.executor import Run, RunContext, RunError
from tests.core.helpers import chain, fan_out
from tests.support.engine import ends, run_scripted, starts


def diamond() -> Graph:
    """topic -> fast (1 s) -> after_fast (1 s) -> out; topic -> slow (3 s) -> out."""
    g = Graph("diamond", inputs=[GraphInput("topic", "quantum")])
    g.add("input", "topic", input="topic")
    g.add("llm", "fast", prompt="fast {{ topic }}")
    g.add("llm", "slow", prompt="slow {{ topic }}")
    g.add("llm", "after_fast", prompt="then {{ fast }}")
    g.add("output", "out", template="{{ after_fast }} | {{ slow }}")
    for a, b in (("topic", "fast"), ("topic", "slow"), ("fast", "after_fast"), ("after_fast", "out"), ("slow", "out")):
        g.connect(a, b)
    return g


LATENCY = {"fast": 1.0, "slow": 3.0, "after_fast": 1.0}


def kinds(run: Run, node_name: str) -> list[str]:
    nid = run.graph.node_by_name(node_name).id
    return [type(e).__name__ for e in run.events if getattr(e, "node_id", None) == nid]


def test_chain_runs_in_dependency_order_and_passes_outputs():
    run, provider = run_scripted(chain("a", "b", "c"))
    assert [c.key for c in provider.calls] == ["a", "b", "c"]
    s, e = starts(run), ends(run)
    assert s["b"] == e["a"] and s["c"] == e["b"]
    assert provider.calls[1].prompt == "b about a says: a about t"  # b's prompt holds a's output
    assert run.state.status == "succeeded"
    assert isinstance(run.events[0], ev.RunStarted) and isinstance(run.events[-1], ev.RunFinished)
    assert kinds(run, "b") == ["NodeQueued", "NodeStarted", "NodeFirstToken", "NodeOutputDelta", "NodeFinished"]
    assert run.state.outputs == {"out": "c says: c about b says: b about a says: a about t"}


def test_eager_starts_a_step_the_moment_its_inputs_finish():
    run, _ = run_scripted(diamond(), latency=LATENCY)
    s = starts(run)
    assert s["fast"] == s["slow"] == 0.0
    assert s["after_fast"] == pytest.approx(1.0, abs=1e-9)  # not waiting for `slow`
    assert run.state.totals().wall == pytest.approx(3.0)


def test_layered_waits_for_the_whole_layer():
    run, _ = run_scripted(diamond(), latency=LATENCY, strategy="layered")
    s = starts(run)
    assert s["after_fast"] == pytest.approx(3.0)  # layer 2 starts only when `slow` (layer 1) is done
    assert run.state.totals().wall == pytest.approx(4.0)


def test_sequential_runs_one_step_at_a_time_in_topological_order():
    run, provider = run_scripted(diamond(), latency=LATENCY, strategy="sequential")
    assert provider.max_in_flight == 1
    assert [c.key for c in provider.calls] == ["fast", "slow", "after_fast"]
    calls = provider.calls
    assert all(later.start >= earlier.end for earlier, later in zip(calls, calls[1:], strict=False))
    assert run.state.totals().wall == pytest.approx(5.0)


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_the_concurrency_cap_is_never_exceeded_and_waiting_is_recorded(cap):
    run, provider = run_scripted(
        fan_out(8), latency={f"b{i}": 1.0 + i / 10 for i in range(8)}, context={"concurrency": cap}
    )
    assert provider.max_in_flight == cap
    # From the events alone: never more than `cap` attempts running at once.
    running, peak = 0, 0
    for e in run.events:
        if isinstance(e, ev.NodeStarted):
            running += 1
        elif isinstance(e, (ev.NodeFinished, ev.NodeFailed)) and run.state.spans[e.node_id].kind == "llm":
            running -= 1
        peak = max(peak, running)
    assert peak == cap
    waited = [s for s in run.state.spans.values() if s.waiting_at is not None]
    assert len(waited) == 8 - cap
    assert all(s.wait_time > 0 and s.queued_at == 0.0 + run.state.start_time for s in waited)
    assert all(
        isinstance(e, ev.NodeWaiting) and e.reason == "slot" for e in run.events if isinstance(e, ev.NodeWaiting)
    )


def test_critical_path_priority_beats_first_come_when_slots_are_scarce():
    def graph():
        g = Graph("prio", inputs=[GraphInput("topic", "t")])
        g.add("input", "topic", input="topic")
        for name in ("short1", "short2", "long_head"):  # document order puts the long chain last
            g.add("llm", name, prompt=f"{name} {{{{ topic }}}}")
            g.connect("topic", name)
        g.add("llm", "long_tail", prompt="{{ long_head }}")
        g.connect("long_head", "long_tail")
        return g

    latency = {"short1": 1.0, "short2": 1.0, "long_head": 1.0, "long_tail": 5.0}
    prio, prio_provider = run_scripted(graph(), latency=latency, context={"concurrency": 1})
    fifo, fifo_provider = run_scripted(graph(), latency=latency, context={"concurrency": 1, "priority": "fifo"})
    assert prio_provider.calls[0].key == "long_head"
    assert fifo_provider.calls[0].key == "short1"
    assert prio.state.totals().wall == pytest.approx(8.0)  # long chain first, shorts fill in behind
    assert fifo.state.totals().wall == pytest.approx(8.0) or fifo.state.totals().wall >= 8.0
    # With two slots the difference shows: the long chain must not queue behind the short steps.
    prio2, _ = run_scripted(graph(), latency=latency, context={"concurrency": 2})
    fifo2, _ = run_scripted(graph(), latency=latency, context={"concurrency": 2, "priority": "fifo"})
    assert prio2.state.totals().wall == pytest.approx(6.0)
    assert fifo2.state.totals().wall == pytest.approx(7.0)


def branches() -> Graph:
    """Two independent branches, each with its own output: topic -> a -> out_a; topic -> b -> b2 -> out_b."""
    g = Graph("branches", inputs=[GraphInput("topic", "t")])
    g.add("input", "topic", input="topic")
    g.add("llm", "a", prompt="{{ topic }}", retries=0)
    g.add("llm", "a2", prompt="{{ a }}")
    g.add("output", "out_a")
    g.add("llm", "b", prompt="{{ topic }}")
    g.add("output", "out_b")
    for x, y in (("topic", "a"), ("a", "a2"), ("a2", "out_a"), ("topic", "b"), ("b", "out_b")):
        g.connect(x, y)
    return g


def test_a_failed_step_skips_its_descendants_and_independent_branches_go_on():
    err = ProviderError("Incorrect API key provided.", kind="http", status=401)
    run, provider = run_scripted(branches(), script={"a": [err]})
    spans = {s.name: s for s in run.state.spans.values()}
    assert spans["a"].status == "failed" and "Incorrect API key provided." in spans["a"].error
    assert spans["a"].api_calls == 1  # 401 is not retried
    assert spans["a2"].status == spans["out_a"].status == "skipped"
    assert spans["a2"].skip_reason == spans["out_a"].skip_reason == "upstream step 'a' failed"
    assert spans["b"].status == spans["out_b"].status == "succeeded"
    assert run.state.status == "partial" and set(run.state.outputs) == {"out_b"}
    assert "a2" not in [c.key for c in provider.calls]


def test_a_run_whose_every_output_is_lost_fails():
    run, _ = run_scripted(chain("a", "b"), script={"a": [ProviderError("bad request", kind="http", status=400)]})
    assert run.state.status == "failed"
    assert run.state.outputs == {}


def test_retries_honour_retry_after_and_record_every_attempt_and_wait():
    script = {
        "a": [
            ProviderError("slow down", kind="http", status=429, retry_after=2.5),
            ProviderError("oops", kind="http", status=500, retry_after=0.25),
            None,
        ]
    }
    run, provider = run_scripted(chain("a"), script=script, latency={"a": 1.0})
    span = run.state.span_by_name("a")
    assert span.status == "succeeded" and span.api_calls == 3
    assert [a.number for a in span.attempts] == [1, 2, 3]
    retries = [e for e in run.events if isinstance(e, ev.NodeRetrying)]
    assert [(r.attempt, r.delay, r.status) for r in retries] == [(1, 2.5, 429), (2, 0.25, 500)]
    calls = provider.calls
    assert calls[1].start - calls[0].end == pytest.approx(2.5)
    assert calls[2].start - calls[1].end == pytest.approx(0.25)
    assert [b.end - b.start for b in span.backoffs] == [pytest.approx(2.5), pytest.approx(0.25)]


def test_backoff_is_exponential_with_full_jitter_and_gives_up_after_the_retries():
    boom = ProviderError("unavailable", kind="http", status=503)
    g = chain("a")
    g.node_by_name("a").params["retries"] = 4
    run, provider = run_scripted(g, script={"a": [boom] * 5}, context={"backoff_base": 1.0, "seed": 7})
    delays = [e.delay for e in run.events if isinstance(e, ev.NodeRetrying)]
    assert len(delays) == 4 and len(provider.calls) == 5
    assert all(0 <= d <= 2**i for i, d in enumerate(delays))
    failed = next(e for e in run.events if isinstance(e, ev.NodeFailed))
    assert failed.attempts == 5 and "gave up after 5 attempts" in failed.error and failed.status == 503
    again, _ = run_scripted(g, script={"a": [boom] * 5}, context={"backoff_base": 1.0, "seed": 7})
    assert [e.delay for e in again.events if isinstance(e, ev.NodeRetrying)] == delays  # seeded jitter


def test_non_retryable_errors_fail_at_once():
    for status in (400, 401, 403, 404):
        run, provider = run_scripted(
            chain("a"), script={"a": [ProviderError(f"no {status}", kind="http", status=status)]}
        )
        assert len(provider.calls) == 1
        assert run.state.span_by_name("a").error == f"HTTP {status}: no {status}"


def test_a_retry_after_beyond_the_limit_fails_instead_of_waiting():
    run, provider = run_scripted(
        chain("a"), script={"a": [ProviderError("later", kind="http", status=429, retry_after=600)]}
    )
    assert len(provider.calls) == 1
    assert "over the 120 s limit" in run.state.span_by_name("a").error


def test_per_attempt_timeout_then_retry():
    g = chain("a")
    g.node_by_name("a").params.update(timeout=2.0, retries=1)
    run, provider = run_scripted(g, script={"a": ["hang"]}, latency={"a": 0.5}, context={"backoff_base": 0.0})
    span = run.state.span_by_name("a")
    assert span.status == "succeeded" and span.api_calls == 2
    assert provider.calls[0].outcome == "cancelled"
    assert provider.calls[0].end - provider.calls[0].start == pytest.approx(2.0)
    assert "no first token within 2 s" in span.attempts[0].error


def test_timeout_without_retries_fails_the_step():
    g = chain("a")
    g.node_by_name("a").params.update(timeout=1.5, retries=0)
    run, _ = run_scripted(g, script={"a": ["hang"]})
    span = run.state.span_by_name("a")
    assert span.status == "failed" and "1.5 s" in span.error
    assert run.state.rel(span.ended_at) == pytest.approx(1.5)


def test_a_template_error_fails_the_step_naming_it_and_the_missing_name():
    g = chain("a", "b")
    g.node_by_name("b").params["prompt"] = "use {{ a }} and {{ hardware }}"
    run, provider = run_scripted(g)
    span = run.state.span_by_name("b")
    assert span.status == "failed" and span.api_calls == 0
    assert "'b'" in span.error and "hardware" in span.error
    assert [c.key for c in provider.calls] == ["a"]
    assert run.state.span_by_name("out").skip_reason == "upstream step 'b' failed"


def test_a_template_cannot_read_a_step_that_is_not_upstream():
    g = fan_out(2)
    g.node_by_name("b1").params["prompt"] = "peek at {{ b0 }}"  # a sibling, not an ancestor
    run, _ = run_scripted(g, latency={"b0": 0.1, "b1": 1.0})
    assert run.state.span_by_name("b1").status == "failed"
    assert "b0" in run.state.span_by_name("b1").error


def test_inputs_overrides_join_and_output_templates():
    g = fan_out(2)
    g.node_by_name("merged").params["template"] = "{{ b0 }} + {{ b1 }} on {{ inputs.topic }}"
    run, provider = run_scripted(g, inputs={"topic": "qubits"})
    assert provider.calls[0].prompt == "branch 0 on qubits"
    assert run.state.outputs["out"] == "b0 says: branch 0 on qubits + b1 says: branch 1 on qubits on qubits"
    with pytest.raises(RunError, match="nope"):
        Run(g, RunContext(provider=ScriptedProvider()), inputs={"nope": "x"})


def test_an_input_without_a_value_fails_its_step():
    g = chain("a")
    g.inputs[0].default = None
    run, _ = run_scripted(g)
    assert "has no value" in run.state.span_by_name("topic").error
    assert run.state.status == "failed"


def test_model_override_and_run_started_describe_the_run():
    run, _ = run_scripted(fan_out(2), model="my-model", context={"concurrency": 2})
    started = run.events[0]
    assert isinstance(started, ev.RunStarted)
    assert {n.model for n in started.nodes if n.kind == "llm"} == {"my-model"}
    assert started.concurrency == 2 and started.simulated and started.provider_label.startswith("Scripted")
    assert len(started.edges) == len(run.graph.edges)


def test_rate_limit_waits_are_recorded_apart_from_slots():
    from chainstudio.core.run.rate_limits import RateLimits

    run, provider = run_scripted(
        fan_out(3), latency={f"b{i}": 0.1 for i in range(3)}, context={"rate_limits": RateLimits(requests_per_minute=2)}
    )
    third = sorted(provider.calls, key=lambda c: c.start)[2]
    assert third.start == pytest.approx(60.1)  # two at once, then the third once the first left the window
    waits = [e for e in run.events if isinstance(e, ev.NodeWaiting)]
    assert [w.reason for w in waits] == ["rate_limit"]


def test_a_broken_listener_does_not_break_the_run():
    def broken(event):
        raise RuntimeError("listener bug")

    run, _ = run_scripted(chain("a"), listeners=[broken])
    assert run.state.status == "succeeded"


def test_a_cycle_or_bad_strategy_is_refused_before_running():
    g = chain("a", "b")
    g.connect("b", "a")
    with pytest.raises(RunError, match="cycle"):
        Run(g, RunContext(provider=ScriptedProvider()))
    with pytest.raises(RunError, match="strategy"):
        Run(chain("a"), RunContext(provider=ScriptedProvider()), strategy="random")  # type: ignore[arg-type]


def test_the_run_executes_a_snapshot_and_only_once():
    g = chain("a")
    run = Run(g, RunContext(provider=ScriptedProvider()))
    g.node_by_name("a").params["prompt"] = "changed after the run was created"
    assert run.graph.node_by_name("a").params["prompt"] != g.node_by_name("a").params["prompt"]
