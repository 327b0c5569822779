"""Write a run into the history as it goes, so that a crash or a kill loses at most the steps in flight.

``HistoryRecorder`` is a run listener. At ``RunStarted`` it writes the run's row (status ``running``, the
process id); every time a step ends (finished, failed, skipped, cancelled, recounted) it hands the events
since the last batch (streamed chunks left out) to a writer thread, which appends them to ``run_events``
and updates the row's counters; at ``RunFinished`` it writes the last batch and the run's summary. The
event loop only appends to a list and keeps a few running sums (O(1) per event); encoding and SQLite
(and its fsync) happen on the writer thread, which takes every batch waiting in one transaction.

``close()`` waits for the writer (call it off the event loop where a stall matters) and returns the
problem that kept the run from being recorded, if any (the run itself is never failed by its history).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chainstudio.core.graph.model import Graph
from chainstudio.core.run import events as ev
from chainstudio.core.run.state import RunState
from chainstudio.core.storage import event_codec
from chainstudio.core.text_safety import escape_lone_surrogates

if TYPE_CHECKING:
    import sqlite3

    from chainstudio.core.storage.history import RunHistory

log = logging.getLogger(__name__)

STEP_ENDS = (ev.NodeFinished, ev.NodeFailed, ev.NodeSkipped, ev.NodeCancelled, ev.NodeTokensCounted)
Job = Callable[["sqlite3.Connection"], None]
CLOSE_WAIT = 30.0  # seconds close() waits for the writer


class HistoryRecorder:
    def __init__(
        self,
        history: RunHistory,
        graph: Graph,
        state: RunState | None = None,
        *,
        source: str,
        file: str | None,
        settings: dict[str, Any],
    ):
        self.history = history
        self.graph = graph
        # hashed now: for 10,000 steps it takes ~0.1 s, which the run's loop would spend at its start and end
        self._graph_hash = _graph_hash(graph)
        self.state = state if state is not None else RunState()  # the run's own fold, read at its end
        self._own_state = state is None
        self.source, self.file, self.settings = source, file, settings
        self.run_id: str | None = None
        self.error: str | None = None
        self._batch: list[ev.RunEvent] = []
        self._seq = 0
        self._created = time.time()
        self._start = 0.0
        self._steps: dict[str, tuple[int, int, int, float | None]] = {}  # node -> (in, out, calls, cost)
        self._sums = [0, 0, 0]  # the steps' input tokens, output tokens and calls, summed as they end
        self._known_cost, self._unknown_costs = 0.0, 0  # the known costs summed; how many steps' are unknown
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False

    # --- the listener (event loop) --------------------------------------------------------------------
    def __call__(self, event: ev.RunEvent) -> None:
        if self._own_state:
            self.state.apply(event)
        if isinstance(event, ev.NodeOutputDelta) or self._closed:
            return
        if isinstance(event, ev.RunStarted):
            if self.run_id is not None:
                return  # one run per recorder
            self.run_id, self._start = event.run_id, event.t
            self._thread = threading.Thread(target=self._work, name=f"history-{event.run_id}", daemon=True)
            self._thread.start()
            self._jobs.put(self._begin(event))
        elif event.run_id != self.run_id:
            return
        self._batch.append(event)
        if isinstance(event, STEP_ENDS):
            self._count(event)
            self._jobs.put(self._append(self._take(), event.t))
        elif isinstance(event, ev.RunFinished):
            self._jobs.put(self._finish(self._take()))

    def _take(self) -> list[ev.RunEvent]:
        batch, self._batch = self._batch, []
        return batch

    def _count(
        self, event: ev.NodeFinished | ev.NodeFailed | ev.NodeSkipped | ev.NodeCancelled | ev.NodeTokensCounted
    ) -> None:
        """Update the running sums with this step's figures (O(1): summing every step at every step end
        made recording a 10,000-step run quadratic)."""
        if isinstance(event, ev.NodeSkipped):
            return
        tokens_in = getattr(event, "input_tokens", 0)
        tokens_out = getattr(event, "output_tokens", 0)
        calls = getattr(event, "attempts", None)
        old = self._steps.get(event.node_id, (0, 0, 0, 0.0))
        new = (
            tokens_in,
            tokens_out,
            old[2] if calls is None else calls,
            getattr(event, "cost_usd", None) if (tokens_in or tokens_out) else 0.0,
        )
        self._steps[event.node_id] = new
        sums = self._sums
        sums[0] += new[0] - old[0]
        sums[1] += new[1] - old[1]
        sums[2] += new[2] - old[2]
        self._unknown_costs += (new[3] is None) - (old[3] is None)
        self._known_cost += (new[3] or 0.0) - (old[3] or 0.0)

    def _counters(self, t: float) -> tuple[Any, ...]:
        cost = None if self._unknown_costs else max(0.0, self._known_cost)
        return ((t - self._start) * 1000, *self._sums, cost)

    # --- jobs (made on the loop, run on the writer thread) ----------------------------------------------
    def _begin(self, started: ev.RunStarted) -> Job:
        from chainstudio.core.storage.history import RUNNING, upsert
        from chainstudio.core.storage.history import _public_settings as public

        row: dict[str, Any] = {
            "run_id": started.run_id,
            "created_at": self._created,
            "source": self.source,
            "file": self.file,
            "graph_name": self.graph.name,
            "graph_hash": self._graph_hash,
            "strategy": started.strategy,
            "provider": started.provider,
            "simulated": int(started.simulated),
            "concurrency": started.concurrency,
            "settings": json.dumps(public(self.settings), sort_keys=True),
            "status": RUNNING,
            "wall_ms": 0.0,
            "node_time_ms": 0.0,
            "input_tokens": 0,
            "output_tokens": 0,
            "api_calls": 0,
            "cost_usd": 0.0,
            "events": "",
            "pid": os.getpid(),
        }

        def begin(db: sqlite3.Connection) -> None:
            upsert(db, row)
            db.execute("DELETE FROM run_events WHERE run_id = ?", (started.run_id,))

        return begin

    def _append(self, batch: list[ev.RunEvent], t: float) -> Job:
        self._seq += 1
        seq, run_id, counters = self._seq, self.run_id, self._counters(t)

        def append(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO run_events (run_id, seq, events) VALUES (?, ?, ?)",
                (run_id, seq, escape_lone_surrogates(event_codec.dumps(batch))),
            )
            db.execute(
                "UPDATE runs SET wall_ms = ?, input_tokens = ?, output_tokens = ?, api_calls = ?, cost_usd = ? "
                "WHERE run_id = ?",
                (*counters, run_id),
            )

        return append

    def _finish(self, batch: list[ev.RunEvent]) -> Job:
        from chainstudio.core.storage.history import summary_row, upsert

        self._seq += 1
        seq = self._seq
        row = summary_row(
            self.state, self.graph, source=self.source, file=self.file, settings=self.settings, hashed=self._graph_hash
        )
        row.update(created_at=self._created, events="", pid=None)

        def finish(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO run_events (run_id, seq, events) VALUES (?, ?, ?)",
                (row["run_id"], seq, escape_lone_surrogates(event_codec.dumps(batch))),
            )
            upsert(db, row)

        return finish

    # --- the writer thread ------------------------------------------------------------------------------
    def _work(self) -> None:
        done = False
        while not done:
            jobs = [self._jobs.get()]
            while True:  # every job waiting goes into one transaction
                try:
                    jobs.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            done = jobs[-1] is None
            todo = [job for job in jobs if job is not None]
            if not todo or self.error is not None:
                continue
            try:
                with self.history.connect() as db:
                    for job in todo:
                        job(db)
            except Exception as exc:  # noqa: BLE001 - reported by close(); the run goes on
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("could not record run %s in the history: %s", self.run_id, exc)

    def close(self) -> str | None:
        """Stop listening, wait for the writes, and say why the run is not (fully) recorded, if it is not."""
        if self._closed:
            return self.error
        self._closed = True
        if self._thread is None:
            return self.error
        if self._batch and self.run_id is not None:  # events after the last step end (a run cut short)
            last = self._batch[-1].t
            self._jobs.put(self._append(self._take(), last))
        self._jobs.put(None)
        self._thread.join(CLOSE_WAIT)
        if self._thread.is_alive():
            self.error = self.error or f"the history write did not finish within {CLOSE_WAIT:g} s"
        return self.error


def _graph_hash(graph: Graph) -> str:
    from chainstudio.core.storage.history import graph_hash

    return graph_hash(graph)
