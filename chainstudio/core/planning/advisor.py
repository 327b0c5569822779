"""The advisor: the seed tutorial's decision rules applied to a real graph, with numbers. Over 400 lines
because its rules (shape, capacity, ordering edges, shared context, concurrency) share one report.

It says whether the graph is sequential, parallel or hybrid; finds edges that carry no data (they only
order steps) and what removing each would take off the predicted wall time; flags fan-outs that resend
the same large context to every branch (duplicated tokens and their cost); recommends a concurrency cap
from the provider's rate limits; and says what a pick-best step's candidates cost (``pick_advice``). Each
graph recommendation carries a command factory (undoable, for the editor) and its effect as predicted by the
estimate of the graph with the command applied.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from chainstudio.core.editing.commands import Batch, Command, Connect, Disconnect, SetParam
from chainstudio.core.graph.analysis import Analysis, layers
from chainstudio.core.graph.kinds import NODE_KINDS
from chainstudio.core.graph.model import Graph, Node
from chainstudio.core.graph.templating import References, TemplateProblem, references
from chainstudio.core.graph.validation import errors, input_name, ordering_only_edges, validate
from chainstudio.core.planning.endpoint_plans import EndpointPlan, plan_models
from chainstudio.core.planning.estimate import Estimate, estimate
from chainstudio.core.planning.flow_advice import call_intervals, flow_advice
from chainstudio.core.planning.latency_model import LatencyModel
from chainstudio.core.planning.pick_advice import pick_best_advice
from chainstudio.core.planning.prefix_cache import prefix_advice
from chainstudio.core.run.executor import Strategy
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.rate_limits import RateLimits
from chainstudio.core.run.topology import with_model
from chainstudio.core.tokens import count_tokens

LARGE_CONTEXT_TOKENS = 150  # a shared context at least this large, sent to 2+ branches, is flagged
TRIM_TO_TOKENS = 120
EDGES_ADVISED = 10  # ordering-only edges advised one by one (an estimate each); all of them together too
EDGES_NAMED = 10  # ... named in the advice to remove them all

EstimateOf = Callable[[Graph], Estimate]  # the estimate of a graph under the options being advised on


@dataclass
class Advice:
    # "capacity", "ordering_edges", "ordering_edge", "shared_context", "concurrency", prefix_cache's; "map",
    # "route", "pick_best"
    kind: str
    title: str
    detail: str
    wall_ms_saved: float | None = None  # predicted, when applied
    tokens_change: int | None = None
    cost_change: float | None = None
    make_command: Callable[[], Command] | None = field(default=None, repr=False)
    concurrency: int | None = None  # for "concurrency" advice: the cap to use
    cached_tokens: int | None = None  # prompt-caching advice: prompt tokens predicted to come from the cache

    @property
    def applicable(self) -> bool:
        return self.make_command is not None or self.concurrency is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "detail": self.detail,
            "wall_ms_saved": self.wall_ms_saved,
            "tokens_change": self.tokens_change,
            "cost_change": self.cost_change,
            "concurrency": self.concurrency,
            "cached_tokens": self.cached_tokens,
        }


@dataclass
class Report:
    shape: str  # "sequential" | "parallel" | "hybrid" | "single step" | "empty"
    shape_reason: str
    baseline: Estimate
    advice: list[Advice]

    def to_json(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "shape_reason": self.shape_reason,
            "wall_ms": self.baseline.wall_ms,
            "wall_ms_range": None if self.baseline.wall_ms_range is None else list(self.baseline.wall_ms_range),
            "calibrated": not self.baseline.uncalibrated,
            "capacity": self.baseline.capacity,
            "basis": self.baseline.basis_text(),
            "total_tokens": self.baseline.total_tokens,
            "cost_usd": self.baseline.cost_usd,
            "placeholder_inputs": list(self.baseline.placeholders),
            "problem": self.baseline.problem,
            "advice": [a.to_json() for a in self.advice],
        }


def classify(graph: Graph) -> tuple[str, str]:
    """The seed's three shapes, judged on the layers that call a model."""
    llm_layers = [[n for n in layer if graph.nodes[n].kind == "llm"] for layer in layers(graph)]
    widths = [len(layer) for layer in llm_layers if layer]
    if not widths:
        return "empty", "the graph has no LLM steps"
    if sum(widths) == 1:
        return "single step", "one LLM step"
    if max(widths) == 1:
        return "sequential", f"{sum(widths)} LLM steps, one after another ({len(widths)} layers of one)"
    if len(widths) <= 2 and widths[0] > 1 and (len(widths) == 1 or widths[1] == 1):
        tail = ", then one aggregate" if len(widths) == 2 else ""
        return "parallel", f"{widths[0]} independent LLM steps side by side{tail}"
    shape = " → ".join(str(w) for w in widths)
    return "hybrid", f"parallel groups joined by dependencies (LLM steps per layer: {shape})"


