"""Structured output and checked steps over real HTTP (the fake server on 127.0.0.1): a schema violation is
repaired with the complaint shown to the model, tokens of every attempt count, a server that refuses
``response_format`` is asked again without it, and templates downstream read the parsed fields."""

import asyncio
import json

from chainstudio.core.gantt.segments import node_segments
from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.providers.simulated import SimulatedProvider
from chainstudio.core.run import events as ev
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.state import RunState
from chainstudio.core.storage import event_codec
from tests.support.engine import run_over_http
from tests.support.fake_openai_server import CutOff, FakeOpenAIServer, Mode

SCHEMA = json.dumps(
    {
        "type": "object",
        "properties": {"intent": {"type": "string", "enum": ["refund", "question"]}, "confidence": {"type": "number"}},
        "required": ["intent", "confidence"],
        "additionalProperties": False,
    }
)


def classify_graph(**params) -> Graph:
    g = Graph("classify", inputs=[GraphInput("message", "I want my money back")])
    g.add("input", "message", input="message")
    g.add("llm", "classify", prompt="Classify: {{ inputs.message }}", output_schema=SCHEMA, max_tokens=60, **params)
    g.add("join", "route", template="intent={{ classify.intent }} conf={{ classify.confidence }}")
    g.add("output", "result", template="{{ route }}")
    g.connect("message", "classify")
    g.connect("classify", "route")
    g.connect("route", "result")
    return g


def run_on(url: str, graph: Graph, **context: object) -> Run:
    """A real run of ``graph`` against the server at ``url`` (``context``: more ``RunContext`` fields)."""
    return run_over_http(url, graph, backoff_base=0.01, **context)


