"""Datasets (CSV, JSONL, column mapping), the deterministic checks, the judge's answer, intervals and the
Pareto front."""

from __future__ import annotations

import json
import math

import pytest

from chainstudio.core.batch.checks import parse_check
from chainstudio.core.batch.dataset import DatasetError, column_mapping, load_dataset, parse_mapping
from chainstudio.core.batch.judge import read_verdict
from chainstudio.core.batch.overlap import jaccard, sibling_groups, sibling_overlap
from chainstudio.core.batch.results import Config, RowResult
from chainstudio.core.batch.stats import bootstrap_mean, percentile, wilson
from chainstudio.core.batch.tradeoff import summarize
from chainstudio.core.storage.fileformat import load
from tests.conftest import EXAMPLES


def test_csv_and_jsonl_rows_and_one_line_errors(tmp_path):
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text('question,expected\n"a, with comma",yes\nb,no\n')
    data = load_dataset(csv_file)
    assert data.columns == ["question", "expected"] and data.rows[0] == {"question": "a, with comma", "expected": "yes"}
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text('{"q": "x", "n": 3, "tags": ["a"]}\n\n{"q": "y"}\n')
    data = load_dataset(jsonl)
    assert data.rows == [{"q": "x", "n": "3", "tags": '["a"]'}, {"q": "y"}] and data.columns == ["q", "n", "tags"]
    (tmp_path / "bad.jsonl").write_text('{"q": 1}\n[1, 2]\n')
    with pytest.raises(DatasetError, match=r"bad.jsonl: line 2: a row is a JSON object, not list"):
        load_dataset(tmp_path / "bad.jsonl")
    (tmp_path / "short.csv").write_text("a,b\n1,2\n3\n")
    with pytest.raises(DatasetError, match=r"line 3: 1 values for 2 columns"):
        load_dataset(tmp_path / "short.csv")
    with pytest.raises(DatasetError, match="a .csv or .jsonl file"):
        load_dataset(tmp_path / "rows.txt")
    with pytest.raises(DatasetError, match="No such file"):
        load_dataset(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('{"q": ' + "[" * 100_000 + "]" * 100_000 + "}", "line 1: nested too deeply"),  # RecursionError before
        ('{"q": ' + "9" * 5000 + "}", "line 1 at q: a number with 5,000 digits is too large"),
        ('{"q": NaN}', "line 1 at q: NaN is not a JSON number"),
        ('{"q": "a", "q": "b"}', "line 1: the key 'q' appears more than once"),  # the last one won silently
    ],
)
def test_hostile_jsonl_rows_are_one_plain_line(tmp_path, line, said):
    path = tmp_path / "rows.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(DatasetError) as caught:
        load_dataset(path)
    assert str(caught.value) == f"{path}: {said}"


def test_columns_map_to_inputs_by_name_or_override():
    graph = load(EXAMPLES / "research-parallel.chain.json")  # input "topic", with a default
    assert column_mapping(["topic", "expected"], graph) == {"topic": "topic"}
    assert column_mapping(["subject"], graph, parse_mapping(["subject=topic"])) == {"topic": "subject"}
    assert column_mapping(["subject"], graph) == {}  # topic keeps its default
    with pytest.raises(DatasetError, match="has no column 'nope'"):
        column_mapping(["subject"], graph, {"nope": "topic"})
    with pytest.raises(DatasetError, match="has no input 'other'"):
        column_mapping(["subject"], graph, {"subject": "other"})
    graph.inputs[0].default = None
    with pytest.raises(DatasetError, match=r"input\(s\) topic have no column and no default"):
        column_mapping(["subject"], graph)
    with pytest.raises(DatasetError, match="COLUMN=INPUT"):
        parse_mapping(["subject"])


