"""The advisor on pick-best steps (issue 15's gap): what generating n candidates to keep one costs.

A pick-best step's candidates are its direct upstream model steps. n candidates cost n calls' tokens (and
the judge reads all n), while, run in parallel on a server that serves them at once, they take about as
long as one; on a server that serves one request at a time, or under a sequential strategy, they take
n times as long. The figures are the estimate's. When the candidates and the judge are most of the
run's cost (or of its tokens, when nothing is priced), the advice says so and suggests fewer candidates
or a cheaper model for them (the judge still picks the best), with the predicted effect of dropping the
last candidate (undoable, when nothing else reads it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chainstudio.core.editing.commands import Command, RemoveNodes
from chainstudio.core.graph.kinds import MODEL_KINDS
from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.planning.estimate import Estimate, NodeEstimate

DOMINANT_SHARE = 0.5  # candidates and judge at least this share of the run's cost: suggest fewer or cheaper
Effect = Callable[[Command], "tuple[float, int, float | None] | None"]  # (ms saved, token change, cost change)


@dataclass(frozen=True)
class PickAdvice:
    title: str
    detail: str
    effect: tuple[float, int, float | None] | None = None  # of ``make_command``, predicted
    make_command: Callable[[], Command] | None = None


def candidates_of(graph: Graph, node: Node) -> list[Node]:
    """A pick-best step's candidates: its direct upstream model steps, in edge order."""
    ids = dict.fromkeys(e.source for e in graph.edges.values() if e.target == node.id)
    return [graph.nodes[i] for i in ids if graph.nodes[i].kind in MODEL_KINDS]


def _secs(ms: float) -> str:
    return f"{ms / 1000:,.1f} s"


def _usd(value: float | None) -> str:
    if value is None:
        return "an unknown cost"
    return f"${value:.4f}" if value >= 0.01 else f"${value:.6f}"


def _sum_cost(nodes: list[NodeEstimate]) -> float | None:
    costs = [n.cost_usd for n in nodes]
    return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)


def _timing(nodes: list[NodeEstimate]) -> str:
    """How long the candidates take together, against one and against one after another."""
    timed = [n for n in nodes if n.start_ms is not None and n.end_ms is not None]
    if len(timed) != len(nodes):
        return ""
    span = max(n.end_ms or 0.0 for n in timed) - min(n.start_ms or 0.0 for n in timed)
    one = max(n.duration_ms for n in timed)
    serial = sum(n.duration_ms for n in timed)
    if span <= one * 1.25:
        return (
            f" Run in parallel they take about as long as one: {_secs(span)} (the slowest alone {_secs(one)}), "
            f"against {_secs(serial)} one after another."
        )
    return (
        f" They take {_secs(span)}, {span / one:.1f}× the slowest alone ({_secs(one)}): the strategy or the "
        "server runs them (partly) one after another."
    )


def pick_best_advice(graph: Graph, base: Estimate, effect: Effect) -> list[PickAdvice]:
    """One piece of advice per pick-best step with two or more candidates the estimate reached."""
    out = []
    estimated = {n.name: n for n in base.nodes}
    for node in graph.nodes.values():
        if node.kind != "pick_best" or node.name not in estimated:
            continue
        candidates = [c for c in candidates_of(graph, node) if c.name in estimated]
        if len(candidates) < 2:
            continue
        figures = [estimated[c.name] for c in candidates]
        judge = estimated[node.name]
        n = len(candidates)
        tokens = sum(f.input_tokens + f.output_tokens for f in figures)
        judge_tokens = judge.input_tokens + judge.output_tokens
        cost, judge_cost = _sum_cost(figures), judge.cost_usd
        how = "a judge call" if judge_tokens else f"its score field {node.param('score_field')!r} (no call)"
        detail = (
            f"{node.name} keeps 1 of {n} candidates ({', '.join(c.name for c in candidates)}), picked by {how}. "
            f"The {n} candidates cost {tokens:,} tokens and {_usd(cost)}: {n}× one"
            + (f"; the judge reads all {n} ({judge_tokens:,} tokens, {_usd(judge_cost)})." if judge_tokens else ".")
            + _timing(figures)
        )
        share = _share(base, tokens + judge_tokens, None if cost is None else cost + (judge_cost or 0.0))
        make, predicted = _drop_last(graph, node, candidates, effect)
        if share is not None and share >= DOMINANT_SHARE:
            models = ", ".join(sorted({str(c.param("model")) for c in candidates if c.kind == "llm"})) or "theirs"
            judge_more = judge_tokens > tokens if not base.cost_usd else (judge_cost or 0.0) > (cost or 0.0)
            detail += (
                f" Candidates and judge are {share:.0%} of the run's {'cost' if base.cost_usd else 'tokens'}: "
                + (
                    "here the judge costs more than the candidates, so fewer candidates (each one dropped is also "
                    "text the judge no longer reads) or shorter ones save most; a cheaper model for them than "
                    f"{models} saves less."
                    if judge_more
                    else f"fewer candidates, or a cheaper model for them than {models} (the judge still picks the "
                    "best), save most."
                )
            )
            if predicted is not None:
                _, token_change, cost_change = predicted
                detail += (
                    f" Dropping {candidates[-1].name} (Apply) is predicted to save {-token_change:,} tokens"
                    + ("" if cost_change is None else f" and {_usd(-cost_change)}")
                    + "."
                )
        title = f"Pick best {node.name}: {n} candidates cost {n}× one" + (
            f" ({share:.0%} of the run)" if share is not None else ""
        )
        out.append(PickAdvice(title, detail, predicted, make))
    return out


def _share(base: Estimate, tokens: int, cost: float | None) -> float | None:
    """The candidates' and judge's share of the run's cost (of its tokens when the run costs nothing)."""
    if base.cost_usd:
        return None if cost is None else cost / base.cost_usd
    return tokens / base.total_tokens if base.total_tokens else None


def _drop_last(
    graph: Graph, node: Node, candidates: list[Node], effect: Effect
) -> tuple[Callable[[], Command] | None, tuple[float, int, float | None] | None]:
    """Removing the last candidate, when only the pick-best step reads it: the command and its effect."""
    last = candidates[-1]
    readers = {e.target for e in graph.edges.values() if e.source == last.id}
    if readers != {node.id}:
        return None, None

    def make() -> Command:
        command = RemoveNodes([last.id])
        command.label = f"Drop candidate {last.name}"
        return command

    predicted = effect(make())
    return (make, predicted) if predicted is not None else (None, None)
