"""The trade-off view's numbers: per variant × strategy, latency p50/p95, tokens and cost per row, quality
with its interval, the overlap of parallel branches and the contradiction rate; and the Pareto front.

Quality is the judge's mean score (1..5) when the batch has a judge, else the first check's pass rate
(0..1). Intervals: see ``core.batch.stats``. A config is on the Pareto front when no other config is at
least as good on all three of cost per row (tokens when a price is unknown or nothing cost anything), p50
latency and quality, and
better on one. Failed rows count in the checks (a failed row fails them) but not in latency or cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chainstudio.core.batch.batch import CONTRADICTION, JUDGE
from chainstudio.core.batch.results import Config, RowResult
from chainstudio.core.batch.stats import Interval, bootstrap_mean, interval, percentile, wilson


@dataclass
class ConfigSummary:
    config: Config
    rows: int  # results kept (rows × repeats)
    failed: int
    latency_p50: float
    latency_p95: float
    tokens: float  # mean tokens per succeeded row
    cost: float | None  # mean cost per succeeded row (None: a price is unknown)
    total_cost: float | None
    quality: Interval | None
    quality_name: str
    scores: dict[str, Interval] = field(default_factory=dict)
    overlap: Interval | None = None
    contradictions: Interval | None = None
    wins: Interval | None = None  # pairwise: share of the judged pairs this config won (ties count half)
    pareto: bool = False
    simulated: bool = False
    tokens_estimated: bool = False

    @property
    def label(self) -> str:
        return self.config.label

    def to_json(self) -> dict[str, Any]:
        def iv(value: Interval | None) -> dict[str, Any] | None:
            return None if value is None else vars(value)

        return {
            "variant": self.config.variant,
            "strategy": self.config.strategy,
            "rows": self.rows,
            "failed": self.failed,
            "latency_p50_s": self.latency_p50,
            "latency_p95_s": self.latency_p95,
            "tokens_per_row": self.tokens,
            "cost_per_row_usd": self.cost,
            "total_cost_usd": self.total_cost,
            "quality": iv(self.quality),
            "quality_name": self.quality_name,
            "scores": {k: iv(v) for k, v in self.scores.items()},
            "overlap": iv(self.overlap),
            "contradictions": iv(self.contradictions),
            "pairwise_wins": iv(self.wins),
            "pareto": self.pareto,
            "simulated": self.simulated,
            "tokens_estimated": self.tokens_estimated,
        }


def quality_name(score_names: Sequence[str]) -> str:
    if JUDGE in score_names:
        return JUDGE
    checks = [n for n in score_names if n not in (JUDGE, CONTRADICTION)]
    return checks[0] if checks else ""


def summarize(
    configs: Sequence[Config], results: Sequence[RowResult], pairs: Mapping[str, Mapping[str, Any]] | None = None
) -> list[ConfigSummary]:
    names = list(dict.fromkeys(name for r in results for name in r.scores))
    primary = quality_name(names)
    summaries = []
    for config in configs:
        mine = [r for r in results if r.variant == config.variant and r.strategy == config.strategy]
        ok = [r for r in mine if r.status == "succeeded"]
        latencies = [r.latency_s for r in ok]
        costs = [r.cost_usd for r in ok]
        cost = None if not ok or any(c is None for c in costs) else sum(c or 0.0 for c in costs) / len(ok)
        scores = {}
        for name in names:
            values = [_score(r, name) for r in mine]
            kept = [v for v in values if v is not None]
            if kept:
                scores[name] = interval(kept) if name != JUDGE else bootstrap_mean(kept)
        overlaps = [r.overlap for r in ok if r.overlap is not None]
        summaries.append(
            ConfigSummary(
                config=config,
                rows=len(mine),
                failed=len(mine) - len(ok),
                latency_p50=percentile(latencies, 50),
                latency_p95=percentile(latencies, 95),
                tokens=sum(r.input_tokens + r.output_tokens for r in ok) / len(ok) if ok else 0.0,
                cost=cost,
                total_cost=None if cost is None else cost * len(ok),
                quality=scores.get(primary),
                quality_name=primary,
                scores={k: v for k, v in scores.items() if k != CONTRADICTION},
                overlap=bootstrap_mean(overlaps) if overlaps else None,
                contradictions=scores.get(CONTRADICTION),
                wins=_wins(config, pairs or {}),
                simulated=any(r.simulated for r in mine),
                tokens_estimated=any(r.tokens_estimated for r in ok),
            )
        )
    mark_pareto(summaries)
    return summaries


def _score(result: RowResult, name: str) -> float | None:
    if name in result.scores:
        return result.scores[name]
    return None


def _wins(config: Config, pairs: Mapping[str, Mapping[str, Any]]) -> Interval | None:
    label = config.label
    won = [p for p in pairs.values() if label in (p.get("a"), p.get("b"))]
    if not won:
        return None
    points = sum(1.0 if _winner(p) == label else 0.5 if p.get("winner") == "tie" else 0.0 for p in won)
    return wilson(points, len(won))


def _winner(pair: Mapping[str, Any]) -> str | None:
    winner = pair.get("winner")
    return pair.get("a") if winner == "A" else pair.get("b") if winner == "B" else None


def _axes(s: ConfigSummary, by_tokens: bool) -> tuple[float, float, float]:
    """(cost, latency, -quality): smaller is better on each."""
    quality = s.quality.mean if s.quality is not None else 0.0
    return (s.tokens if by_tokens else (s.cost or 0.0), s.latency_p50, -quality)


def by_tokens(summaries: Sequence[ConfigSummary]) -> bool:
    """Whether cost is read as tokens: a price is unknown, or every config cost nothing (a local server)."""
    ranked = [s for s in summaries if s.rows > s.failed]
    return any(s.cost is None for s in ranked) or all(not s.cost for s in ranked)


def mark_pareto(summaries: list[ConfigSummary]) -> None:
    ranked = [s for s in summaries if s.rows > s.failed]
    tokens = by_tokens(summaries)
    for s in ranked:
        mine = _axes(s, tokens)
        s.pareto = not any(
            all(o <= m for o, m in zip(other, mine, strict=True)) and other != mine
            for other in (_axes(t, tokens) for t in ranked if t is not s)
        )
