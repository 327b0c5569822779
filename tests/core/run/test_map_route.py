"""Map and route steps against the fake server over real HTTP: the run's cap holds across a map's items,
answers come back in order, each item-failure policy does what it says, and a route's branches not taken
make no call and cost nothing."""

import asyncio
import json

import pytest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.providers.openai_compat import OpenAICompatProvider, OpenAISettings
from chainstudio.core.run import events as ev
from chainstudio.core.run.executor import Run, RunContext, run_graph
from chainstudio.core.run.status import RunStatus, StepStatus
from tests.support.engine import run_over_http
from tests.support.fake_openai_server import FakeOpenAIServer

KEY = "sk-map-test"
N = 200
FAILING = 17


@pytest.fixture
def server():
    with FakeOpenAIServer(api_key=KEY, chunk_delay=0.0) as srv:
        yield srv


def items_text(fail: int | None = None) -> str:
    return "\n".join(f"item {i}" + (" [[fail=500]]" if i == fail else "") for i in range(N))


def map_graph(
    policy: str = "fail", items: str = "", limit: int = 0, prompt: str = "{{ item }} [[echo]] [[delay=0.02]]"
) -> Graph:
    g = Graph("map-200", inputs=[GraphInput("items", items)])
    g.add("input", "items", input="items")
    g.add(
        "map",
        "each",
        over="{{ items }}",
        prompt=prompt,
        retries=0,
        max_tokens=40,
        on_item_error=policy,
        concurrency=limit,
    )
    g.add("join", "count", template="{{ each|length }} answers")
    g.add("output", "out", template="{{ count }}")
    g.connect("items", "each")
    g.connect("each", "count")
    g.connect("count", "out")
    return g


def run_on(server: FakeOpenAIServer, graph: Graph, concurrency: int | None = 8) -> Run:
    return run_over_http(server.url, graph, api_key=KEY, concurrency=concurrency, backoff_base=0.01)


def answers(run: Run) -> list:
    return json.loads(run.state.span_by_name("each").output)


def test_map_of_200_under_a_cap_of_8_keeps_the_cap_and_the_order(server):
    run = run_on(server, map_graph(items=items_text()))
    assert run.state.status is RunStatus.SUCCEEDED
    assert answers(run) == [f"item {i}." for i in range(N)]
    assert server.stats.max_in_flight == 8  # never more, and the items did run 8 at once
    assert server.stats.requests == N
    span = run.state.span_by_name("each")
    assert len(span.items) == N and all(item.status is StepStatus.SUCCEEDED for item in span.items)
    assert span.api_calls == N
    assert span.input_tokens == server.stats.prompt_tokens and span.output_tokens == server.stats.completion_tokens
    assert run.state.outputs == {"out": f"{N} answers"}


def test_a_per_map_limit_holds_under_a_larger_run_cap(server):
    run = run_on(server, map_graph(items=items_text(), limit=3), concurrency=8)
    assert run.state.status is RunStatus.SUCCEEDED
    assert server.stats.max_in_flight == 3


def test_fail_policy_fails_the_map_and_starts_nothing_more(server):
    run = run_on(server, map_graph("fail", items_text(fail=FAILING)))
    span = run.state.span_by_name("each")
    assert span.status is StepStatus.FAILED
    assert f"item {FAILING} failed" in (span.error or "")
    assert run.state.span_by_name("count").status is StepStatus.SKIPPED
    assert server.stats.requests < N  # the items after the failure never went out
    assert run.state.status is RunStatus.FAILED


def test_drop_policy_leaves_the_failed_item_out(server):
    run = run_on(server, map_graph("drop", items_text(fail=FAILING)))
    assert run.state.status is RunStatus.SUCCEEDED
    assert answers(run) == [f"item {i}." for i in range(N) if i != FAILING]
    assert run.state.span_by_name("each").items[FAILING].status is StepStatus.FAILED
    assert run.state.outputs == {"out": f"{N - 1} answers"}


def test_keep_policy_keeps_the_failed_item_as_an_error(server):
    run = run_on(server, map_graph("keep", items_text(fail=FAILING)))
    assert run.state.status is RunStatus.SUCCEEDED
    got = answers(run)
    assert len(got) == N
    assert got[FAILING] == {"error": got[FAILING]["error"]} and "500" in got[FAILING]["error"]
    assert got[:FAILING] == [f"item {i}." for i in range(FAILING)]


