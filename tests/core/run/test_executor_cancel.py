"""Cancellation on real time: prompt (within 200 ms, checked with margin), marks steps, leaves no task."""

import asyncio
import contextlib
import time

from chainstudio.core.clock import Clock
from chainstudio.core.providers.simulated import SimulatedProvider
from chainstudio.core.run import events as ev
from chainstudio.core.run.executor import Run, RunContext
from tests.core.helpers import fan_out


def _run(concurrency=2):
    clock = Clock()  # real time: each call takes seconds
    provider = SimulatedProvider(clock=clock)
    return Run(fan_out(4), RunContext(provider=provider, clock=clock, concurrency=concurrency))


def _other_tasks():
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


def test_cancel_stops_in_flight_calls_promptly_and_leaves_no_task():
    async def main():
        run = _run()
        task = asyncio.ensure_future(run.execute())
        while not any(isinstance(e, ev.NodeFirstToken) for e in run.events):
            await asyncio.sleep(0.01)
        t0 = time.monotonic()
        run.cancel("stopped by test")
        state = await task
        elapsed = time.monotonic() - t0
        assert not _other_tasks()
        return run, state, elapsed

    run, state, elapsed = asyncio.run(main())
    assert elapsed < 0.2 + 0.3  # the promise is 200 ms; margin for a loaded machine
    assert state.status == "cancelled" and state.message == "stopped by test"
    statuses = {s.name: s.status for s in state.spans.values()}
    assert statuses["topic"] == "succeeded"
    assert [statuses[f"b{i}"] for i in range(4)] == ["cancelled"] * 4  # two in flight, two waiting
    assert statuses["merged"] == statuses["out"] == "cancelled"
    in_flight = [s for s in state.spans.values() if s.attempts]
    assert len(in_flight) == 2 and all(s.ended_at is not None for s in in_flight)
    assert isinstance(run.events[-1], ev.RunFinished)


def test_cancelling_the_awaiting_task_cancels_the_run_too():
    async def main():
        run = _run(concurrency=None)
        task = asyncio.ensure_future(run.execute())
        await asyncio.sleep(0.2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert not _other_tasks()
        return run

    run = asyncio.run(main())
    assert run.state.status == "cancelled"
    assert isinstance(run.events[-1], ev.RunFinished)


def test_cancel_before_execute_finishes_at_once():
    async def main():
        run = _run()
        run.cancel()
        return await run.execute()

    state = asyncio.run(main())
    assert state.status == "cancelled"
    assert all(s.status == "cancelled" for s in state.spans.values())
