"""What the estimate does with map and route steps (issue 15).

A map's cost is one call per item, so the estimate needs the item count before the list exists: the
map's declared ``expected_items``, else the mean count of its recorded runs, else ``ASSUMED_ITEMS`` —
and every figure says which (``FlowPlan.item_notes``). The estimate's virtual run then fans out over that
many placeholder items under the same caps as a real run.

A route's branches not taken cost nothing, so a graph with routes has a range: the estimate runs once
with every branch taken (to price each branch: the steps only it leads to), then with each route taking
its cheapest branch and with each taking its most expensive one. The figures shown are the most
expensive path (what a budget must allow); ``FlowEstimate`` holds the range and, when every route has
recorded runs, the expected cost from how often each branch was taken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from chainstudio.core.graph.model import Graph
from chainstudio.core.run.state import NodeSpan, RunState
from chainstudio.core.run.status import StepStatus

ASSUMED_ITEMS = 5  # a map's items when neither declared nor ever recorded


@dataclass
class FlowHistory:
    """What recorded runs of a graph say about its maps and routes."""

    items: dict[str, list[int]] = field(default_factory=dict)  # map id -> its item counts, newest first
    taken: dict[str, dict[str, int]] = field(default_factory=dict)  # route id -> branch name -> runs taking it
    decided: dict[str, int] = field(default_factory=dict)  # route id -> runs in which it chose


def flow_history(graph: Graph, states: Iterable[RunState]) -> FlowHistory:
    history = FlowHistory()
    kinds = {nid: n.kind for nid, n in graph.nodes.items()}
    for state in states:
        for nid, span in state.spans.items():
            if kinds.get(nid) == "map" and span.status is StepStatus.SUCCEEDED and span.items:
                history.items.setdefault(nid, []).append(len(span.items))
            elif kinds.get(nid) == "route" and span.status is StepStatus.SUCCEEDED:
                history.decided[nid] = history.decided.get(nid, 0) + 1
                counts = history.taken.setdefault(nid, {})
                for name in filter(None, (p.strip() for p in span.output.split(","))):
                    counts[name] = counts.get(name, 0) + 1
    return history


@dataclass(frozen=True)
class FlowEstimate:
    """The range a graph's routes give (USD and milliseconds), and the expected cost from history."""

    cheapest_cost: float | None
    costliest_cost: float | None
    cheapest_wall_ms: float
    costliest_wall_ms: float
    cheapest_path: tuple[str, ...]  # the branch each route takes, by name
    costliest_path: tuple[str, ...]
    expected_cost: float | None = None  # from observed branch frequencies (None: a route never recorded)
    expected_runs: int = 0  # the fewest recorded decisions of any route
    costliest_routes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # route id -> its dearest branch

    def text(self) -> str:
        low, high = _usd(self.cheapest_cost), _usd(self.costliest_cost)
        line = f"routes: {low} – {high} (cheapest path {', '.join(self.cheapest_path)}; "
        line += f"most expensive {', '.join(self.costliest_path)})"
        if self.expected_cost is not None:
            line += f"; expected {_usd(self.expected_cost)} from {self.expected_runs}+ recorded run(s)"
        return line

    def to_json(self) -> dict[str, object]:
        return {
            "cheapest_cost_usd": self.cheapest_cost,
            "costliest_cost_usd": self.costliest_cost,
            "cheapest_wall_ms": self.cheapest_wall_ms,
            "costliest_wall_ms": self.costliest_wall_ms,
            "cheapest_path": list(self.cheapest_path),
            "costliest_path": list(self.costliest_path),
            "expected_cost_usd": self.expected_cost,
        }


def _usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:.4f}" if value >= 0.01 else f"${value:.6f}"


Simulate = Callable[[dict[str, tuple[str, ...]]], RunState]