def _effect(
    graph: Graph, command: Command, base: Estimate, run_estimate: EstimateOf
) -> tuple[float, int, float | None] | None:
    trial = graph.copy()
    command.apply(trial)
    if errors(validate(trial)):
        return None
    after = run_estimate(trial)
    cost = None if after.cost_usd is None or base.cost_usd is None else after.cost_usd - base.cost_usd
    return base.wall_ms - after.wall_ms, after.total_tokens - base.total_tokens, cost


def _edge_text(graph: Graph, edge_id: str) -> str:
    edge = graph.edges[edge_id]
    return f"{graph.nodes[edge.source].name} → {graph.nodes[edge.target].name}"


def _template_references(node: Node) -> Iterator[tuple[str, References]]:
    """Each of ``node``'s templates that parses: its text and what it refers to."""
    for spec in NODE_KINDS[node.kind].template_fields:
        text = str(node.param(spec.name) or "")
        try:
            refs = references(text)
        except TemplateProblem:
            continue
        yield text, refs


def _without_edges(graph: Graph, edge_ids: tuple[str, ...]) -> Callable[[], Command]:
    """A command removing ``edge_ids`` that keeps every template's data upstream: a step that read an
    output through a removed edge gets a direct edge from that step instead."""
    trial = graph.copy()
    for edge_id in edge_ids:
        del trial.edges[edge_id]
    analysis = Analysis(trial)
    needed: list[tuple[str, str]] = []
    for node in trial.nodes.values():
        for _, refs in _template_references(node):
            for name in sorted(refs.steps):
                source = trial.node_by_name(name)
                if (
                    source is not None
                    and not analysis.is_ancestor(source.id, node.id)
                    and (source.id, node.id) not in needed
                ):
                    needed.append((source.id, node.id))
    label = "Remove edges that carry no data" if len(edge_ids) > 1 else "Remove an edge that carries no data"
    return lambda: Batch([Disconnect(edge_ids), *(Connect(s, t) for s, t in needed)], label=label)


def _no_gain(base: Estimate, saved: float) -> str:
    """What to add to a parallelising advice that saves (almost) nothing because the server runs few at once."""
    if base.capacity is None or saved > 0.02 * base.wall_ms:
        return ""
    n = base.capacity
    return (
        f" On this server it saves no time: it serves {n} request{'s' * (n != 1)} at a time, so steps made "
        "parallel only queue. It pays on a server that runs requests in parallel."
    )


def _ordering_advice(graph: Graph, base: Estimate, run_estimate: EstimateOf) -> list[Advice]:
    order = {edge_id: i for i, edge_id in enumerate(graph.edges)}
    edge_ids = sorted(ordering_only_edges(graph), key=order.__getitem__)
    out: list[Advice] = []
    for edge_id in edge_ids[:EDGES_ADVISED]:  # one estimate each: the first few (a big graph has 90,000)
        make = _without_edges(graph, (edge_id,))
        effect = _effect(graph, make(), base, run_estimate)
        if effect is None:
            continue
        saved, tokens, cost = effect
        target = graph.nodes[graph.edges[edge_id].target].name
        out.append(
            Advice(
                "ordering_edge",
                f"Remove {_edge_text(graph, edge_id)}",
                f"{target} never reads this step's output; the edge only makes it wait.{_no_gain(base, saved)}",
                saved,
                tokens,
                cost,
                make_command=make,
            )
        )
    if len(edge_ids) > 1:
        make = _without_edges(graph, tuple(edge_ids))
        effect = _effect(graph, make(), base, run_estimate)
        if effect is not None:
            saved, tokens, cost = effect
            names = ", ".join(_edge_text(graph, e) for e in edge_ids[:EDGES_NAMED])
            if len(edge_ids) > EDGES_NAMED:
                names += f" and {len(edge_ids) - EDGES_NAMED:,} more"
            out.insert(
                0,
                Advice(
                    "ordering_edges",
                    f"Remove all {len(edge_ids)} edges that carry no data",
                    f"These steps do not depend on each other's data ({names}); without the edges "
                    f"they can run in parallel.{_no_gain(base, saved)}",
                    saved,
                    tokens,
                    cost,
                    make_command=make,
                ),
            )
    return out


