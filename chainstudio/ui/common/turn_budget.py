"""One budget for all the work the window does a part at a time in one turn of its event loop.

Each piece of sliced work (a run drawn on a big canvas, the estimate's badges, the canvas's pass after an
edit, the overview's lit paths made again or stroked) stops after its own share of the window thread's CPU
(20-40 ms). Each ran from a zero-interval timer of its own, and Qt fires the timers that are due back to back:
at the end of a stopped 10,000-step run three or four of them ran in the same turn, 90-110 ms of CPU before
the window could react to anything. They now run from one timer (``SliceTimer`` stands in for each one's
QTimer): a turn runs the pieces waiting, one after another, and each asks ``budget(own)``, its own share less
what the pieces before it in this turn took (at least ``FLOOR_S`` of it), and tells ``spent`` what it took;
once the turn's budget is spent, the pieces not run yet go first in the next turn (the ones that ran go to the
back of the line). The shared timer waits ``GAP_MS`` between turns: at a zero interval it ran turn after turn
before other timers already due. Outside a turn (a piece of work done at once), ``budget`` is the piece's own
share.
"""

from __future__ import annotations

import inspect
import logging
import weakref
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

TURN_S = 0.025  # of the window thread's CPU for all sliced work in one turn of the loop (the rest of a turn:
# the run's events, a bridge update, the frames; issue 14 asks 50 ms at most)
FLOOR_S = 0.002  # each piece gets at least this much of its own share (one part at least)
GAP_MS = 1  # between two turns: a zero interval ran turn after turn before timers already due (the 5 ms probe)

_spent = 0.0  # CPU taken by the pieces of the current turn
_in_turn = False  # whether the shared timer's turn is running


def budget(own: float) -> float:
    """The CPU a piece beginning now may take: ``own``, less what this turn's pieces took, within TURN_S."""
    if not _in_turn:
        return own
    return max(min(own, FLOOR_S), min(own, TURN_S - _spent))


def spent(cpu: float) -> None:
    """A piece that asked ``budget`` has ended, having taken ``cpu`` seconds of the window thread's CPU."""
    global _spent
    if _in_turn:
        _spent += cpu


class SliceTimer:
    """A piece of sliced work's timer: while started, ``callback`` runs once in every turn of the shared timer
    (a zero-interval QTimer's ``start``, ``stop`` and ``isActive``); stopped when ``owner`` is destroyed, as a
    QTimer with that parent would be."""

    def __init__(self, callback: Callable[[], object], owner: QObject | None = None) -> None:
        # a method is held weakly: a piece waiting does not keep its owner (a closed window's scene) alive
        self._callback: Callable[[], Callable[[], object] | None] = (
            weakref.WeakMethod(callback) if inspect.ismethod(callback) else lambda: callback
        )
        self._active = False
        if owner is not None:
            owner.destroyed.connect(self.stop)

    def start(self) -> None:
        self._active = True
        _waiting[self] = None
        _timer().start()

    def stop(self) -> None:
        self._active = False
        _waiting.pop(self, None)

    def isActive(self) -> bool:  # noqa: N802 - as QTimer's
        return self._active


_waiting: dict[SliceTimer, None] = {}  # started, in the order they run next
_shared: list[QTimer] = []  # the one timer, made on first use (after the application)


def _timer() -> QTimer:
    if not _shared:
        timer = QTimer()
        timer.setInterval(GAP_MS)
        timer.timeout.connect(_turn)
        _shared.append(timer)
    return _shared[0]


def _turn() -> None:
    """One turn: the pieces waiting, in line, until the turn's budget is spent (one at least); those that ran
    go to the back of the line."""
    global _spent, _in_turn
    pieces = list(_waiting)
    ran: list[SliceTimer] = []
    _spent, _in_turn = 0.0, True
    try:
        for piece in pieces:
            if ran and _spent >= TURN_S:
                break  # the others first, next turn
            ran.append(piece)
            callback = piece._callback()
            if callback is None:  # its owner is gone
                piece.stop()
            elif piece._active:
                try:
                    callback()
                except RuntimeError as exc:  # its owner's Qt object was deleted meanwhile (a window closed)
                    piece.stop()
                    if "already deleted" not in str(exc):
                        raise
                    log.debug("a sliced piece of work lost its owner: %s", exc)
    finally:
        _in_turn = False
    for piece in ran:  # to the back of the line, if still waiting
        if _waiting.pop(piece, 0) is None:
            _waiting[piece] = None
    if not _waiting:
        _timer().stop()
