"""Python's cyclic garbage collector while a run's loop turns: young passes only, no full ones.

A full pass walks every object of the process: with a 10,000-step graph loaded (its run's plan and events,
in the window also its 110,000 canvas items) that is millions of objects, 0.2-0.8 s at a time, and it holds
whatever thread triggered it: the run's loop (``chainstudio run``) or the window. ``quiet_collector()`` sets
aside the objects that exist when the run begins (``gc.freeze``: later passes leave them out, their
reference counts still free them) and stops full passes until the block ends; young passes go on (the
cycles a step leaves are freed there). The one home of this rule: the CLI's ``run`` and the window's runs
use it.

- ``collect=True`` (the CLI, before its loop starts) first collects everything once, so that what is frozen
  is live; the window does not (that pass is the stall it avoids).
- ``thaw=True`` (the CLI) unfreezes at the end; the window leaves the objects frozen, as its canvas does
  after a big graph's items are made (unfreezing would hand them all to the next full pass), and sets aside
  what the run made too (its events and spans, which the window keeps: the first full pass after the run
  walked them, 0.4 s).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

NO_FULL_PASS = 2**31 - 1  # the oldest generation's threshold while a run goes: never reached


@contextlib.contextmanager
def quiet_collector(*, collect: bool = True, thaw: bool = True) -> Iterator[None]:
    """No full collection while the block runs (see the module docstring); thresholds restored after."""
    thresholds = gc.get_threshold()
    if collect:
        gc.collect()
    gc.freeze()
    gc.set_threshold(thresholds[0], thresholds[1], NO_FULL_PASS)
    try:
        yield
    finally:
        if thaw:
            gc.unfreeze()
        else:
            gc.freeze()
        gc.set_threshold(*thresholds)