def router_graph(mode: str) -> Graph:
    g = Graph("router", inputs=[GraphInput("question", "my invoice is wrong")])
    g.add("input", "question", input="question")
    if mode == "classify":
        g.add("route", "router", mode="classify", prompt="Classify: {{ question }} [[say=billing]]",
              labels="billing, tech, other")  # fmt: skip
    else:
        g.add("route", "router", expression="{% if 'invoice' in question %}billing{% else %}other{% endif %}")
    for name in ("billing", "tech", "other"):
        g.add("llm", name, prompt=f"{name} answer for {{{{ question }}}}", max_tokens=20)
        g.connect("router", name)
    g.add("join", "answer", template="{{ billing }}{{ tech }}{{ other }}")
    g.add("output", "out", template="{{ answer }}")
    for name in ("billing", "tech", "other"):
        g.connect(name, "answer")
    g.connect("question", "router")
    g.connect("answer", "out")
    return g


@pytest.mark.parametrize("mode", ["classify", "expression"])
def test_a_router_calls_only_the_branch_it_takes(server, mode):
    run = run_on(server, router_graph(mode))
    state = run.state
    assert state.status is RunStatus.SUCCEEDED
    prompts = [entry["prompt"] for entry in server.stats.log]
    assert [p.split()[0] for p in prompts] == (["Classify:", "billing"] if mode == "classify" else ["billing"])
    for name in ("tech", "other"):
        span = state.span_by_name(name)
        assert span.status is StepStatus.NOT_TAKEN
        assert span.api_calls == 0 and span.input_tokens == span.output_tokens == 0 and not span.cost_usd
        assert span.skip_reason == "route 'router' chose billing"
    assert state.span_by_name("router").output == "billing"
    assert state.span_by_name("answer").status is StepStatus.SUCCEEDED  # the join waited for billing only
    assert state.outputs["out"].startswith(state.span_by_name("billing").output[:10])


def test_a_classifying_route_fails_on_an_answer_that_is_no_label(server):
    g = router_graph("classify")
    g.resolve("router").params["prompt"] = "Classify: {{ question }} [[say=refund]]"
    run = run_on(server, g)
    router = run.state.span_by_name("router")
    assert router.status is StepStatus.FAILED
    assert "'refund.' is not one of the labels" in (router.error or "")
    assert router.input_tokens > 0  # the call it made is counted
    assert [s.status for s in map(run.state.span_by_name, ("billing", "tech", "other"))] == [StepStatus.SKIPPED] * 3


def test_stopping_a_run_mid_map_cancels_its_items_and_keeps_what_they_used(server):
    async def main() -> tuple[Run, list]:
        provider = OpenAICompatProvider(OpenAISettings(base_url=server.url, api_key=KEY))
        graph = map_graph(items="\n".join(f"item {i}" for i in range(20)), prompt="{{ item }} [[delay=0.5]]")
        graph.resolve("each").params["prompt"] = "{{ item }} [[delay={{ 0.01 if index == 0 else 2 }}]]"

        def stop_after_the_first_item(event: ev.RunEvent) -> None:
            if isinstance(event, ev.MapItemFinished):
                run.cancel("stopped")

        run = Run(graph, RunContext(provider=provider, concurrency=4), listeners=[stop_after_the_first_item])
        try:
            await run.execute()
        finally:
            await provider.aclose()
        await asyncio.sleep(0.05)  # the HTTP client's stream generators close in a task of their own
        return run, [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]

    run, left = asyncio.run(main())
    assert left == []
    span = run.state.span_by_name("each")
    assert run.state.status is RunStatus.CANCELLED and span.status is StepStatus.CANCELLED
    assert [str(item.status) for item in span.items] == ["succeeded"] + ["cancelled"] * 19
    assert server.stats.requests <= 4  # the first item, and at most three more, cancelled in flight
    assert span.api_calls == sum(item.attempts for item in span.items if item.started_at is not None) > 0


def test_a_map_over_a_structured_steps_array_uses_the_list_as_it_is():
    from chainstudio.core.providers.simulated import SimulatedProvider

    schema = {
        "type": "object",
        "properties": {"entities": {"type": "array", "items": {"type": "string"}, "minItems": 2}},
        "required": ["entities"],
    }
    g = Graph("structured-map")
    g.add("llm", "extract", prompt="List the entities", output_schema=json.dumps(schema))
    g.add("map", "each", over="{{ extract.entities }}", prompt="About {{ item }} ({{ index }})", max_tokens=20)
    g.add("join", "count", template="{{ each|length }} of {{ extract.entities|length }}: {{ each[0][:12] }}")
    g.connect("extract", "each")
    g.connect("each", "count")
    run = asyncio.run(run_graph(g, RunContext(provider=SimulatedProvider())))
    assert run.state.status is RunStatus.SUCCEEDED
    entities = json.loads(run.state.span_by_name("extract").output)["entities"]
    span = run.state.span_by_name("each")
    assert len(span.items) == len(entities) >= 2
    assert run.state.span_by_name("count").output.startswith(f"{len(entities)} of {len(entities)}: ")


