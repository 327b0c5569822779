"""The garbage collector while a run goes (``core/run/collector.py``, the one home of the rule): no full pass,
the objects there are set aside; the CLI thaws them at the end, the window keeps them, and what the run made,
set aside (a full pass over a big run's events and spans held the window 0.4 s after the run)."""

import gc

from chainstudio.core.run.collector import NO_FULL_PASS, quiet_collector


def test_the_window_s_way_makes_no_full_pass_and_sets_aside_what_the_run_made():
    thresholds = gc.get_threshold()
    try:
        with quiet_collector(collect=False, thaw=False):
            during = gc.get_threshold()[2]
            frozen_at_start = gc.get_freeze_count()
            made = [[i] for i in range(5000)]  # containers the collector tracks
        assert during == NO_FULL_PASS
        assert gc.get_threshold() == thresholds
        # set aside too (a few objects frozen at the start were freed meanwhile: they leave the count)
        assert gc.get_freeze_count() - frozen_at_start > 0.9 * len(made)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_the_cli_s_way_thaws_at_the_end():
    thresholds = gc.get_threshold()
    with quiet_collector():
        assert gc.get_threshold()[2] == NO_FULL_PASS and gc.get_freeze_count() > 0
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0
