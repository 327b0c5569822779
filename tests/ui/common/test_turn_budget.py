"""The sliced work of one turn of the window's loop shares one budget: a slice run right after others in the
same turn gets what they left (Qt fires every due zero-interval timer in one pass: three slices of 30-40 ms
each made 90-110 ms turns at the end of a stopped 10,000-step run)."""

import pytest

from chainstudio.ui.common import turn_budget


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """The module's record of the turn, restored afterwards (other tests' slices are not charged for these)."""
    monkeypatch.setattr(turn_budget, "_spent", 0.0)
    monkeypatch.setattr(turn_budget, "_ended", float("-inf"))


def test_slices_in_one_turn_share_its_budget(monkeypatch):
    monkeypatch.setattr(turn_budget, "SAME_TURN_S", 3600.0)  # every slice below is in the same turn
    assert turn_budget.budget(0.03) == 0.03
    turn_budget.spent(0.03)
    assert turn_budget.budget(0.03) == turn_budget.TURN_S - 0.03  # what the first left
    turn_budget.spent(turn_budget.TURN_S - 0.03)
    assert turn_budget.budget(0.03) == turn_budget.FLOOR_S  # none left: a part of its own, at least
    assert turn_budget.budget(0.0) == 0.0  # (a slice asking for none gets none: one part)


def test_a_slice_in_a_later_turn_gets_its_own_share_again(monkeypatch):
    monkeypatch.setattr(turn_budget, "SAME_TURN_S", 3600.0)
    turn_budget.spent(turn_budget.TURN_S)
    assert turn_budget.budget(0.03) == turn_budget.FLOOR_S
    monkeypatch.setattr(turn_budget, "SAME_TURN_S", -1.0)  # the loop has turned since
    assert turn_budget.budget(0.03) == 0.03
