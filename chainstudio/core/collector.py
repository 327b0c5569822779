"""Python's cyclic garbage collector around work that must not stall a loop: the one home of the rule.

A full (oldest-generation) pass walks every object of the process that is not frozen: with a 10,000-step
graph loaded, or after a 20,000-item map, that is millions of objects, 0.2-0.8 s at a time, and it holds
whatever thread triggered it: the run's loop (``chainstudio run``) or the window. The switches here are one
mechanism, counted, so that they nest across each other and across threads:

- ``Hold(off=False)`` ("quiet"): no full pass while held (young passes go on and free the cycles a step
  leaves). Every run holds one: ``chainstudio run`` and ``batch``, the window's runs, comparisons and dataset batches.
- ``Hold(off=True)`` ("off"): no pass at all (``gc_paused``; a big scene's items being made): building
  100,000 small acyclic objects otherwise spends a third of its time in passes that find nothing.

While any hold is taken the oldest generation's threshold is ``NO_FULL_PASS``; while an "off" one is, the
collector is disabled; when the last is released the thresholds (and whether the collector was enabled)
are as they were before the first. Releasing one hold never lifts another's rule (a scene pass that ends
inside a run leaves the run's "quiet" in force). A hold released with ``freeze=True`` first frees the young
generations' cycles (a young pass: cheap) and then sets aside what is left (``gc.freeze``: later passes
leave it out; reference counts still free it; after an "off" hold the youngest generation holds every
object made meanwhile, so it is frozen as it is): the window keeps a run's events and spans, and a full pass
over them held it 0.2-0.5 s each time (issue 14).

What is frozen is not walked again, so cyclic garbage frozen with it would stay. ``thaw_if_grown`` bounds
that: once the frozen set has doubled (and grown by ``THAW_MIN_GROWTH`` objects) since the last thaw, it is
thawed and collected in one pass at a moment the caller chooses (the window: a document opened or a new one,
when the old one's canvas items, frozen after their build, are freed or garbage), then frozen again. A
finished ``Run`` is freed by its reference counts (it keeps no cycle through itself), so runs add to the
frozen set only what the window keeps on screen.
While a "quiet" hold is taken, the cyclic garbage a request leaves once it has lived through a few young
passes (in flight, a request sees many) is promoted to the oldest generation, which no pass visits: a
6,000-item map's `chainstudio run` grew to 213 MB in Python objects (66 MB with full passes) and 652 MB of
RSS. So every ``SWEEP_AFTER`` young passes of the middle generation, a sweep is queued on the running asyncio
loop of the thread that made the pass (``_sweep``): one full pass, which walks only what is not frozen (what
came since the last sweep), then what lives is frozen. A sweep costs what the last ``SWEEP_AFTER`` passes
promoted, not the heap.
``quiet_collector`` is the context-manager form the CLI uses (it collects before and thaws after: a process
that ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import Iterator
from typing import Any

NO_FULL_PASS = 2**31 - 1  # the oldest generation's threshold while held: never reached
YOUNG_PASS_MAX = 20_000  # a release collects the young generations first only below this many new objects
THAW_GROWTH = 1.0  # ``thaw_if_grown`` acts once the frozen set grew by this share of its size after the last thaw
THAW_MIN_GROWTH = 500_000  # and by at least this many objects
SWEEP_AFTER = 20  # passes of the middle generation between two sweeps while a "quiet" hold is taken

_lock = threading.RLock()
_quiet = 0  # "quiet" holds taken
_off = 0  # "off" holds taken
_saved: tuple[tuple[int, int, int], bool] | None = None  # thresholds and enabled-ness before the first hold
_frozen_after_thaw = 0  # gc.get_freeze_count() after the last thaw (or at start)
_sweep_queued = False
sweeps = 0  # sweeps made (for tests and benchmarks)


def _after_pass(phase: str, info: dict[str, Any]) -> None:
    """``gc.callbacks``: once ``SWEEP_AFTER`` passes of the middle generation came under a "quiet" hold, a
    sweep is queued on this thread's running loop (a pass on another thread leaves it to a later one)."""
    global _sweep_queued
    if phase != "stop" or info["generation"] != 1 or not _quiet or _sweep_queued:
        return
    if gc.get_count()[2] < SWEEP_AFTER:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    _sweep_queued = True
    loop.call_soon(_sweep)


