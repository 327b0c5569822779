"""Partial runs: run this step only, run from here, run to here.

``select_scope(graph, mode, step)`` splits a graph's steps three ways:

* ``calls``: the steps this run works on (model calls, unless a pin or a cache hit answers them);
* ``reuse``: steps upstream of those whose outputs are taken, never called: a pin, else a cache hit (when
  the cache is on), else the output an earlier run recorded (``RunScope.recorded``, from the run history);
* ``not_run``: everything else, not needed by the selection.

``only S``: S is worked on, its ancestors are reused. ``from S``: S and its descendants are worked on, the
other ancestors of those are reused. ``to S``: S and its ancestors are worked on, nothing is reused.
``calls | reuse`` is closed under ancestors, so every step keeps the layer it has in the whole graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from chainstudio.core.graph.analysis import Dag, downstream, upstream
from chainstudio.core.graph.model import Graph
from chainstudio.core.run.cache import StoredStep
from chainstudio.core.run.context import RunError

ScopeMode = Literal["only", "from", "to"]
SCOPE_MODES: tuple[ScopeMode, ...] = ("only", "from", "to")
MODE_WORDS = {"only": "only", "from": "from", "to": "up to"}


@dataclass(frozen=True)
class RunScope:
    """Which steps a partial run works on, reuses and leaves out (see the module)."""

    mode: ScopeMode
    step: str  # node id
    step_name: str
    calls: frozenset[str]
    reuse: frozenset[str]
    not_run: frozenset[str]
    recorded: Mapping[str, StoredStep] = field(default_factory=dict)  # node id -> an earlier run's output

    @property
    def label(self) -> str:
        """``from security``, ``only security``, ``up to security``."""
        return f"{MODE_WORDS[self.mode]} {self.step_name}"

    @property
    def included(self) -> frozenset[str]:
        """The steps of the run: worked on or reused."""
        return self.calls | self.reuse

    def with_recorded(self, recorded: Mapping[str, StoredStep]) -> RunScope:
        """The same scope with earlier runs' outputs for (some of) the reused steps."""
        return replace(self, recorded={k: v for k, v in recorded.items() if k in self.reuse})


def select_scope(graph: Graph, mode: str, step: str) -> RunScope:
    """The scope of a partial run of ``graph`` (``step``: a step's id or name). RunError on an unknown
    mode or step."""
    if mode not in SCOPE_MODES:
        raise RunError(f"unknown partial run {mode!r} (choose {', '.join(SCOPE_MODES)})")
    try:
        node = graph.resolve(step)
    except KeyError:
        names = ", ".join(sorted(n.name for n in graph.nodes.values()))
        raise RunError(f"no step named {step!r} in {graph.name!r} (steps: {names})") from None
    dag = Dag.of_graph(graph)
    target = node.id
    if mode == "only":
        calls = {target}
    elif mode == "from":
        calls = {target} | downstream(dag, target)
    else:
        calls = {target} | upstream(dag, target)
    needed: set[str] = set()
    for nid in calls:
        needed |= upstream(dag, nid)
    reuse = needed - calls
    not_run = set(graph.nodes) - calls - reuse
    return RunScope(
        mode,
        target,
        node.name,
        frozenset(calls),
        frozenset(reuse),
        frozenset(not_run),
    )