def test_checks_score_one_or_zero_with_a_reason(tmp_path):
    row = {"expected": " Paris "}
    assert parse_check("exact", "expected", ["expected"]).score("paris", row) == (1.0, "")
    assert parse_check("exact-case", "expected", ["expected"]).score("paris", row)[0] == 0.0
    score, why = parse_check("contains", "expected", ["expected"]).score("It is Lyon.", row)
    assert score == 0.0 and why == "expected to contain ' Paris '"
    assert parse_check("regex:^\\d{4}$", None, []).score("2026", {})[0] == 1.0
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}))
    check = parse_check(f"json-schema:{schema}", None, [])
    assert check.score('```json\n{"n": 3}\n```', {}) == (1.0, "")
    assert check.score('{"n": "3"}', {}) == (
        0.0,
        "the answer does not follow the schema: n: '3' is not of type 'integer'",
    )
    assert check.score("not json", {})[1].startswith("the answer is not valid JSON")
    (tmp_path / "bad.json").write_text('{"type": 3}')
    with pytest.raises(DatasetError, match="the schema cannot be used"):
        parse_check(f"json-schema:{tmp_path / 'bad.json'}", None, [])
    with pytest.raises(DatasetError, match="no column 'expected'"):
        parse_check("exact", None, ["question"])
    with pytest.raises(DatasetError, match="unknown check"):
        parse_check("fuzzy", "expected", ["expected"])
    with pytest.raises(DatasetError, match="not a regular expression"):
        parse_check("regex:(", None, [])


def test_judge_answers_are_read_or_refused_never_invented():
    assert read_verdict('Sure: {"score": 4, "reason": "fine"}', "score") == (4.0, "fine")
    assert read_verdict('{"score": 9}', "score")[0] == 5.0  # clamped to the scale
    assert read_verdict("I would say four", "score")[0] is None
    assert read_verdict('{"score": "high"}', "score")[0] is None
    assert read_verdict('{"winner": "b", "reason": "r"}', "winner") == ("B", "r")
    assert read_verdict('{"winner": "both"}', "winner")[0] == "tie"
    assert read_verdict('{"contradiction": true}', "contradiction")[0] is True


def test_intervals_wilson_bootstrap_and_percentiles():
    w = wilson(50, 200)
    assert w.mean == 0.25 and 0.19 < w.low < 0.2 and 0.31 < w.high < 0.32  # the textbook figures: [0.195, 0.314]
    assert wilson(0, 10).low == 0.0 and wilson(10, 10).high == 1.0
    b = bootstrap_mean([1.0, 2.0, 3.0, 4.0, 5.0] * 20)
    assert b.low < 3.0 < b.high and b.method == "bootstrap" and b == bootstrap_mean([1.0, 2.0, 3.0, 4.0, 5.0] * 20)
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5 and percentile([5.0], 95) == 5.0
    assert math.isnan(percentile([], 50))


def test_overlap_of_sibling_branches():
    parallel = load(EXAMPLES / "research-parallel.chain.json")
    assert sorted(sibling_groups(parallel)[0]) == ["academic", "commercial", "hardware", "security", "software"]
    assert sibling_groups(load(EXAMPLES / "research-sequential.chain.json")) == []
    assert jaccard("a b c", "b c d") == 0.5
    outputs = {n: "same words here" for n in ("hardware", "software", "commercial", "security", "academic")}
    assert sibling_overlap(parallel, outputs) == 1.0
    assert sibling_overlap(parallel, {"hardware": "x"}) is None


def _result(variant: str, latency: float, cost: float, score: float) -> RowResult:
    return RowResult(variant, "eager", 0, 0, "succeeded", latency, 10, 10, cost, 1, scores={"exact": score})


def test_pareto_front_and_the_summary_figures():
    configs = [Config(v, "eager") for v in ("fast", "cheap", "dominated", "good")]
    results = [
        *(_result("fast", 1.0, 0.03, 0.0) for _ in range(4)),
        *(_result("cheap", 5.0, 0.01, 0.0) for _ in range(4)),
        *(_result("dominated", 6.0, 0.04, 0.0) for _ in range(4)),
        *(_result("good", 6.0, 0.04, 1.0) for _ in range(4)),
    ]
    summaries = {s.config.variant: s for s in summarize(configs, results)}
    assert {v for v, s in summaries.items() if s.pareto} == {"fast", "cheap", "good"}
    good = summaries["good"]
    assert good.quality is not None and good.quality.mean == 1.0 and good.quality.method == "wilson"
    assert good.latency_p50 == 6.0 and good.cost == pytest.approx(0.04) and good.total_cost == pytest.approx(0.16)
