"""``chainstudio run`` keeps the garbage collector's full passes off its loop: a full pass walks every object
of the process (for 10,000 steps, millions) and held the loop 0.2-0.8 s at a time. During the run the
objects it started with are set aside and only young passes run; afterwards the collector is as it was."""

from __future__ import annotations

import gc

from chainstudio.__main__ import main
from chainstudio.cli import run as cli_run
from tests.conftest import EXAMPLES

PARALLEL = str(EXAMPLES / "research-parallel.chain.json")


def test_a_run_s_loop_turns_without_full_collections_and_the_collector_is_restored(monkeypatch, capsys):
    seen: dict[str, int] = {}
    real = cli_run.execute_stoppable

    async def spying(*args, **kwargs):
        seen["full_threshold"] = gc.get_threshold()[2]
        seen["frozen"] = gc.get_freeze_count()
        return await real(*args, **kwargs)

    monkeypatch.setattr(cli_run, "execute_stoppable", spying)
    before = gc.get_threshold()
    assert main(["run", PARALLEL, "--speed", "500", "--no-history"]) == 0
    capsys.readouterr()
    assert seen["full_threshold"] > 10**9  # no full pass while the loop turns
    assert seen["frozen"] > 0  # the objects the run started with are set aside
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_the_collector_is_restored_when_the_run_fails(monkeypatch):
    before = gc.get_threshold()

    class Boom(Exception):
        pass

    try:
        with cli_run.quiet_collector():
            raise Boom
    except Boom:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
