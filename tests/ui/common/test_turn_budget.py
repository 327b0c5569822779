"""The window's sliced work shares one timer and one budget per turn of the loop: a piece run after others in
the same turn gets what they left (Qt fired each piece's own zero-interval timer back to back: three or four
pieces of 20-40 ms each made 90-110 ms turns at the end of a stopped 10,000-step run)."""

import pytest

from chainstudio.ui.common import turn_budget
from chainstudio.ui.common.turn_budget import SliceTimer


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """The module's record of the turn, restored afterwards (other tests' pieces are not charged for these)."""
    monkeypatch.setattr(turn_budget, "_spent", 0.0)
    monkeypatch.setattr(turn_budget, "_in_turn", False)


def test_outside_a_turn_a_piece_gets_its_own_share(monkeypatch):
    turn_budget.spent(1.0)  # (not counted: no turn)
    assert turn_budget.budget(0.03) == 0.03


def test_pieces_in_one_turn_share_its_budget_and_those_left_out_go_first_next_time(qtbot):
    asked: list[tuple[str, float]] = []
    took = {"a": 0.02, "b": 0.02, "c": 0.0}

    def piece(name: str):
        def run() -> None:
            asked.append((name, turn_budget.budget(0.02)))
            turn_budget.spent(took[name])

        return run

    timers = [SliceTimer(piece(name)) for name in "abc"]
    for timer in timers:
        timer.start()
    qtbot.waitUntil(lambda: len(asked) >= 5, timeout=5000)
    for timer in timers:
        timer.stop()
    left = turn_budget.TURN_S - 0.02
    assert 0 < left < 0.02
    # a turn: a takes its share, b what a left, and c waits (the turn is spent); the next: c goes first
    assert asked[:5] == [("a", 0.02), ("b", pytest.approx(left)), ("c", 0.02), ("a", 0.02), ("b", pytest.approx(left))]
    assert not any(t.isActive() for t in timers)


def test_a_stopped_piece_runs_no_more(qtbot):
    runs: list[int] = []
    timer = SliceTimer(lambda: (runs.append(1), timer.stop()))
    timer.start()
    qtbot.waitUntil(lambda: bool(runs), timeout=5000)
    qtbot.wait(30)
    assert runs == [1] and not timer.isActive()


def test_a_waiting_piece_does_not_keep_its_owner_alive(qtbot):
    import gc
    import weakref

    class Owner:
        def __init__(self) -> None:
            self.runs = 0
            self.timer = SliceTimer(self.run)

        def run(self) -> None:
            self.runs += 1

    owner = Owner()
    owner.timer.start()
    gone = weakref.ref(owner)
    timer = owner.timer
    del owner
    gc.collect()
    assert gone() is None  # (a closed window's scene, its pass still waiting)
    qtbot.waitUntil(lambda: not timer.isActive(), timeout=5000)  # dropped at its next turn
