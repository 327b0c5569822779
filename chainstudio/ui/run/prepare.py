"""A big graph's run is made on a worker thread, not on the window's.

Making a ``Run`` of 10,000 steps and 100,000 edges (the graph's snapshot, the plan: layers, priorities,
ancestors; the ``RunStarted`` and the state's spans) takes 0.6-0.8 s of CPU; on the window's thread that
was as long a freeze when Run was pressed. From ``BIG_RUN_STEPS`` steps the controller makes it with
``made_off_thread``: pure Python, so the window's thread gets the interpreter back every few milliseconds
meanwhile. The snapshot reads the document's graph, which an edit may change while the worker reads it; the
graph's revision is compared before and after, and a run made across an edit is made again (after
``ATTEMPTS`` such edits, on the window's thread, from the graph as it is then).
"""

from __future__ import annotations

from collections.abc import Callable

from chainstudio.core.run.executor import Run
from chainstudio.ui.common.worker import run_in_thread

BIG_RUN_STEPS = 1000  # from this many steps a run is made on a worker thread
ATTEMPTS = 3


async def made_off_thread(make: Callable[[], Run], revision: Callable[[], int]) -> Run:
    """``make()`` on a worker thread, made again while the graph's ``revision()`` changed meanwhile."""

    def make_run() -> Run:  # (its thread is named after it)
        run = make()
        run.state.prepare_tally()  # the live figures' tally with its spans (60 ms for 10,000 steps)
        return run

    for _attempt in range(ATTEMPTS):
        before = revision()
        try:
            run = await run_in_thread(make_run)
        except RuntimeError:  # "dictionary changed size during iteration": an edit while the graph was read
            if revision() == before:
                raise
            continue
        if revision() == before:
            return run
    return make()
