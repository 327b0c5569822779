"""The held-out attacks of issue 14's second round (``tests/support/heldout.py``), through the real provider
over real HTTP: classes 1 (the key quoted back in any form), 5 (usage that lies), 6 (values of the wrong
shape) and 11 (floods and answers held open). Each mode fails its step in one line or gives the right
answer; the plain step beside it and the record are kept."""

from __future__ import annotations

import os

import pytest

from chainstudio.core.graph.model import Graph
from chainstudio.core.providers.stream_limits import MAX_EVENT_BYTES
from chainstudio.core.run.executor import Run
from chainstudio.core.text_safety import secret_forms
from chainstudio.core.tokens import count_tokens
from tests.hostile.helpers import assert_clean, cli
from tests.support.engine import run_over_http
from tests.support.fake_openai_server import FakeOpenAIServer
from tests.support.heldout import KEY_MODES

KEY = "sk-HELD/OUT+key=7f3a9c2e51d04b8a"  # "/+=" so that percent-encoding changes it


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer(chunk_delay=0) as running:
        yield running


def run_graph(url: str, graph: Graph, token_cap: int | None = None) -> Run:
    return run_over_http(url, graph, api_key="sk-test-held-out", token_cap=token_cap)


def run_mode(url: str, prompt: str, *, timeout: float = 10.0, max_tokens: int = 512, token_cap: int | None = None):
    graph = Graph("held-out")
    graph.add("llm", "hostile", prompt=prompt, retries=0, timeout=timeout, max_tokens=max_tokens)
    graph.add("llm", "plain", prompt="a plain question", retries=0, timeout=10.0)
    run = run_graph(url, graph, token_cap)
    plain = run.state.span_by_name("plain")
    assert plain.status == "succeeded", plain.error or plain.skip_reason
    return run.state.span_by_name("hostile")


# --- class 1: the key ------------------------------------------------------------------------------------


def test_a_key_quoted_back_in_any_form_is_scrubbed_everywhere(tmp_path):
    data, config, out = tmp_path / "data", tmp_path / "config", tmp_path / "out"
    out.mkdir()
    graph = Graph("leaky")
    for i, mode in enumerate(KEY_MODES):
        graph.add("llm", f"s{i}", prompt=f"[[hostile={mode}]]", retries=0, timeout=10.0)
    from chainstudio.core.storage.fileformat import save

    save(graph, tmp_path / "g.chain.json")
    # the key as a user pastes it: with a newline (stripped before use, so the calls go through)
    env = {"HELD_KEY": KEY + "\n", "CHAINSTUDIO_DATA_DIR": str(data), "CHAINSTUDIO_CONFIG_DIR": str(config)}
    with FakeOpenAIServer(api_key=KEY, echo_auth=True, chunk_delay=0) as fake:
        result = cli(
            "run",
            str(tmp_path / "g.chain.json"),
            "--provider",
            "openai",
            "--base-url",
            fake.url,
            "--api-key-env",
            "HELD_KEY",
            "--json",
            str(out / "r.json"),
            "--csv",
            str(out / "s.csv"),
            "--trace",
            str(out / "t.json"),
            env=env,
        )
        # the pasted key was accepted (its newline stripped): the four streamed modes were answered
        assert fake.stats.statuses.get(200, 0) == 4
    forms = secret_forms(KEY)
    assert len(forms) >= 8  # the key, percent-encoded, base64 at three alignments, ...
    assert_clean(result, *forms)
    for root, _, files in os.walk(tmp_path):
        for name in files:
            if name == "g.chain.json":
                continue
            with open(os.path.join(root, name), "rb") as handle:
                content = handle.read()
            for form in forms:
                assert form.encode() not in content, f"{form!r} leaked into {name}"
    assert "s0" in result.stdout and "***" in (out / "r.json").read_text()


def test_secret_forms_cover_base64_at_every_alignment():
    for prefix in ("", "B", "Be", "Bearer ", "user:"):
        encoded = __import__("base64").b64encode((prefix + KEY).encode()).decode()
        assert any(form in encoded for form in secret_forms(KEY) if len(form) >= 12), prefix


# --- class 5: usage that lies ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mode",
    ["usage_decreasing", "usage_bools", "cached_huge", "cached_negative"],
)
def test_usage_that_cannot_be_true_is_estimated_instead(server, mode):
    span = run_mode(server.url, f"[[hostile={mode}]]")
    assert span.status == "succeeded" and span.tokens_estimated
    assert span.output_tokens == min(512, count_tokens(span.output))  # the offline count, not the lie
    assert span.cached_tokens == 0


