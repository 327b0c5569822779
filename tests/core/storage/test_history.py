import pytest

from chainstudio.core.errors import Refused
from chainstudio.core.storage.history import HistoryError, RunHistory, graph_hash
from tests.core.helpers import fan_out
from tests.core.run.test_state import script


def test_record_list_and_replay(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    graph = fan_out(2)
    run_id = history.add(
        script(),
        graph,
        source="cli",
        file="x.chain.json",
        settings={"concurrency": 2, "api_key": "sk-SENTINEL", "tokens_per_minute": 1000},
    )
    (summary,) = history.runs(graph_name=graph.name)
    assert summary.run_id == run_id == "run-1"
    assert (summary.status, summary.api_calls, summary.input_tokens, summary.cost_usd) == ("succeeded", 3, 30, None)
    assert summary.wall_ms == 3000.0
    assert summary.settings == {"concurrency": 2, "tokens_per_minute": 1000}
    state = history.state(run_id)
    assert state.spans["a"].output == "Hello" and state.status == "succeeded"
    assert b"sk-SENTINEL" not in (tmp_path / "h.sqlite3").read_bytes()
    assert history.runs(graph_hash=graph_hash(graph))[0].run_id == run_id
    assert history.runs(graph_name="other") == []


def test_hash_ignores_positions_but_not_prompts():
    a, b = fan_out(2), fan_out(2)
    # same structure built twice gets different ids, so compare one graph with itself changed
    h = graph_hash(a)
    a.resolve("b0").position = (999.0, 1.0)
    assert graph_hash(a) == h
    a.resolve("b0").params["prompt"] = "changed {{ topic }}"
    assert graph_hash(a) != h
    assert graph_hash(b) != h


def test_every_summary_column_lands_in_its_field(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    graph = fan_out(2)
    history.add(script(), graph, source="gui", file="x.chain.json", settings={"strategy": "eager"})
    (summary,) = history.runs()
    assert (summary.source, summary.file, summary.graph_name, summary.graph_hash) == (
        "gui",
        "x.chain.json",
        graph.name,
        graph_hash(graph),
    )
    assert (summary.strategy, summary.provider, summary.simulated, summary.concurrency) == (
        "eager",
        "simulated",
        True,
        2,
    )
    assert (summary.output_tokens, summary.settings) == (5, {"strategy": "eager"})
    assert summary.simulated is True and summary.node_time_ms > 0 and summary.created_at > 0


def test_a_run_no_longer_in_the_history_is_refused_in_a_plain_sentence(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    run_id = history.add(script(), fan_out(2), source="cli")
    history.delete(run_id)
    with pytest.raises(HistoryError) as info:
        history.state(run_id)
    assert isinstance(info.value, Refused) and isinstance(info.value, KeyError)
    assert str(info.value) == "no run 'run-1' in the history"


def test_token_limits_are_kept_and_credentials_dropped(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite3")
    settings = {"token_cap": 2000, "tpm": 900, "auth_token": "sk-SENTINEL", "password": "p", "secret": "s"}
    history.add(script(), fan_out(2), source="cli", settings=settings)
    (summary,) = history.runs()
    assert summary.settings == {"token_cap": 2000, "tpm": 900}
