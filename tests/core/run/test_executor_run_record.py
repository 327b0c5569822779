"""The --json run record: exactly the keys scripts rely on, times in ms from the run's start."""

import json

import pytest

from chainstudio.core.providers.base import ProviderError
from chainstudio.core.run.record import NODE_KEYS, RECORD_KEYS, run_record
from tests.core.helpers import chain, fan_out
from tests.support.engine import run_scripted


def test_record_has_the_documented_keys_and_values():
    run, _ = run_scripted(chain("a", "b"), latency={"a": 1.0, "b": 2.0}, model="gpt-4o")
    record = run_record(run.state)
    assert list(record)[: len(RECORD_KEYS)] == list(RECORD_KEYS)
    assert record["status"] == "succeeded" and record["strategy"] == "eager" and record["provider"] == "scripted"
    assert record["wall_ms"] == pytest.approx(3000) and record["node_time_ms"] == pytest.approx(3000)
    assert record["critical_path"] == ["topic", "a", "b", "out"] and record["critical_path_ms"] == pytest.approx(3000)
    assert (record["input_tokens"], record["output_tokens"], record["total_tokens"]) == (20, 10, 30)
    assert record["api_calls"] == 2 and record["cost_usd"] == pytest.approx(2 * (10 * 2.5 + 5 * 10) / 1e6)
    assert record["output_chars"] == len(run.state.outputs["out"])
    nodes = {n["name"]: n for n in record["nodes"]}
    assert all(list(n)[: len(NODE_KEYS)] == list(NODE_KEYS) for n in record["nodes"])  # extra keys follow
    assert nodes["b"]["start_ms"] == pytest.approx(1000) and nodes["b"]["end_ms"] == pytest.approx(3000)
    assert nodes["b"]["first_token_ms"] == pytest.approx(3000) and nodes["b"]["attempts"] == 1
    json.dumps(record)  # plain data


def test_record_of_a_partial_run_shows_errors_and_skips():
    run, _ = run_scripted(fan_out(2), script={"b0": [ProviderError("denied", kind="http", status=403)]})
    record = run_record(run.state)
    nodes = {n["name"]: n for n in record["nodes"]}
    assert record["status"] == "failed"
    assert nodes["b0"]["error"] == "HTTP 403: denied" and nodes["b0"]["status"] == "failed"
    assert nodes["merged"]["status"] == "skipped" and "b0" in nodes["merged"]["error"]
    assert nodes["b1"]["error"] is None and nodes["topic"]["attempts"] == 0