_REF = r"\{\{\s*%s\s*\}\}"


def _trimmed(graph: Graph, reader_ids: tuple[str, ...], name: str) -> Callable[[], Command]:
    """A command making each reader's prompt read only the first tokens of ``name``."""

    def command() -> Command:
        return Batch(
            [
                SetParam(
                    i,
                    "prompt",
                    re.sub(
                        _REF % re.escape(name),
                        f"{{{{ {name} | truncate_tokens({TRIM_TO_TOKENS}) }}}}",
                        str(graph.nodes[i].param("prompt")),
                    ),
                )
                for i in reader_ids
            ],
            label=f"Trim {name} for its readers",
        )

    return command


def _shared_context_advice(graph: Graph, base: Estimate, run_estimate: EstimateOf, pricing: Pricing) -> list[Advice]:
    """Fan-outs: one step's output (or a graph input) read in full by several LLM steps."""
    readers: dict[str, list[str]] = {}
    for node in graph.nodes.values():
        if node.kind != "llm":
            continue
        for text, refs in _template_references(node):
            for name in refs.steps:
                if re.search(_REF % re.escape(name), text):  # read in full, not truncated
                    readers.setdefault(name, [])
                    if node.id not in readers[name]:
                        readers[name].append(node.id)
    out: list[Advice] = []
    for name, node_ids in readers.items():
        if len(node_ids) < 2:
            continue
        source = graph.node_by_name(name)
        if source is None:
            continue
        size = base.node(name).output_tokens if source.kind == "llm" else _input_tokens(graph, source)
        if size < LARGE_CONTEXT_TOKENS:
            continue
        duplicated = size * (len(node_ids) - 1)
        cost = _duplicate_cost(graph, node_ids, size, pricing)
        cost_text = "unknown cost" if cost is None else f"${cost:.4f}"
        commands = _trimmed(graph, tuple(node_ids), name)
        effect = _effect(graph, commands(), base, run_estimate)
        saved, tokens, cost_change = effect if effect else (None, None, None)
        readers_text = ", ".join(graph.nodes[i].name for i in node_ids)
        out.append(
            Advice(
                "shared_context",
                f"{name} is sent in full to {len(node_ids)} steps",
                f"About {size:,} tokens of {name} go to each of {readers_text}: {duplicated:,} duplicated "
                f"input tokens ({cost_text}). Pass a trimmed version (first {TRIM_TO_TOKENS} tokens) or a "
                "summary if the branches do not need all of it.",
                saved,
                tokens,
                cost_change,
                make_command=commands if effect else None,
            )
        )
    return out


def _input_tokens(graph: Graph, node: Node) -> int:
    graph_input = graph.input_named(input_name(node))
    return count_tokens(graph_input.default or "") if graph_input else 0


def _duplicate_cost(graph: Graph, node_ids: list[str], size: int, pricing: Pricing) -> float | None:
    total = 0.0
    for node_id in node_ids[1:]:
        cost = pricing.cost_usd(str(graph.nodes[node_id].param("model")), size, 0)
        if cost is None:
            return None
        total += cost
    return total


def capacity_advice(base: Estimate, latency: LatencyModel | None) -> list[Advice]:
    """On a server measured to serve N requests at once, more than N in flight will not finish sooner:
    say so, with a cap of N (when the graph would put more in flight)."""
    if latency is None or not latency.capacity.measured or base.capacity is None:
        return []
    n, peak = base.capacity, _peak(base)
    if peak <= n:
        return []
    return [
        Advice(
            "capacity",
            f"Parallelism will not pay on this server: use concurrency {n}",
            f"{latency.endpoint} {latency.capacity.describe()}. This graph would put up to "
            f"{peak} calls in flight; the extra ones only queue or share the same speed, so the run takes about "
            f"as long as with {n} at a time (predicted {base.wall_ms / 1000:,.1f} s either way), and each call "
            "waits longer for its first token. A cap of "
            f"{n} keeps every call's timing honest; removing edges or fanning out more saves no time here.",
            concurrency=n,
        )
    ]


def _peak(base: Estimate) -> int:
    """The most model calls the estimate had in flight at once (a map's items each count)."""
    calls = call_intervals(base.run_state)
    points = sorted(
        [(start, 1) for start, _ in calls] + [(end, -1) for _, end in calls],
        key=lambda p: (p[0], p[1]),
    )
    peak = running = 0
    for _, step in points:
        running += step
        peak = max(peak, running)
    return max(peak, 1)


