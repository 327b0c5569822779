"""One budget for all the work the window does a part at a time in one turn of its event loop.

Each piece of sliced work (a run drawn on a big canvas, the estimate's badges, the canvas's pass after an
edit, the overview's lit paths made again) runs from a zero-interval timer and stops after its own share of
the window thread's CPU (20-40 ms). Qt fires every timer that is due in one pass, back to back: at the end of
a stopped 10,000-step run three of them ran in the same turn, 90-110 ms of CPU before the window could react
to anything. So a slice asks ``budget(own)``: its own share, less what the slices run just before it in this
turn took (at least ``FLOOR_S`` of its own, so that each goes on), and tells ``spent`` what it took.

A slice is in the same turn as the last one when it begins less than ``SAME_TURN_S`` after that one ended
(wall time): between turns the loop waits for events, paints, or runs a 5 ms timer at least.
"""

from __future__ import annotations

import time

TURN_S = 0.04  # of the window thread's CPU for all sliced work in one turn of the loop
SAME_TURN_S = 0.002  # a slice beginning within this of the last one's end (wall) is in the same turn
FLOOR_S = 0.002  # each slice gets at least this (one part at least, whatever is left)

_spent = 0.0  # CPU taken by the slices of the current turn
_ended = float("-inf")  # when the last slice ended (perf_counter)


def budget(own: float) -> float:
    """The CPU a slice beginning now may take: ``own``, less what this turn's slices took, within TURN_S."""
    global _spent
    if time.perf_counter() - _ended > SAME_TURN_S:
        _spent = 0.0  # a new turn
    return max(min(own, FLOOR_S), min(own, TURN_S - _spent))


def spent(cpu: float) -> None:
    """A slice that asked ``budget`` has ended, having taken ``cpu`` seconds of the window thread's CPU."""
    global _spent, _ended
    _spent += cpu
    _ended = time.perf_counter()
