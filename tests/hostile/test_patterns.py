"""Regular expressions from a file or a flag, against a hostile answer: a step's ``check_regex``, the patterns of
its output schema and ``batch --check regex:`` that backtrack catastrophically (``(a|aa)+$`` on "aaaa….")
fail that check in one line within their time limit, matched off the event loop; before, ``re`` ran for
hours holding Python's lock (a run hung: neither Stop nor the step's timeout could act)."""

from __future__ import annotations

import json
import threading

import pytest
from regex import error as regex_error

from chainstudio.core import patterns
from chainstudio.core.batch.checks import parse_check
from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.graph.validation import validate
from chainstudio.core.run.executor import Run
from chainstudio.core.run.structured import parse_answer
from chainstudio.core.storage.fileformat import save
from tests.hostile.helpers import assert_clean, cli
from tests.support.engine import run_over_http
from tests.support.fake_openai_server import FakeOpenAIServer

BACKTRACKS = r"(a|aa)+$"
HOSTILE = "a" * 60 + "."  # the fake server's [[answer=…]] takes word characters and dots


@pytest.fixture
def matched_on(monkeypatch):
    """The thread of every ``patterns.search``."""
    seen: list[int] = []
    real = patterns.search

    def recording(pattern: str, text: str) -> bool:
        seen.append(threading.get_ident())
        return real(pattern, text)

    monkeypatch.setattr(patterns, "search", recording)
    return seen


def run_checked(**fields: object) -> tuple[Run, int]:
    """One checked step against a server that answers the hostile text, beside a plain step; and the thread
    of the event loop."""
    graph = Graph("patterns")
    graph.add("llm", "checked", prompt="q", repairs=0, timeout=30.0, **fields)
    graph.add("llm", "plain", prompt="a plain question", retries=0)
    answer = json.dumps({"x": HOSTILE}) if "output_schema" in fields else HOSTILE
    with FakeOpenAIServer(chunk_delay=0, answers=[answer]) as server:
        run = run_over_http(server.url, graph)  # its event loop runs in this thread
    return run, threading.get_ident()


def test_a_check_regex_that_backtracks_fails_its_step_in_one_line_off_the_loop(matched_on):
    run, loop = run_checked(check_regex=BACKTRACKS)
    span = run.state.span_by_name("checked")
    assert span.status == "failed" and "took over 1 s on the answer" in (span.error or ""), span.error
    assert run.state.span_by_name("plain").status == "succeeded"
    assert matched_on and loop not in matched_on, "a user's pattern was matched on the event loop"


def test_a_schema_pattern_that_backtracks_fails_its_step_in_one_line(matched_on):
    schema = {"type": "object", "properties": {"x": {"type": "string", "pattern": BACKTRACKS}}}
    run, loop = run_checked(output_schema=json.dumps(schema))
    span = run.state.span_by_name("checked")
    assert span.status == "failed" and "took over 1 s on the answer" in (span.error or ""), span.error
    assert matched_on and loop not in matched_on


@pytest.mark.parametrize(
    "schema",
    [
        {"properties": {"x": {"pattern": BACKTRACKS}}},
        {"patternProperties": {BACKTRACKS: {"type": "string"}}},
        {"patternProperties": {BACKTRACKS: {}}, "additionalProperties": False},
        {"patternProperties": {BACKTRACKS: {}}, "unevaluatedProperties": False},
        {"propertyNames": {"pattern": BACKTRACKS}},
        {"items": {"pattern": BACKTRACKS}},
    ],
    ids=["pattern", "patternProperties", "additionalProperties", "unevaluatedProperties", "propertyNames", "items"],
)
def test_every_schema_keyword_that_matches_a_pattern_is_time_limited(schema):
    answer = json.dumps([HOSTILE] if "items" in schema else {"x": HOSTILE, HOSTILE: 1})
    value, complaint = parse_answer(answer, schema)
    assert value is None and complaint is not None and "took over 1 s" in complaint, complaint


