"""RunBridge: a core listener that applies events at once and tells Qt views at most ~30 times a second."""

import threading

from chainstudio.core.run import events as ev
from chainstudio.ui.gantt import GanttWidget
from chainstudio.ui.run.bridge import RunBridge
from tests.ui.gantt_scripts import T0, hybrid, nid


def started(run_id="run-1"):
    script = hybrid()
    script.run_id = run_id
    return script.events()[0]


def record(bridge):
    seen = {"started": [], "updated": [], "finished": []}
    bridge.runStarted.connect(seen["started"].append)
    bridge.updated.connect(seen["updated"].append)
    bridge.runFinished.connect(seen["finished"].append)
    return seen


def test_a_thousand_deltas_are_coalesced_into_a_few_signals(qtbot):
    bridge = RunBridge()
    seen = record(bridge)
    bridge(started())
    assert len(seen["started"]) == 1 and seen["started"][0] is bridge.state  # immediate
    node = nid("hardware")
    bridge(ev.NodeStarted("run-1", T0, node, 1))
    for i in range(1000):
        bridge(ev.NodeOutputDelta("run-1", T0 + 0.001 * i, node, 1, "x"))
    assert bridge.state.spans[node].deltas == 1000 and len(bridge.state.spans[node].output) == 1000  # applied at once
    assert seen["updated"] == []  # nothing emitted per delta
    qtbot.waitUntil(lambda: len(seen["updated"]) >= 1)
    qtbot.wait(3 * bridge.interval_ms)
    assert len(seen["updated"]) == 1 and seen["updated"][0] == frozenset({node})
    bridge(ev.RunFinished("run-1", T0 + 2.0, "cancelled"))
    assert seen["finished"] == [bridge.state] and bridge.state.status == "cancelled"  # immediate
    assert len(seen["updated"]) <= 2
    assert 30 <= bridge.interval_ms <= 34  # ~30 Hz


def test_a_whole_run_gives_bounded_updates_and_the_same_state(qtbot):
    bridge = RunBridge()
    seen = record(bridge)
    events = hybrid().events()
    for event in events:
        bridge(event)
    assert seen["finished"] and bridge.state.totals() == hybrid().state().totals()
    assert 1 <= len(seen["updated"]) <= 2  # the final flush, before runFinished
    assert bridge.emissions == len(seen["updated"]) and bridge.events_received == len(events)


def test_each_run_gets_a_fresh_state_and_late_events_are_ignored(qtbot):
    bridge = RunBridge()
    bridge(started("run-1"))
    first = bridge.state
    bridge(started("run-2"))
    assert bridge.state is not first and bridge.state.run_id == "run-2" and first.run_id == "run-1"
    bridge(ev.NodeQueued("run-1", T0 + 1, nid("hardware")))
    assert bridge.state.spans[nid("hardware")].status == "pending"


def test_events_from_another_thread_are_applied_on_the_gui_thread(qtbot):
    bridge = RunBridge()
    bridge(started())
    applied_on = []
    bridge.updated.connect(lambda _: applied_on.append(threading.current_thread()))
    worker = threading.Thread(target=lambda: bridge(ev.NodeQueued("run-1", T0 + 0.5, nid("software"))))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bridge.state.spans[nid("software")].status == "queued")
    qtbot.waitUntil(lambda: bool(applied_on))
    assert applied_on == [threading.main_thread()]


def test_gantt_follows_the_bridge_with_few_refreshes(qtbot):
    bridge = RunBridge()
    widget = GanttWidget()
    qtbot.addWidget(widget)
    widget.follow(bridge)
    refreshes = []
    widget.view.refresh = (lambda original: lambda: refreshes.append(1) or original())(widget.view.refresh)
    events = hybrid().events()
    cut = len(events) - 1
    for event in events[:cut]:
        bridge(event)
    assert widget.states() == [bridge.state]
    qtbot.waitUntil(lambda: bool(refreshes))
    qtbot.wait(3 * bridge.interval_ms)
    assert cut > 100
    assert len(refreshes) == 2 and "running" in widget.header_text()  # the run's start, then one coalesced
    bridge(events[cut])
    assert len(refreshes) == 3 and "succeeded" in widget.header_text()
    x0, _, x1, _ = widget.view.layout_.bar_rect(nid("aggregate"))
    span = bridge.state.span_by_name("aggregate")
    assert (x0, x1) == (widget.view.layout_.x_of(0, span.started_at), widget.view.layout_.x_of(0, span.ended_at))


def test_following_a_run_reads_its_state_and_reduces_each_event_once(qtbot, monkeypatch):
    import asyncio

    from chainstudio.core.clock import Clock
    from chainstudio.core.providers.factory import make_provider
    from chainstudio.core.run.executor import Run, RunContext
    from chainstudio.core.run.state import RunState
    from chainstudio.core.run.virtual_time import run_virtual
    from chainstudio.core.storage import fileformat
    from tests.conftest import EXAMPLES

    applied = []
    original = RunState.apply
    monkeypatch.setattr(RunState, "apply", lambda state, event: applied.append(event) or original(state, event))
    bridge = RunBridge()
    seen = record(bridge)

    async def execute():
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        context = RunContext(provider=make_provider("simulated", clock=clock), clock=clock)
        run = Run(fileformat.load(EXAMPLES / "research-hybrid.chain.json"), context, listeners=[bridge])
        bridge.follow(run)
        await run.execute()
        return run

    run = run_virtual(execute())
    assert seen["started"] == [run.state] and seen["finished"] == [run.state] and bridge.state is run.state
    assert applied == run.events  # each event reduced once, by the run itself
    assert bridge.events_received == len(run.events) and 1 <= len(seen["updated"]) <= 2
    bridge(started("run-other"))  # a run it does not follow: the bridge reduces that one itself
    assert bridge.state is not run.state and bridge.state.run_id == "run-other"