def test_a_classifying_route_asks_for_its_label_as_structured_output_and_reads_it():
    g = router_graph("classify")
    g.resolve("router").params["prompt"] = "Classify: {{ question }}"
    with FakeOpenAIServer(api_key=KEY, chunk_delay=0.0, answers=['{"label": "tech"}', "tech answer"]) as srv:
        run = run_on(srv, g)
        asked = srv.stats.log[0]["response_format"]
    assert asked["type"] == "json_schema"
    assert asked["json_schema"]["schema"]["properties"]["label"]["enum"] == ["billing", "tech", "other"]
    assert run.state.span_by_name("router").output == "tech"
    assert run.state.span_by_name("tech").status is StepStatus.SUCCEEDED
    assert run.state.span_by_name("billing").status is StepStatus.NOT_TAKEN


def test_a_server_without_structured_output_is_asked_plainly_and_its_plain_label_is_read():
    from tests.support.fake_openai_server import Mode

    g = router_graph("classify")
    with FakeOpenAIServer(api_key=KEY, chunk_delay=0.0, mode=Mode(response_format="none")) as srv:
        run = run_on(srv, g)
        statuses = [e["status"] for e in srv.stats.log]
    assert statuses[:3] == [400, 400, 200]  # json_schema refused, then JSON mode, then asked plainly
    assert run.state.span_by_name("router").output == "billing"


def test_a_map_without_any_cap_keeps_a_bounded_number_of_items_in_flight(server, monkeypatch):
    """No map limit, no run cap: a task per item of a 20,000-line list held the window's loop for 3.5 s
    (qasync makes a Qt timer per callback); the map runs at most MAX_WORKERS items at once."""
    from chainstudio.core.run import map_step

    monkeypatch.setattr(map_step, "MAX_WORKERS", 5)
    run = run_on(server, map_graph(items=items_text()), concurrency=None)
    assert run.state.status is RunStatus.SUCCEEDED and answers(run) == [f"item {i}." for i in range(N)]
    assert server.stats.max_in_flight == 5


def test_a_list_longer_than_a_run_may_take_fails_the_map_before_any_call(server):
    """A 2 MB input read as lines is a million items, each a call and an answer kept (100,000 took the CLI
    524 MB): a run's maps take at most MAX_RUN_ITEMS in all; past it the map fails in one line, no call made."""
    from chainstudio.core.run.map_step import MAX_RUN_ITEMS

    lines = "\n".join(f"t{i}" for i in range(MAX_RUN_ITEMS + 1))
    run = run_on(server, map_graph(items=lines))
    span = run.state.span_by_name("each")
    assert span.status is StepStatus.FAILED and server.stats.requests == 0
    assert span.error == (
        f"the list has {MAX_RUN_ITEMS + 1:,} items: a run's maps take at most {MAX_RUN_ITEMS:,} items in all "
        "(split the list, or run the graph as a batch over a dataset)"
    )


def test_the_limit_counts_the_items_of_every_map_of_the_run(server, monkeypatch):
    from chainstudio.core.run import map_step

    monkeypatch.setattr(map_step, "MAX_RUN_ITEMS", 300)
    g = map_graph(items=items_text())  # 200 items
    g.add("map", "again", over="{{ items }}", prompt="{{ item }} [[echo]]", retries=0, max_tokens=40)
    g.connect("each", "again")
    run = run_on(server, g)
    assert run.state.span_by_name("each").status is StepStatus.SUCCEEDED
    again = run.state.span_by_name("again")
    assert again.status is StepStatus.FAILED and server.stats.requests == N
    assert again.error.startswith("the list has 200 items, and the run's maps took 200 before it: ")


def test_a_run_s_answers_past_what_a_run_keeps_are_cut_off(server, monkeypatch):
    """Each answer is bounded by its max_tokens, but a server sending every step (or item) an answer at that
    bound made a run hold gigabytes: the run's answers in all stop at MAX_RUN_ANSWER_CHARS, the step whose
    answer passes it fails in one line, and what came before is kept."""
    from chainstudio.core.run import budget

    monkeypatch.setattr(budget, "MAX_RUN_ANSWER_CHARS", 1_000)
    run = run_on(server, map_graph(items=items_text()), concurrency=1)  # each answer "item N." (7-9 chars)
    span = run.state.span_by_name("each")
    assert span.status is StepStatus.FAILED
    assert any(
        item.error == "the run's answers passed 1,000 characters in all, more than a run keeps: this answer was cut off"
        for item in span.items
    )
    assert 100 < server.stats.requests < N  # items answered until then, none after the map failed