def test_one_limit_covers_all_the_patterns_of_one_answer():
    """Ten slow patterns in one schema take the limit once, not ten times: after the first, the rest find the
    shared time used up (the failure names the first)."""
    slow = [f"(a|aa)+{'$' * (i + 1)}" for i in range(10)]
    schema = {"properties": {"x": {"allOf": [{"pattern": p} for p in slow]}}}
    tried: list[str] = []
    real = patterns.search

    def counting(pattern: str, text: str) -> bool:
        tried.append(pattern)
        return real(pattern, text)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(patterns, "search", counting)
        _, complaint = parse_answer(json.dumps({"x": HOSTILE}), schema)
    assert complaint is not None and "took over 1 s" in complaint
    assert len(tried) == 1, tried  # the complaint came from the first; the shared limit stopped the rest


def test_ordinary_patterns_still_match_as_re_does():
    assert patterns.search(r"(?is)^\s*select\b.*;\s*$", "  SELECT 1;\n")
    assert not patterns.search(r"^\d{4}$", "20261")
    assert patterns.search(r"(?P<y>\d{4})-(?P=y)", "2026-2026")
    assert patterns.problem("(") is not None and patterns.problem(r"\d+") is None
    graph = Graph("g")
    graph.add("llm", "ask", prompt="q", check_regex="(")
    assert any("not a regular expression" in p.message for p in validate(graph) if p.severity == "error")


def test_batch_check_regex_that_backtracks_scores_zero_with_the_reason(tmp_path):
    assert parse_check(f"regex:{BACKTRACKS}", None, []).score(HOSTILE, {})[1].startswith("the pattern")
    dataset = tmp_path / "rows.jsonl"
    dataset.write_text("".join(json.dumps({"topic": f"t{i} [[answer={HOSTILE}]]"}) + "\n" for i in range(2)))
    graph = Graph("echo", inputs=[GraphInput("topic", "")])
    graph.add("llm", "ask", prompt="{{ inputs.topic }}", retries=0)
    save(graph, tmp_path / "echo.chain.json")
    out = tmp_path / "out.jsonl"
    with FakeOpenAIServer(chunk_delay=0) as server:
        result = cli(
            "batch", str(tmp_path / "echo.chain.json"), "--dataset", str(dataset), "--out", str(out),
            "--check", f"regex:{BACKTRACKS}", "--provider", "openai", "--base-url", server.url, "--no-history",
            env={"OPENAI_API_KEY": "sk-test"}, timeout=120,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert_clean(result)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and all("took over 1 s" in json.dumps(row) for row in rows), rows


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        ("(?:(?:a{1000}){1000}){1000}", "counted repeats expand to over 200,000"),  # regex would compile for minutes
        ("a" * 2_000_000, "2,000,000 characters, over the limit of 10,000"),  # 24 s and 466 MB to compile
        ("(a)?(?(1)(?:(?:b{1000}){1000}){10}|c)", "counted repeats expand"),  # hidden in a conditional
        ("(" * 3000 + ")" * 3000, "not a regular expression"),
        (r"\p{L}+", "not a regular expression: bad escape"),  # Python (re) syntax, as documented
    ],
    ids=["nested-repeats", "huge", "conditional", "deep", "not-python-syntax"],
)
def test_a_pattern_too_costly_to_compile_is_refused_when_the_graph_is_checked(pattern, said):
    graph = Graph("g")
    graph.add("llm", "ask", prompt="q", check_regex=pattern)
    schema = {"type": "object", "properties": {"x": {"type": "string", "pattern": pattern}}}
    graph.add("llm", "structured", prompt="q", output_schema=json.dumps(schema))
    errors = [p for p in validate(graph) if p.severity == "error"]
    assert {p.location for p in errors} == {"ask.check_regex", "structured.output_schema"}, errors
    assert said in errors[0].message if errors[0].location == "ask.check_regex" else said in errors[1].message
    assert all("\n" not in p.message for p in errors), errors  # the schema's may be refused by its own rules first
    with pytest.raises(regex_error):
        patterns.search(pattern, "text")


def test_a_time_box_inside_another_keeps_the_sooner_limit():
    """A step's check boxes its schema's patterns and its check_regex together; the schema check's own box
    inside it must not start a fresh second."""
    with patterns.time_box(0.0), patterns.time_box(), pytest.raises(patterns.PatternTooSlow):
        patterns.search("a", "a")
    with patterns.time_box():
        assert patterns.search("a", "a")
