"""The prompt-caching lever: the advisor's rule for a shared context re-sent to many branches, and the
predicted effect of warming its prefix (``core.run.warm_prefix``).

A server with a prompt cache reads the start a prompt shares with one it has processed from its cache, at
the model's cached-input price (OpenAI: from 1,024 tokens on) and without its prefill time. Two things
stop a fan-out from using it: the shared context is not at the start of the prompts (each branch begins
with its own task), and the branches start together, before any prompt is processed.

``prefix_advice`` finds a graph input or step output that several LLM steps read in full, large enough to
matter, and looks at their prompts as the estimate renders them. If the prompts do not begin with it, and
the paragraph that holds it is the same in each prompt (and the system prompts are the same), it proposes
moving that paragraph first: one undoable edit (Apply). If they differ, it says what to change (advice
only). If they already begin with it, it proposes the warm-prefix run option. Each advice carries the
effect the estimate predicts with the warm-prefix option on: the cached tokens, the saving at the model's
cached-input price (genai-prices, or the user's ``cached_input`` price), and the latency it costs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from chainstudio.core.editing.commands import Batch, Command, SetParam
from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.estimate import Estimate
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.run.warm_prefix import messages_text, predict_cached, shared_prefix_chars, span_messages
from chainstudio.core.tokens import count_tokens

MIN_CONTEXT_TOKENS = 150  # a shared context smaller than this is not worth caching
OPENAI_MIN_PREFIX = 1024  # OpenAI caches prompts from this many tokens on
_REF = r"\{\{\s*%s\s*\}\}"

EstimateWith = Callable[[Graph, bool], Estimate]  # (graph, warm_prefix) -> its estimate


@dataclass(frozen=True)
class CacheEffect:
    wall_ms_added: float  # the latency the warm-up costs (after - before)
    cached_tokens: int  # prompt tokens predicted to come from the cache
    saving_usd: float | None  # at the cached-input price; None when a price is unknown
    cost_change: float | None  # the estimate's cost change with the saving included


@dataclass(frozen=True)
class PrefixAdvice:
    kind: str  # "prefix_reorder" (Apply: reorder the templates) | "prefix_reorder_manual" | "warm_prefix"
    title: str
    detail: str
    effect: CacheEffect | None
    make_command: Callable[[], Command] | None = None


def cache_saving(graph: Graph, state_cached: dict[str, int], pricing: Pricing) -> float | None:
    """What the cached tokens save against the full input price, per step at its model's prices."""
    total = 0.0
    for node_id, tokens in state_cached.items():
        model = str(graph.nodes[node_id].param("model"))
        full, cached = pricing.cost_usd(model, tokens, 0), pricing.cost_usd(model, tokens, 0, tokens)
        if full is None or cached is None:
            return None
        total += full - cached
    return total


def cache_effect(graph: Graph, base: Estimate, estimate_with: EstimateWith, pricing: Pricing) -> CacheEffect:
    """The predicted effect of running ``graph`` with the warm-prefix option, against ``base``."""
    after = estimate_with(graph, True)
    cached = predict_cached(after.run_state)
    before = sum(predict_cached(base.run_state).values())
    saving = cache_saving(graph, cached, pricing)
    base_saving = cache_saving(graph, predict_cached(base.run_state), pricing)
    cost = None
    if saving is not None and base_saving is not None and after.cost_usd is not None and base.cost_usd is not None:
        cost = (after.cost_usd - saving) - (base.cost_usd - base_saving)
    return CacheEffect(after.wall_ms - base.wall_ms, sum(cached.values()) - before, saving, cost)


def _readers(graph: Graph) -> dict[str, list[str]]:
    """Name (a step or a graph input) -> the LLM steps whose prompt reads it in full."""
    found: dict[str, list[str]] = {}
    for node in graph.nodes.values():
        if node.kind != "llm":
            continue
        prompt = str(node.param("prompt") or "")
        for name in re.findall(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}", prompt):
            if graph.node_by_name(name) is not None and node.id not in found.setdefault(name, []):
                found[name].append(node.id)
    return {name: ids for name, ids in found.items() if len(ids) >= 2}


def _lead_paragraph(graph: Graph, reader_ids: list[str], name: str) -> str | None:
    """The paragraph holding ``{{ name }}``, when it is the same in every reader's prompt and every reader
    has the same system prompt; else None (the reorder is not one template edit)."""
    systems = {str(graph.nodes[i].param("system") or "") for i in reader_ids}
    paragraphs = set()
    for node_id in reader_ids:
        holding = [p for p in str(graph.nodes[node_id].param("prompt")).split("\n\n") if re.search(_REF % name, p)]
        if len(holding) != 1:
            return None
        paragraphs.add(holding[0])
    return paragraphs.pop() if len(paragraphs) == 1 and len(systems) == 1 else None


def _reordered(graph: Graph, reader_ids: list[str], lead: str, name: str) -> Callable[[], Command]:
    def command() -> Command:
        edits = []
        for node_id in reader_ids:
            rest = [p for p in str(graph.nodes[node_id].param("prompt")).split("\n\n") if p != lead]
            edits.append(SetParam(node_id, "prompt", "\n\n".join([lead, *rest])))
        return Batch(edits, label=f"Put {name} first for the prompt cache")

    return command


