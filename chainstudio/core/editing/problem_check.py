"""Validating one revision of a document away from the window's thread: a snapshot, and its check.

Validating 10,000 steps and 100,000 edges takes about a second; on the window's thread that froze the window
once per edit. ``Document.problem_check()`` takes a ``ProblemCheck`` of the current revision (a snapshot of
the graph, ``topology.snapshot``: 15-25 ms for that graph, the collector paused), ``ProblemCheck.run()``
validates it on any thread, and ``Document.accept(result)`` keeps the result only if the document is still
at that revision (a result for an older revision is dropped). A small graph is validated where it is asked
for (``SMALL_GRAPH_ITEMS``). No Qt here: the window's worker is ``ui/editing/problem_checker.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chainstudio.core.graph.analysis import Analysis
from chainstudio.core.graph.model import Graph
from chainstudio.core.graph.validation import Problem, ordering_only_edges, validate

# Up to this many steps and edges together a graph is validated at once where its problems are asked for
# (measured: 100 steps and 945 edges in 3 ms, 300 and 2,945 in 10 ms, 1,000 and 9,945 in 41 ms).
SMALL_GRAPH_ITEMS = 1_200


def is_small(graph: Graph) -> bool:
    """Whether ``graph`` validates in a few milliseconds (so it need not wait for a worker)."""
    return len(graph.nodes) + len(graph.edges) <= SMALL_GRAPH_ITEMS


@dataclass(frozen=True)
class CheckResult:
    serial: int  # the document's check serial the problems belong to
    problems: Sequence[Problem]
    unread: frozenset[str]  # templates left unparsed (as ``Document.unread``)
    ordering_only: frozenset[str] | None = None  # the revision's (as ``Document.ordering_only``)


@dataclass(frozen=True)
class ProblemCheck:
    """One revision's graph, frozen, and what validating it needs."""

    serial: int
    graph: Graph
    endpoints: frozenset[str] | None
    defer_parsing: bool
    ordering_only: frozenset[str] | None = None  # when known already (the canvas found them first)

    def run(self) -> CheckResult:
        """Validate the snapshot (any thread; the garbage collector is left as it is: pausing it is the
        window thread's business while it builds a big scene)."""
        unread: set[str] | None = set() if self.defer_parsing else None
        analysis = Analysis(self.graph)
        ordering_only = self.ordering_only
        if ordering_only is None:
            ordering_only = frozenset(ordering_only_edges(self.graph, unread))
        problems = validate(
            self.graph, analysis, self.endpoints, unread=unread, pause_gc=False, ordering_only=ordering_only
        )
        return CheckResult(self.serial, problems, frozenset(unread or ()), ordering_only)
