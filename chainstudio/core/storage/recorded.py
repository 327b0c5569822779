"""Earlier runs' outputs for a partial run: what "run from here" reuses upstream when the cache has nothing.

``recorded_outputs`` looks through the graph's recorded runs, newest first, and takes for each wanted
step the output of the newest run where that step succeeded on the same kind of provider (a real run never
reuses a simulated answer, nor the reverse). A step that run itself reused keeps the run that made it as
its origin, so "from run X" always names the run whose call produced the text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from chainstudio.core.graph.model import Graph
from chainstudio.core.run.cache import StoredStep
from chainstudio.core.run.reuse import stored_from_span
from chainstudio.core.run.scope import RunScope, select_scope
from chainstudio.core.run.state import RunState
from chainstudio.core.storage.history import RunSummary

log = logging.getLogger(__name__)
MAX_RUNS = 30  # runs looked through at most


class PastRuns(Protocol):
    """What is read of a ``RunHistory``."""

    def runs(self, *, graph_name: str | None = None, limit: int = 200) -> list[RunSummary]: ...

    def state(self, run_id: str) -> RunState: ...


def recorded_outputs(
    history: PastRuns, graph: Graph, steps: Iterable[str], *, simulated: bool, limit: int = MAX_RUNS
) -> dict[str, StoredStep]:
    """Step id -> the newest recorded output of that step of ``graph`` (matched by graph name and step id)
    from runs on a simulated provider or not (``simulated``)."""
    wanted = {nid for nid in steps if nid in graph.nodes and graph.nodes[nid].kind == "llm"}
    found: dict[str, StoredStep] = {}
    if not wanted:
        return found
    for summary in history.runs(graph_name=graph.name, limit=limit):
        if summary.simulated != simulated:
            continue
        try:
            state = history.state(summary.run_id)
        except Exception as exc:  # noqa: BLE001 - one unreadable run must not hide the others
            log.warning("cannot read run %s from the history: %s", summary.run_id, exc)
            continue
        for nid in wanted - set(found):
            span = state.spans.get(nid)
            stored = stored_from_span(span, summary.run_id, summary.simulated) if span is not None else None
            if stored is not None:
                found[nid] = stored
        if len(found) == len(wanted):
            break
    return found


def partial_scope(history: PastRuns | None, graph: Graph, mode: str, step: str, *, simulated: bool) -> RunScope:
    """``select_scope`` with the recorded outputs its reused steps may take (none without a history).
    Raises RunError for an unknown mode or step."""
    scope = select_scope(graph, mode, step)
    if history is None or not scope.reuse:
        return scope
    try:
        recorded = recorded_outputs(history, graph, scope.reuse, simulated=simulated)
    except Exception as exc:  # noqa: BLE001 - no history: pins and the cache may still answer
        log.warning("cannot read the run history: %s", exc)
        recorded = {}
    return scope.with_recorded(recorded)