def _shared_start_tokens(base: Estimate, reader_ids: list[str]) -> int:
    """The tokens the readers' rendered messages (as the estimate rendered them) share at their start."""
    spans = [base.run_state.spans.get(i) for i in reader_ids]
    texts = [messages_text(span_messages(s.system, s.prompt)) for s in spans if s is not None and s.prompt]
    if len(texts) < 2:
        return 0
    shared = min(shared_prefix_chars(texts[0], t) for t in texts[1:])
    return count_tokens(texts[0][:shared].replace("\x1e", " "))


def _effect_text(effect: CacheEffect, model_note: str) -> str:
    saving = "an unknown amount" if effect.saving_usd is None else f"${effect.saving_usd:.4f}"
    return (
        f" Predicted with Warm prefix on: {effect.cached_tokens:,} prompt tokens read from the cache, saving "
        f"{saving}{model_note}, for {effect.wall_ms_added / 1000:+.1f} s of latency (the other branches wait "
        "for the first one's first token)."
    )


def prefix_advice(
    graph: Graph, base: Estimate, estimate_with: EstimateWith, pricing: Pricing, *, warm_prefix: bool = False
) -> list[PrefixAdvice]:
    """The prompt-caching advice for ``graph`` (see the module docstring); ``base`` is its estimate as it
    would run now (``warm_prefix``: with that option already on)."""
    out: list[PrefixAdvice] = []
    for name, reader_ids in _readers(graph).items():
        size = _context_tokens(graph, base, name)
        if size < MIN_CONTEXT_TOKENS:
            continue
        names = ", ".join(graph.nodes[i].name for i in reader_ids)
        model = str(graph.nodes[reader_ids[0]].param("model"))
        note = _price_note(pricing, model)
        shared = _shared_start_tokens(base, reader_ids)
        small = (
            f" (OpenAI caches only prompts of {OPENAI_MIN_PREFIX:,} tokens or more: smaller ones save nothing there)"
            if size < OPENAI_MIN_PREFIX and not pricing.free_note
            else ""
        )
        if shared >= size:
            if warm_prefix:
                continue
            effect = cache_effect(graph, base, estimate_with, pricing)
            out.append(
                PrefixAdvice(
                    "warm_prefix",
                    f"Warm the shared prefix before {len(reader_ids)} steps fan out",
                    f"{names} begin with the same ~{shared:,} tokens ({name}), but start together, before the "
                    f"server has cached any of them. Turn on Warm prefix (run toolbar, or --warm-prefix) so one "
                    f"branch goes first{small}." + _effect_text(effect, note),
                    effect,
                )
            )
            continue
        lead = _lead_paragraph(graph, reader_ids, name)
        if lead is None:
            out.append(
                PrefixAdvice(
                    "prefix_reorder_manual",
                    f"Put {name} at the start of the prompts of {names}",
                    f"About {size:,} tokens of {name} go to {len(reader_ids)} steps, but their prompts share only "
                    f"{shared:,} tokens at the start, so a prompt cache cannot reuse {name}. Make the text up to "
                    f"and including {{{{ {name} }}}} the same in each prompt (and the system prompts the same), "
                    f"then run with Warm prefix{small}.",
                    None,
                )
            )
            continue
        make = _reordered(graph, reader_ids, lead, name)
        trial = graph.copy()
        make().apply(trial)
        after = estimate_with(trial, False)
        effect = cache_effect(trial, after, estimate_with, pricing)
        effect = CacheEffect(
            effect.wall_ms_added + after.wall_ms - base.wall_ms,
            effect.cached_tokens,
            effect.saving_usd,
            effect.cost_change,
        )
        out.append(
            PrefixAdvice(
                "prefix_reorder",
                f"Put {name} first in {len(reader_ids)} prompts so the server can cache it",
                f"About {size:,} tokens of {name} go to each of {names}, after a different task in each, so "
                f"the prompts share only {shared:,} tokens at the start and a prompt cache cannot reuse {name}. "
                f"Apply moves the paragraph with {name} to the start of each prompt (the task follows it){small}."
                + _effect_text(effect, note),
                effect,
                make,
            )
        )
    return out


def _context_tokens(graph: Graph, base: Estimate, name: str) -> int:
    node = graph.node_by_name(name)
    if node is None:
        return 0
    if node.kind == "llm":
        return base.node(name).output_tokens
    span = base.run_state.spans.get(node.id)
    return count_tokens(span.output) if span is not None else 0


def _price_note(pricing: Pricing, model: str) -> str:
    if pricing.free_note:
        return f" ({pricing.free_note}; it saves prefill time)"
    full, cached = pricing.cost(model, 1_000_000, 0), pricing.cost(model, 1_000_000, 0, 1_000_000)
    if full is None or cached is None:
        return f" ({model}'s price is unknown)"
    return f" at {model}'s cached-input price (${cached.normalize():f}/M instead of ${full.normalize():f}/M)"
