"""What a run leaves for the garbage collector (issue 14: its full passes walked a 20,000-item map's objects,
0.2-0.5 s each). A request leaves no cycle (its progress watchdog and the server-load ticket held each other),
and a map keeps no attempts object per finished item, only the usage and call counts it sums. Real HTTP
against the fake server."""

import gc
import weakref

import pytest

from chainstudio.core.run import map_step, progress
from tests.core.run.test_map_route import KEY, map_graph
from tests.support.engine import run_over_http
from tests.support.fake_openai_server import FakeOpenAIServer

N = 40


@pytest.fixture
def server():
    with FakeOpenAIServer(api_key=KEY, chunk_delay=0.0) as srv:
        yield srv


def test_requests_leave_no_cycles_and_a_map_keeps_no_attempts_per_item(server, monkeypatch):
    watchdogs: list[weakref.ref] = []
    made = progress.Watchdog.__init__

    def tracking(self, *args, **kwargs):
        made(self, *args, **kwargs)
        watchdogs.append(weakref.ref(self))

    maps: list[map_step.MapStep] = []
    made_map = map_step.MapStep.__init__

    def keeping(self, *args, **kwargs):
        made_map(self, *args, **kwargs)
        maps.append(self)

    monkeypatch.setattr(progress.Watchdog, "__init__", tracking)
    monkeypatch.setattr(map_step.MapStep, "__init__", keeping)
    items = "\n".join(f"item {i}" for i in range(N))
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # what is freed now is freed by reference counts alone
    try:
        run = run_over_http(server.url, map_graph(items=items, prompt="{{ item }} [[echo]]"), api_key=KEY)
        assert run.state.status == "succeeded"
        assert len(watchdogs) == N
        assert [w for w in watchdogs if w() is not None] == []  # each freed when its request ended
        (mapped,) = maps
        assert mapped._in_flight == {} and mapped.calls() == N
        assert mapped.usage().output_tokens == run.state.spans[mapped.node.id].output_tokens > 0
    finally:
        if enabled:
            gc.enable()


def test_a_finished_run_is_freed_by_its_references_alone(server):
    """Its scheduler's host is weak, its ``emit`` does not hold it, its calls are let go at the end: a run
    the window, a comparison or a batch let go of is freed at once, not left for a full collection."""
    items = "\n".join(f"item {i}" for i in range(5))
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        run = run_over_http(server.url, map_graph(items=items, prompt="{{ item }} [[echo]]"), api_key=KEY)
        assert run.state.status == "succeeded"
        gone_run, gone_state = weakref.ref(run), weakref.ref(run.state)
        del run
        assert gone_run() is None and gone_state() is None
    finally:
        if enabled:
            gc.enable()