class FlowPlan:
    """The stand-ins an estimate runs a graph's maps and routes with."""

    def __init__(self, graph: Graph, history: FlowHistory | None = None):
        self.graph = graph
        self.history = history or FlowHistory()
        self.items: dict[str, int] = {}
        self.item_notes: dict[str, str] = {}  # map name -> where its count comes from
        for node in graph.nodes.values():
            if node.kind != "map":
                continue
            declared = int(node.param("expected_items") or 0)
            seen = self.history.items.get(node.id, [])
            if declared:
                count, why = declared, "declared"
            elif seen:
                count, why = round(sum(seen) / len(seen)), f"mean of {len(seen)} recorded run(s)"
            else:
                count, why = ASSUMED_ITEMS, "assumed; declare Expected items or run it once"
            self.items[node.id] = count
            self.item_notes[node.name] = f"× {count} items ({why})"
        self.routes = [nid for nid, n in graph.nodes.items() if n.kind == "route"]
        self.every_branch = {r: tuple(self._branches(r)) for r in self.routes}

    def _branches(self, route: str) -> list[str]:
        nodes = self.graph.nodes
        return list(dict.fromkeys(nodes[e.target].name for e in self.graph.edges.values() if e.source == route))

    def estimate_routes(self, simulate: Simulate) -> tuple[RunState, FlowEstimate | None]:
        """The most expensive path's run, and the range; ``simulate(forced_routes)`` runs the estimate."""
        if not self.routes:
            return simulate({}), None
        every = simulate(self.every_branch)
        costs = {r: self._branch_costs(every, r) for r in self.routes}
        cheap: dict[str, tuple[str, ...]] = {r: (min(c, key=c.__getitem__),) if c else () for r, c in costs.items()}
        dear: dict[str, tuple[str, ...]] = {r: (max(c, key=c.__getitem__),) if c else () for r, c in costs.items()}
        low, high = simulate(cheap), simulate(dear)
        low_totals, high_totals = low.totals(), high.totals()
        flow = FlowEstimate(
            low_totals.cost_usd,
            high_totals.cost_usd,
            round(low_totals.wall * 1000, 3),
            round(high_totals.wall * 1000, 3),
            tuple(name for r in self.routes for name in cheap[r]),
            tuple(name for r in self.routes for name in dear[r]),
            *self._expected(low_totals.cost_usd, costs, cheap),
            dear,
        )
        return high, flow

    def basis(self, span: NodeSpan, basis: str) -> str:
        """A step's basis, with a map's item count and where it comes from, and a branch not taken."""
        if span.kind == "map" and span.name in self.item_notes:
            return self.item_notes[span.name]
        if span.status is StepStatus.NOT_TAKEN:
            return "not taken on the most expensive path"
        return basis

    def _branch_costs(self, state: RunState, route: str) -> dict[str, float]:
        """Each branch's cost in ``state``: the steps only that branch of ``route`` leads to."""
        dag = state.dag()
        below = {name: _descendants(dag.succs, state.span_by_name(name).node_id) for name in self.every_branch[route]}
        out = {}
        for name, mine in below.items():
            others = set().union(*(b for n, b in below.items() if n != name))
            out[name] = sum(state.spans[nid].cost_usd or 0.0 for nid in mine - others)
        return out

    def _expected(
        self, cheapest: float | None, costs: dict[str, dict[str, float]], cheap: dict[str, tuple[str, ...]]
    ) -> tuple[float | None, int]:
        """The cheapest path's cost plus, per route, each branch's extra cost over the cheapest branch
        times how often recorded runs took it."""
        decided = [self.history.decided.get(r, 0) for r in self.routes]
        if cheapest is None or not all(decided):
            return None, 0
        total = cheapest
        for r in self.routes:
            taken = self.history.taken.get(r, {})
            base = sum(costs[r][name] for name in cheap[r])
            for name, cost in costs[r].items():
                total += taken.get(name, 0) / self.history.decided[r] * (cost - base)
        return round(total, 8), min(decided)


def _descendants(succs: Mapping[str, Sequence[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in succs.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
