"""A stopped run's end is made across turns of the loop: its unfinished steps are cancelled ``CANCEL_PART`` at
a time (Stop on 10,000 steps emitted 6,700 steps' events in one turn, ~0.1 s of the window's thread), then its
``RunFinished``; the events, the state and the summary are those of the end made at once."""

import asyncio

from chainstudio.core.providers.scripted import ScriptedProvider
from chainstudio.core.run import events as ev
from chainstudio.core.run import executor
from chainstudio.core.run.executor import Run, RunContext
from chainstudio.core.run.state import RunState
from tests.core.helpers import fan_out


def _stopped_run(part: int, monkeypatch) -> tuple[Run, list[tuple[int, ev.RunEvent]]]:
    """A 23-step run stopped before it starts, each event with the loop turn it was emitted in."""
    monkeypatch.setattr(executor, "CANCEL_PART", part)
    run = Run(fan_out(20), RunContext(provider=ScriptedProvider()))
    turns, heard = [0], []
    run.add_listener(lambda event: heard.append((turns[0], event)))

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def tick() -> None:  # counts the loop's turns
            turns[0] += 1
            loop.call_soon(tick)

        tick()
        run.cancel("stopped by test")
        await run.execute()

    asyncio.run(main())
    return run, heard


def _plain(run: Run, event: ev.RunEvent) -> tuple:
    """The event's kind and step name (node ids differ between two graphs made alike)."""
    node_id = getattr(event, "node_id", None)
    return (type(event).__name__, run.state.spans[node_id].name if node_id else None)


def test_a_stopped_run_s_end_is_made_a_part_at_a_time(monkeypatch):
    run, heard = _stopped_run(5, monkeypatch)
    cancelled = [(turn, e) for turn, e in heard if isinstance(e, ev.NodeCancelled)]
    assert len(cancelled) == 23  # every step: none had started
    per_turn: dict[int, int] = {}
    for turn, _ in cancelled:
        per_turn[turn] = per_turn.get(turn, 0) + 1
    assert len(per_turn) == 5 and max(per_turn.values()) <= 5  # 23 steps, 5 a turn: five turns, not one
    finished_turn, finished = heard[-1]
    assert isinstance(finished, ev.RunFinished) and finished_turn == max(per_turn)
    assert run.state.status == "cancelled" and run.state.message == "stopped by test"


def test_the_end_in_parts_gives_the_same_record_as_at_once(monkeypatch):
    parts, heard_parts = _stopped_run(5, monkeypatch)
    whole, heard_whole = _stopped_run(10**9, monkeypatch)
    assert len({turn for turn, e in heard_whole if isinstance(e, ev.NodeCancelled)}) == 1  # (at once: one turn)
    assert [_plain(parts, e) for _, e in heard_parts] == [_plain(whole, e) for _, e in heard_whole]
    end_parts, end_whole = heard_parts[-1][1], heard_whole[-1][1]
    assert isinstance(end_parts, ev.RunFinished) and isinstance(end_whole, ev.RunFinished)
    assert (end_parts.status, end_parts.message, end_parts.outputs) == (
        end_whole.status,
        end_whole.message,
        end_whole.outputs,
    )
    statuses = [{s.name: s.status for s in run.state.spans.values()} for run in (parts, whole)]
    assert statuses[0] == statuses[1]
    assert RunState.from_events(parts.events).spans == parts.state.spans  # the record folds to the same state