def test_declared_hidden_tokens_are_believed_and_stop_the_later_calls(server):
    # a reasoning model's hidden tokens are real and not bounded by max_tokens everywhere (DeepSeek's are
    # not), so 99,990 declared ones are believed: the budget cannot see them coming, and stops what follows
    graph = Graph("hidden")
    graph.add("llm", "a", prompt="[[hostile=reasoning_lie]]", retries=0)
    graph.add("llm", "b", prompt="after {{ a }}", retries=0)
    graph.connect("a", "b")

    state = run_graph(server.url, graph, token_cap=2000).state
    assert state.span_by_name("a").output_tokens == 100_000
    assert state.span_by_name("b").status == "skipped" and "token cap" in state.span_by_name("b").skip_reason


def test_usage_in_every_chunk_is_believed_once(server):
    span = run_mode(server.url, "[[hostile=usage_every_chunk]] [[size=300]]")
    assert span.status == "succeeded" and not span.tokens_estimated
    assert span.output_tokens == count_tokens(span.output)  # the last figure, after the finish reason


def test_an_endless_stream_under_a_token_cap_is_stopped_at_the_cap(server):
    span = run_mode(server.url, "[[hostile=endless_spaces]]", timeout=60.0, max_tokens=100, token_cap=2000)
    assert span.status == "failed" and "token cap" in span.error
    assert 1000 < span.input_tokens + span.output_tokens <= 2001  # it went past max_tokens, up to the cap


# --- class 6: values of the wrong shape --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "output"),
    [
        ("choices_many", "many choices "),
        ("index_far", "index zero "),
        ("finish_int", "an answer"),
        ("finish_list", "an answer"),
        ("json_1e400", "huge numbers"),
    ],
)
def test_only_the_answers_choice_is_kept(server, mode, output):
    span = run_mode(server.url, f"[[hostile={mode}]] [[size=2000]]")
    assert span.status == "succeeded" and span.output == output


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("content_list", "content is list, not text"),
        ("content_dict", "content is dict, not text"),
        ("content_true", "content is bool, not text"),
        ("content_float", "content is float, not text"),
        ("deep_chunk", ""),
        ("deep_error", "HTTP"),
    ],
)
def test_a_value_of_the_wrong_shape_fails_its_step_in_one_line(server, mode, words):
    span = run_mode(server.url, f"[[hostile={mode}]]")
    assert span.status == "failed" and "\n" not in span.error and len(span.error) < 700
    assert words in span.error


# --- class 11: floods and answers held open ---------------------------------------------------------------
@pytest.mark.parametrize("mode", ["huge_line", "data_no_blank"])
def test_an_event_that_never_ends_is_refused_before_it_is_held(server, mode):
    span = run_mode(server.url, f"[[hostile={mode}]] [[size=200000000]]", timeout=600.0)
    assert span.status == "failed" and "without ending an event" in span.error
    sent = [e["sent"] for e in server.stats.log if e.get("hostile") == mode]
    # the client stopped reading at the bound: the server could write no more than the socket buffers took
    assert sent and sent[-1] < 4 * MAX_EVENT_BYTES, sent


def test_an_answer_far_past_max_tokens_is_cut_off(server):
    span = run_mode(server.url, "[[hostile=one_huge_chunk]] [[size=5000000]]", timeout=600.0)
    assert span.status == "failed" and "more than max_tokens (512) allows" in span.error
    assert span.tokens_estimated and span.output_tokens <= 512


def test_many_tiny_chunks_are_kept_whole(server):
    span = run_mode(server.url, "[[hostile=many_tiny]] [[size=20000]]", timeout=600.0, max_tokens=20000)
    assert span.status == "succeeded" and span.output == "x" * 20000 and span.deltas == 20000


@pytest.mark.parametrize("mode", ["done_then_ping", "finish_then_ping", "done_then_chunks"])
def test_a_complete_answer_is_not_held_open(server, mode):
    # the step's timeout is 30 s: were the stream read to its end, the watchdog would fail the step
    span = run_mode(server.url, f"[[hostile={mode}]]", timeout=30.0)
    assert span.status == "succeeded" and span.output == "a whole answer"


@pytest.mark.parametrize(("mode", "words"), [("ping_forever", "stalled"), ("ping_flood", "no first token")])
def test_keep_alive_comments_are_not_progress(server, mode, words):
    span = run_mode(server.url, f"[[hostile={mode}]]", timeout=1.0)
    assert span.status == "failed" and words in span.error
