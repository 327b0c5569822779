"""The server's pace run by run: a server that slowed down (a busier machine) is planned at its current pace,
and a step's own history does not carry the pace of the run it was recorded in."""

import pytest

from chainstudio.core.planning.capacity import Observed, Speed
from chainstudio.core.planning.estimate import estimate
from chainstudio.core.planning.latency_model import LatencyModel, ModelFit, ServerCapacity, fit_model
from chainstudio.core.planning.pace import current_pace, run_pace
from tests.core.planning.test_latency_model import ENDPOINT, TRUE_SPEED, record, research


def server_at(pace):
    """The tests' one-at-a-time server, ``pace`` times slower."""
    speed = Speed(TRUE_SPEED.ttft * pace, TRUE_SPEED.prefill_per_token * pace, TRUE_SPEED.tokens_per_second / pace)
    return LatencyModel(ENDPOINT, {"gemma": ModelFit(speed, 1.0)}, ServerCapacity(1, 1, measured=True))


def test_a_runs_pace_is_its_solo_seconds_over_the_fitted_speed():
    run = [Observed(0.0, 1.5, 4.5, 100, 100, "gemma", True, "a"), Observed(4.5, 6.0, 9.0, 100, 100, "gemma", True)]
    solo = [(1.5, 3.0), (1.5, 3.0)]  # each 4.5 s where the speed says 0.4 + 0.4 + 2 = 2.8 s
    assert run_pace(run, solo, {"gemma": TRUE_SPEED}) == pytest.approx(4.5 / 2.8)
    assert run_pace(run, solo, {}) is None  # no speed for the model: no pace


def test_the_current_pace_weighs_the_newest_run_most():
    assert current_pace([]) == 1.0 and current_pace([None]) == 1.0
    assert current_pace([1.0, 1.0]) == pytest.approx(1.0)
    newest_slow = current_pace([1.6, 1.0, 1.0])
    oldest_slow = current_pace([1.0, 1.0, 1.6])
    assert 1.0 < oldest_slow < newest_slow < 1.6


def test_a_server_that_slowed_down_is_planned_at_its_current_pace():
    """Two runs at the usual pace, then the machine got 1.6x busier for the newest run (newest first in the
    history): the next run of another graph, still at that pace, is predicted closer than by one average
    speed; and the slowed run's steps keep their history at the average pace."""
    hybrid = research("hybrid")
    states = [record(research("sequential"), server_at(1.6))]
    states += [record(research(name), server_at(1.0)) for name in ("parallel", "hybrid")]
    model = fit_model(states, ENDPOINT, graph=hybrid)
    assert 1.15 < model.pace < 1.6
    actual = record(hybrid, server_at(1.6)).totals().wall * 1000
    planned = estimate(hybrid, model="gemma", latency=model).wall_ms
    model.pace = 1.0  # the same fit at its average speed
    flat = estimate(hybrid, model="gemma", latency=model).wall_ms
    assert abs(planned - actual) < abs(flat - actual)
    assert abs(planned - actual) / actual < 0.2