def recommend_concurrency(base: Estimate, limits: RateLimits | None) -> Advice:
    """The cap that keeps the run within the rate limits (or the run's peak parallelism without limits)."""
    spans = [s for s in base.run_state.spans.values() if s.kind == "llm" and s.started_at is not None]
    peak = _peak(base)
    if base.capacity is not None and base.capacity_measured:
        peak = min(peak, base.capacity)  # more in flight is not served any sooner
    if not spans:
        return Advice("concurrency", "No model calls", "Nothing to cap.", concurrency=1)
    mean_seconds = sum(s.duration or 0.0 for s in spans) / len(spans)
    mean_tokens = sum(s.input_tokens + s.output_tokens for s in spans) / len(spans)
    caps = []
    if limits and limits.requests_per_minute:
        caps.append(("requests per minute", limits.requests_per_minute * mean_seconds / 60))
    if limits and limits.tokens_per_minute and mean_tokens > 0:
        caps.append(("tokens per minute", limits.tokens_per_minute * mean_seconds / (60 * mean_tokens)))
    if not caps:
        return Advice(
            "concurrency",
            f"Concurrency {peak} is enough",
            f"At most {peak} call{' is' if peak == 1 else 's are'} ever in flight for this graph; a higher cap "
            "changes nothing. Set "
            "the provider's rate limits to get a cap that avoids 429s.",
            concurrency=peak,
        )
    reason, value = min(caps, key=lambda c: c[1])
    cap = max(1, min(peak, math.floor(value)))
    return Advice(
        "concurrency",
        f"Use concurrency {cap}",
        f"Calls take {mean_seconds:.1f} s and {mean_tokens:,.0f} tokens on average; with the limit on "
        f"{reason}, {cap} in flight stays under it (peak parallelism of this graph: {peak}).",
        concurrency=cap,
    )


def advise(
    graph: Graph,
    *,
    strategy: Strategy = "eager",
    concurrency: int | None = None,
    rate_limits: RateLimits | None = None,
    latency: LatencyModel | None = None,
    pricing: Pricing | None = None,
    model: str | None = None,
    inputs: Mapping[str, str] | None = None,
    checkpoint: Callable[[], None] | None = None,
    warm_prefix: bool = False,
    endpoints: Mapping[str, EndpointPlan] | None = None,
) -> Report:
    """The advice for ``graph`` run with these options on the endpoint ``latency`` models (default: the
    simulator); ``model``: every LLM step uses this model. Inputs without a default and not in ``inputs`` are
    estimated with a placeholder (``report.baseline.placeholders`` names them). ``checkpoint`` goes to every
    estimate. ``endpoints``: the plan of each endpoint profile the steps name (their own latency, prices,
    limits and model); ``warm_prefix``: the run option (``core.run.warm_prefix``)."""
    pricing = pricing or Pricing()
    # every rule (the duplicated context's price too) sees the run's models, and each endpoint's
    graph = with_model(graph, model, plan_models(endpoints or {}))

    def run_estimate(g: Graph, with_range: bool = False, warm: bool = warm_prefix) -> Estimate:
        return estimate(
            g,
            inputs=inputs,
            checkpoint=checkpoint,
            strategy=strategy,
            concurrency=concurrency,
            latency=latency,
            pricing=pricing,
            rate_limits=rate_limits,
            with_range=with_range,
            warm_prefix=warm,
            endpoints=endpoints,
        )

    base = run_estimate(graph, with_range=True)
    shape, reason = classify(graph)
    capacity = capacity_advice(base, latency)
    advice = capacity + _ordering_advice(graph, base, run_estimate)
    advice += _shared_context_advice(graph, base, run_estimate, pricing)
    for found in prefix_advice(
        graph, base, lambda g, warm: run_estimate(g, warm=warm), pricing, warm_prefix=warm_prefix
    ):
        effect = found.effect
        advice.append(
            Advice(
                found.kind,
                found.title,
                found.detail,
                None if effect is None else -effect.wall_ms_added,
                None if effect is None else 0,
                None if effect is None else effect.cost_change,
                make_command=found.make_command,
                cached_tokens=None if effect is None else effect.cached_tokens,
            )
        )
    if not capacity or rate_limits is not None:
        advice.append(recommend_concurrency(base, rate_limits))
    advice += [Advice(kind, title, detail) for kind, title, detail in flow_advice(base, concurrency)]
    for pick in pick_best_advice(graph, base, lambda command: _effect(graph, command, base, run_estimate)):
        saved, tokens, cost = pick.effect or (None, None, None)
        advice.append(Advice("pick_best", pick.title, pick.detail, saved, tokens, cost, pick.make_command))
    return Report(shape, reason, base, advice)
