"""The garbage collector's rule (``core/collector.py``, its one home): one counted mechanism. A run's "quiet"
hold (no full pass), the "off" pauses (``gc_paused``, a big scene's build) nest in any order, across threads;
the thresholds and the collector's on/off come back as they were after the last hold; a hold released with
``freeze`` sets aside what lives; what is frozen is thawed and collected once it doubled."""

import gc
import threading

import pytest

from chainstudio.core import collector
from chainstudio.core.collector import NO_FULL_PASS, Hold, gc_paused, quiet_collector, thaw_if_grown


@pytest.fixture(autouse=True)
def clean_collector():
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    assert collector.held() == (0, 0)
    yield thresholds
    assert collector.held() == (0, 0)
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    if enabled:
        gc.enable()


def test_the_window_s_way_makes_no_full_pass_and_sets_aside_what_the_run_made(clean_collector):
    with quiet_collector(collect=False, thaw=False):
        during = gc.get_threshold()[2]
        frozen_at_start = gc.get_freeze_count()
        made = [[i] for i in range(5000)]  # containers the collector tracks
    assert during == NO_FULL_PASS
    assert gc.get_threshold() == clean_collector
    # set aside too (a few objects frozen at the start were freed meanwhile: they leave the count)
    assert gc.get_freeze_count() - frozen_at_start > 0.9 * len(made)


def test_the_cli_s_way_thaws_at_the_end(clean_collector):
    with quiet_collector():
        assert gc.get_threshold()[2] == NO_FULL_PASS and gc.get_freeze_count() > 0
    assert gc.get_threshold() == clean_collector and gc.get_freeze_count() == 0


def test_a_pause_inside_a_run_s_quiet_block_does_not_bring_full_passes_back(clean_collector):
    run, build = Hold(), Hold(off=True)
    run.take()
    build.take()
    assert not gc.isenabled() and gc.get_threshold()[2] == NO_FULL_PASS
    build.release(freeze=True)  # the scene's build ends while the run goes
    assert gc.isenabled() and gc.get_threshold()[2] == NO_FULL_PASS
    with gc_paused():  # a document snapshot during the run
        assert not gc.isenabled()
    assert gc.isenabled() and gc.get_threshold()[2] == NO_FULL_PASS
    run.release()
    assert gc.isenabled() and gc.get_threshold() == clean_collector


def test_a_run_starting_during_a_scene_build_keeps_the_collector_off_until_the_build_ends(clean_collector):
    build, run = Hold(off=True), Hold()
    build.take()
    run.take()
    assert not gc.isenabled()
    run.release(freeze=True)  # a short run ends before the build
    assert not gc.isenabled() and gc.get_threshold()[2] == NO_FULL_PASS
    build.release(freeze=True)
    assert gc.isenabled() and gc.get_threshold() == clean_collector


def test_releases_are_idempotent_and_a_collector_switched_off_before_stays_off(clean_collector):
    hold = Hold()
    hold.release()  # never taken: nothing happens
    gc.disable()
    hold.take()
    hold.take()
    assert collector.held() == (1, 0)
    hold.release()
    hold.release()
    assert not gc.isenabled() and gc.get_threshold() == clean_collector


def test_holds_taken_on_two_threads_nest(clean_collector):
    hold = Hold()
    hold.take()
    seen = []

    def worker():
        with gc_paused():
            seen.append(gc.isenabled())
        seen.append((gc.isenabled(), gc.get_threshold()[2]))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [False, (True, NO_FULL_PASS)]
    hold.release()
    assert gc.get_threshold() == clean_collector


class Cycle:
    def __init__(self):
        self.me = self


def test_what_is_frozen_is_thawed_and_collected_once_it_doubled(monkeypatch):
    monkeypatch.setattr(collector, "THAW_MIN_GROWTH", 2000)
    monkeypatch.setattr(collector, "THAW_GROWTH", 0.0)  # (the heap of the tests is big: doubling it takes long)
    gc.collect()
    gc.freeze()
    live = gc.get_freeze_count()
    monkeypatch.setattr(collector, "_frozen_after_thaw", live)
    counts = []
    for _ in range(30):  # runs that each leave cyclic garbage, frozen with what they keep
        hold = Hold()
        hold.take()
        garbage = [Cycle() for _ in range(200)]
        for c in garbage:
            c.more = [c]
        gc.collect(0)  # promoted out of the youngest generation, as a run's objects are
        gc.collect(1)
        del garbage
        hold.release(freeze=True)
        thaw_if_grown()
        counts.append(gc.get_freeze_count())
    bound = live + 2000 + 200 * 3 + 1000
    assert max(counts) <= bound  # without the thaw it grows by ~600 a run: 18,000 more
    assert any(b < a for a, b in zip(counts, counts[1:], strict=False))  # it was thawed and collected


def test_no_thaw_while_a_run_holds_the_collector(monkeypatch):
    monkeypatch.setattr(collector, "THAW_MIN_GROWTH", 0)
    monkeypatch.setattr(collector, "_frozen_after_thaw", 0)
    gc.freeze()
    hold = Hold()
    hold.take()
    try:
        assert not thaw_if_grown()
    finally:
        hold.release()
    assert thaw_if_grown()


def test_set_aside_freezes_what_lives_and_is_the_base_the_thaw_counts_from(monkeypatch):
    from chainstudio.core.collector import set_aside

    monkeypatch.setattr(collector, "_frozen_after_thaw", collector._frozen_after_thaw)
    set_aside()
    assert gc.get_freeze_count() > 1000
    assert abs(collector._frozen_after_thaw - gc.get_freeze_count()) < 100
    assert not thaw_if_grown()  # nothing grew since


def test_under_a_quiet_hold_the_cyclic_garbage_of_finished_work_is_swept_on_the_loop(clean_collector):
    """Under a "quiet" hold the cycles a request left once it had lived through a few young passes went to the
    oldest generation and stayed (a 6,000-item map's `chainstudio run`: 213 MB of Python objects against 66 MB
    with full passes). Every SWEEP_AFTER middle passes a sweep on the loop frees them and freezes what lives."""
    import asyncio
    import weakref

    class Node:
        def __init__(self):
            self.me = self  # a cycle: only a pass of the collector frees it

    freed: list[int] = []
    kept: list[Node] = []

    async def work():
        for i in range(300):
            cycle = Node()
            weakref.finalize(cycle, freed.append, i)
            kept.append(cycle)  # it lives through young passes while "in flight"...
            junk = [[] for _ in range(2_000)]  # allocations that make young passes
            del junk
            if len(kept) > 5:
                kept.pop(0)  # ...then is let go, now in an older generation
            await asyncio.sleep(0)

    sweeps = collector.sweeps
    with quiet_collector(collect=False, thaw=False):
        assert gc.get_threshold()[2] == NO_FULL_PASS
        asyncio.run(work())
        assert gc.get_threshold()[2] == NO_FULL_PASS
    assert collector.sweeps > sweeps
    assert len(freed) > 200  # freed while the hold lasted, not only after it
    assert collector._after_pass not in gc.callbacks