def _sweep() -> None:
    """One full pass over what is not frozen (the cyclic garbage of finished requests is freed), then what
    lives is frozen, so that the next sweep walks only what comes after."""
    global _sweep_queued, sweeps
    with _lock:
        _sweep_queued = False
        if not _quiet or _off:
            return
        gc.collect()
        gc.freeze()
        sweeps += 1


def _apply() -> None:
    """Sets the collector to the rule of the holds taken (the lock is held)."""
    global _saved, _sweep_queued
    if _quiet and _after_pass not in gc.callbacks:
        gc.callbacks.append(_after_pass)
    elif not _quiet and _after_pass in gc.callbacks:
        gc.callbacks.remove(_after_pass)
    if not _quiet:  # a sweep queued on a loop that ended before it ran must not keep later ones from queuing
        _sweep_queued = False
    if _quiet == 0 and _off == 0:
        if _saved is not None:
            thresholds, enabled = _saved
            _saved = None
            gc.set_threshold(*thresholds)
            if enabled:
                gc.enable()
        return
    if _saved is None:
        _saved = (gc.get_threshold(), gc.isenabled())
    thresholds, enabled = _saved
    gc.set_threshold(thresholds[0], thresholds[1], NO_FULL_PASS)
    if _off:
        gc.disable()
    elif enabled:
        gc.enable()


def held() -> tuple[int, int]:
    """The holds taken now: (quiet, off). For tests and benchmarks."""
    return _quiet, _off


class Hold:
    """One holder's claim on the collector (see the module docstring). ``take`` and ``release`` are idempotent,
    so a holder may release on every way out (finished, failed, stopped, destroyed)."""

    __slots__ = ("off", "taken")

    def __init__(self, *, off: bool = False) -> None:
        self.off = off
        self.taken = False

    def take(self) -> None:
        global _quiet, _off
        with _lock:
            if self.taken:
                return
            self.taken = True
            if self.off:
                _off += 1
            else:
                _quiet += 1
            _apply()

    def release(self, *, freeze: bool = False) -> None:
        """Give the claim back; ``freeze``: the young generations collected, then what lives set aside."""
        global _quiet, _off
        with _lock:
            if not self.taken:
                return
            self.taken = False
            if self.off:
                _off -= 1
            else:
                _quiet -= 1
            if freeze:
                if gc.get_count()[0] < YOUNG_PASS_MAX:
                    gc.collect(1)  # the young generations only: the cycles a step or an item left
                gc.freeze()
            _apply()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No collection at all for the block (building or checking a big graph's many small acyclic objects)."""
    hold = Hold(off=True)
    hold.take()
    try:
        yield
    finally:
        hold.release()


@contextlib.contextmanager
def quiet_collector(*, collect: bool = True, thaw: bool = True) -> Iterator[None]:
    """No full pass while the block runs. ``collect``: one full collection first (the CLI, before its loop
    starts), so that what is frozen is live; ``thaw``: unfreeze at the end (a process about to end), else
    freeze what the block made (see ``Hold.release``)."""
    hold = Hold()
    if collect:
        gc.collect()
    gc.freeze()
    hold.take()
    try:
        yield
    finally:
        hold.release(freeze=not thaw)
        if thaw:
            gc.unfreeze()


def set_aside() -> None:
    """Collect once and freeze what lives: a process's start-up objects (modules, classes, the window's
    widgets), so that later full passes walk only what came after (the window, before it shows: its first
    full pass otherwise walked them all, 0.2 s, while the first graph opened)."""
    global _frozen_after_thaw
    with _lock:
        gc.collect()
        gc.freeze()
        _frozen_after_thaw = gc.get_freeze_count()


def thaw_if_grown() -> bool:
    """When no run holds the collector and the frozen set has doubled since the last thaw (by at least
    ``THAW_MIN_GROWTH`` objects): unfreeze, collect everything once (the cyclic garbage frozen meanwhile
    is freed), freeze what lives. True when it did. One full pass, so the caller picks the moment."""
    global _frozen_after_thaw
    with _lock:
        frozen = gc.get_freeze_count()
        if _quiet or frozen < _frozen_after_thaw + max(THAW_GROWTH * _frozen_after_thaw, THAW_MIN_GROWTH):
            return False
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        _frozen_after_thaw = gc.get_freeze_count()
        return True