def test_a_schema_violation_is_repaired_on_the_second_attempt_and_both_attempts_count():
    answers = ['{"intent": "refnd"}', '{"intent": "refund", "confidence": 0.9}']
    with FakeOpenAIServer(answers=answers) as server:
        run = run_on(server.url, classify_graph(repairs=2))
        stats, log = server.stats, server.stats.log
    span = run.state.span_by_name("classify")
    assert span.status == "succeeded"
    assert run.state.outputs["result"] == "intent=refund conf=0.9"
    assert [a.number for a in span.attempts] == [1, 2]
    assert span.attempts[0].rejected is not None and "confidence" in span.attempts[0].rejected
    assert span.api_calls == 2
    # tokens of both attempts: exactly what the server reported for the two requests
    assert span.input_tokens == stats.prompt_tokens and span.output_tokens == stats.completion_tokens
    assert len(log) == 2 and log[0]["prompt_tokens"] < log[1]["prompt_tokens"]
    # the repair request carries the rejected answer and the complaint
    repair = log[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": answers[0]}
    assert "rejected" in repair[-1]["content"] and "confidence" in repair[-1]["content"]
    assert log[0]["response_format"]["type"] == "json_schema"
    checks = [e for e in run.events if isinstance(e, ev.NodeChecked)]
    assert [(c.attempt, c.passed, c.kind) for c in checks] == [(1, False, "schema"), (2, True, "schema")]
    kinds = [s.kind for s in node_segments(run.state, span)]
    assert "rejected" in kinds and "generation" in kinds


def test_the_step_fails_with_the_complaint_when_no_repair_is_left():
    with FakeOpenAIServer(answers=["not json", "still not json"]) as server:
        run = run_on(server.url, classify_graph(repairs=1))
    span = run.state.span_by_name("classify")
    assert span.status == "failed"
    assert "failed its schema check after 1 repair" in (span.error or "")
    assert "cut off" not in (span.error or "")  # the server finished its answers: nothing was cut off
    assert span.api_calls == 2
    assert run.state.span_by_name("route").status == "skipped"


def test_an_answer_cut_off_at_max_tokens_says_so_and_its_repair_asks_for_a_shorter_answer():
    answers = [CutOff('{"intent": "refund", "confid'), '{"intent": "refund", "confidence": 0.9}']
    with FakeOpenAIServer(answers=answers) as server:
        run = run_on(server.url, classify_graph(repairs=1))
        log = server.stats.log
    span = run.state.span_by_name("classify")
    assert span.status == "succeeded" and run.state.outputs["result"] == "intent=refund conf=0.9"
    first = span.checks[0]
    assert not first.passed and first.reason.startswith("the answer was cut off at max_tokens (60) before its JSON")
    assert "not valid JSON" in first.reason  # the parser's complaint is kept after the plain words
    repair = log[1]["messages"][-1]["content"]
    assert "cut off at max_tokens (60)" in repair and "shorter answer" in repair


def test_a_step_whose_answers_are_all_cut_off_fails_saying_so():
    answers = [CutOff('{"intent": "refund", "conf'), CutOff('{"intent": "ref')]
    with FakeOpenAIServer(answers=answers) as server:
        run = run_on(server.url, classify_graph(repairs=1))
    error = run.state.span_by_name("classify").error or ""
    assert error.startswith("the answer failed its schema check after 1 repair: the answer was cut off at max_tokens")
    assert "(60) before its JSON was complete: raise Max tokens" in error


def judged_graph(judge: str = "Is this polite? {{ answer }}", **params) -> Graph:
    g = Graph("judged", inputs=[GraphInput("q", "x")])
    g.add("input", "q", input="q")
    g.add("llm", "draft", prompt="Write about {{ inputs.q }}", check_judge=judge, repairs=1, **params)
    g.add("output", "out", template="{{ draft }}")
    g.connect("q", "draft")
    g.connect("draft", "out")
    return g


def test_a_judge_verdict_cut_off_after_its_pass_is_read_not_fatal():
    cut_fail = CutOff('{\n  "pass": false,\n  "reason": "The data is not valid. Please check')
    answers = ["rude draft", cut_fail, "kind draft", CutOff('{"pass": true, "reason": "po')]
    with FakeOpenAIServer(answers=answers) as server:
        run = run_on(server.url, judged_graph())
        log = server.stats.log
    span = run.state.span_by_name("draft")
    assert span.status == "succeeded" and run.state.outputs["out"] == "kind draft"
    (fail, passed) = span.checks
    assert not fail.passed and fail.reason.startswith("The data is not valid. Please check…")
    assert fail.reason.endswith("(the judge's reason was cut off at max_tokens (200))")
    assert passed.passed and passed.reason.startswith("po…")
    assert "The data is not valid" in log[2]["messages"][-1]["content"]  # the repair got the judge's reason


def test_an_unreadable_judge_verdict_cut_off_says_it_was_cut_off():
    with FakeOpenAIServer(answers=["a draft", CutOff('{\n  "pa')]) as server:
        run = run_on(server.url, judged_graph())
    error = run.state.span_by_name("draft").error or ""
    assert "the judge's answer was cut off at max_tokens (200) before it gave a verdict" in error
    assert run.state.span_by_name("draft").api_calls == 2  # fatal: no repair of an answer the judge never judged


def test_a_server_that_refuses_response_format_is_asked_without_it_and_remembered():
    with FakeOpenAIServer(mode=Mode(response_format="none")) as server:
        graph = classify_graph(repairs=3)
        server.answers = ['{"intent": "question", "confidence": 0.4}']
        run = run_on(server.url, graph)
        formats = [e["response_format"] for e in server.stats.log]
        statuses = [e["status"] for e in server.stats.log]
    assert run.state.span_by_name("classify").status == "succeeded"
    # json_schema refused, JSON mode refused, then no response format (the schema is in the system message)
    assert [f["type"] if f else None for f in formats] == ["json_schema", "json_object", None]
    assert statuses == [400, 400, 200]
    assert "follows this JSON schema" in run.state.span_by_name("classify").system


def test_regex_check_repairs_and_records_in_history_codec():
    g = Graph("sql", inputs=[GraphInput("q", "count users")])
    g.add("input", "q", input="q")
    g.add("llm", "sql", prompt="SQL for {{ inputs.q }}", check_regex=r"(?is)^\s*select\b.*;\s*$", repairs=2)
    g.add("output", "out", template="{{ sql }}")
    g.connect("q", "sql")
    g.connect("sql", "out")
    with FakeOpenAIServer(answers=["Sure! Here it is: SELECT count(*) FROM users", "SELECT count(*) FROM users;"]) as s:
        run = run_on(s.url, g)
    assert run.state.outputs["out"] == "SELECT count(*) FROM users;"
    replayed = RunState.from_events(event_codec.loads(event_codec.dumps(run.events)))
    span = replayed.span_by_name("sql")
    assert [m.passed for m in span.checks] == [False, True] and span.checks[0].kind == "regex"


def test_a_judge_check_is_a_model_call_of_the_step():
    g = judged_graph()
    answers = ["rude draft", '{"pass": false, "reason": "it is rude"}', "kind draft", '{"pass": true, "reason": "ok"}']
    with FakeOpenAIServer(answers=answers) as server:
        run = run_on(server.url, g)
        stats = server.stats
    span = run.state.span_by_name("draft")
    assert run.state.outputs["out"] == "kind draft"
    assert [(m.passed, m.reason) for m in span.checks] == [(False, "it is rude"), (True, "ok")]
    assert span.input_tokens == stats.prompt_tokens and span.output_tokens == stats.completion_tokens
    assert stats.log[1]["response_format"]["json_schema"]["name"] == "verdict"
    assert "rude draft" in stats.log[1]["messages"][-1]["content"]


def test_the_simulator_answers_a_schema_with_valid_json_that_templates_read():
    g = classify_graph()
    run = asyncio.run(_simulated(g))
    out = run.state.outputs["result"]
    assert out.startswith("intent=") and out.split()[0].split("=")[1] in ("refund", "question")
    assert run.state.span_by_name("classify").api_calls == 1


async def _simulated(graph: Graph) -> Run:
    run = Run(graph, RunContext(provider=SimulatedProvider(seed=3)))
    await run.execute()
    return run


def test_stored_events_of_an_unknown_kind_are_left_out_when_read():
    text = event_codec.dumps([ev.NodeQueued("r", 1.0, "n")]) + '\n{"type": "NodeFromTheFuture", "run_id": "r", "t": 2}'
    assert event_codec.loads(text) == [ev.NodeQueued("r", 1.0, "n")]


def test_a_judge_call_that_fails_once_is_retried_like_the_steps_own_calls():
    # found on llama-server: one dropped judge request failed the whole step at once
    graph = judged_graph("[[fail=500*1]] Is this polite? {{ answer }}")
    with FakeOpenAIServer(answers=["kind draft", '{"pass": true, "reason": "ok"}']) as server:
        run = run_on(server.url, graph)
        statuses = [e["status"] for e in server.stats.log]
    span = run.state.span_by_name("draft")
    assert span.status == "succeeded" and run.state.outputs["out"] == "kind draft"
    assert statuses == [200, 500, 200]
    assert [(m.passed, m.reason) for m in span.checks] == [(True, "ok")]


def test_a_judge_that_never_answers_fails_the_step_at_its_timeout_instead_of_hanging():
    graph = judged_graph("[[hang]] Is this polite? {{ answer }}", timeout=0.5, retries=0)
    with FakeOpenAIServer(answers=["kind draft"]) as server:
        run = run_on(server.url, graph)
    span = run.state.span_by_name("draft")
    assert span.status == "failed"
    assert "the judge call failed" in (span.error or "") and "timeout (0.5 s)" in (span.error or "")
