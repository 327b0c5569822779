"""A dataset batch: every row of a dataset through each variant (graph file) under each strategy, ``repeat``
times, scored by checks and judges, kept in a ``BatchStore`` as it goes.

``BatchSpec`` says what the batch is (its ``fingerprint`` ties a state file to it); ``BatchRun`` runs it:
the cells not yet in the store, config by config, through a ``RowRunner`` (``LiveRowRunner`` by default),
each result scored (checks at once, judges as model calls on the same shared limits) and kept, then the
pairwise judgements of the first two configs. ``on_progress`` hears a ``BatchProgress`` after each result.
A result that did not end (cancelled, stopped by the budget) is not kept, so a resumed batch runs it again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from chainstudio.core.batch.checks import Check
from chainstudio.core.batch.dataset import Dataset, row_inputs
from chainstudio.core.batch.judge import Judge, contradiction_prompt, pair_prompt, score_prompt
from chainstudio.core.batch.overlap import sibling_groups
from chainstudio.core.batch.results import Cell, Config, RowResult
from chainstudio.core.batch.runner import BatchJob, LiveRowRunner, RowOptions, RowRunner, SharedLimits
from chainstudio.core.batch.store import BatchStore
from chainstudio.core.graph.model import Graph
from chainstudio.core.run.context import Strategy
from chainstudio.core.storage.fileformat import to_document

JUDGE = "judge"
BATCH_API = "batch-api"  # the strategy label of the configs run through the Batch API (``api_runner``)
CONTRADICTION = "contradiction"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Variant:
    label: str
    graph: Graph
    mapping: dict[str, str]  # graph input -> dataset column


@dataclass
class BatchSpec:
    dataset: Dataset
    variants: list[Variant]
    strategies: list[Strategy]
    repeat: int = 1
    checks: list[Check] = field(default_factory=list)
    rubric: str | None = None  # LLM-as-judge: score each output by this rubric
    pairwise: bool = False  # judge the first two configs' outputs against each other, row by row
    contradictions: bool = False  # ask a judge whether sibling parallel steps contradict each other
    expected: str | None = None  # the expected column (checks and the judge's reference)
    model: str | None = None  # every LLM step of the variants uses this model
    judge_model: str | None = None

    @property
    def configs(self) -> list[Config]:
        return [Config(v.label, s) for v in self.variants for s in self.strategies]

    @property
    def cells_per_config(self) -> int:
        return len(self.dataset) * self.repeat

    @property
    def total(self) -> int:
        return self.cells_per_config * len(self.configs)

    def variant(self, label: str) -> Variant:
        return next(v for v in self.variants if v.label == label)

    def cells(self, config: Config) -> list[Cell]:
        return [Cell(config, k, i) for k in range(self.repeat) for i in range(len(self.dataset))]

    def fingerprint(self) -> dict[str, Any]:
        """What a state file must match to be resumed by this batch."""
        return {
            "dataset": self.dataset.digest,
            "variants": {v.label: [to_document(v.graph), v.mapping] for v in self.variants},
            "strategies": list(self.strategies),
            "repeat": self.repeat,
            "checks": [c.name for c in self.checks],
            "rubric": self.rubric,
            "pairwise": self.pairwise,
            "contradictions": self.contradictions,
            "expected": self.expected,
            "model": self.model,
            "judge_model": self.judge_model,
        }

    def row_text(self, variant: Variant, row: int) -> str:
        """A row's inputs as a judge sees them."""
        values = row_inputs(self.dataset.rows[row], variant.mapping)
        return "\n".join(f"{name}: {value}" for name, value in values.items())


@dataclass(frozen=True)
class BatchProgress:
    done: int  # cells kept (this session and earlier ones)
    total: int
    resumed: int  # of ``done``, kept before this session
    failed: int
    cost_usd: float  # spent this session (rows and judges), by the server's usage at the table's prices
    tokens: int
    elapsed: float  # real seconds this session
    config: str  # the config running now

    @property
    def eta(self) -> float | None:
        """Real seconds left at this session's pace (None until a result came in)."""
        fresh = self.done - self.resumed
        if fresh <= 0:
            return None
        return (self.total - self.done) * self.elapsed / fresh


class BatchRun:
    def __init__(
        self,
        spec: BatchSpec,
        limits: SharedLimits,
        store: BatchStore,
        *,
        runner: RowRunner | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
        api_runner: RowRunner | None = None,
    ):
        """``api_runner`` runs the configs whose strategy is ``BATCH_API`` (``api_runner.BatchApiRunner``)."""
        self.spec, self.limits, self.store = spec, limits, store
        self.runner = runner or LiveRowRunner(limits)
        self.api_runner = api_runner
        self.judge = Judge(limits, spec.judge_model or spec.model)
        self.on_progress = on_progress
        self._done = store.done()
        self._resumed = len(self._done)
        self._failed = 0
        self._cost = 0.0
        self._tokens = 0
        self._started = time.monotonic()
        self._config = ""
        self._judging: set[asyncio.Task[None]] = set()
        self.cancelled = False

    @property
    def stop_reason(self) -> str | None:
        if self.cancelled:
            return "cancelled"
        return self.limits.budget.stop_reason

    def cancel(self) -> None:
        self.cancelled = True
        self.runner.cancel()
        if self.api_runner is not None:
            self.api_runner.cancel()
        for task in list(self._judging):
            task.cancel()

    async def run(self) -> None:
        try:
            for config in self.spec.configs:
                if self.stop_reason is not None:
                    break
                await self._run_config(config)
            if self.spec.pairwise and self.stop_reason is None:
                await self._run_pairs()
        finally:
            self.store.flush()

    async def _run_config(self, config: Config) -> None:
        spec = self.spec
        variant = spec.variant(config.variant)
        self._config = config.label
        jobs = [
            BatchJob(cell, row_inputs(spec.dataset.rows[cell.row], variant.mapping))
            for cell in spec.cells(config)
            if cell.key not in self._done
        ]
        options = RowOptions(cast("Strategy", config.strategy), spec.model)
        runner = self.api_runner if config.strategy == BATCH_API and self.api_runner is not None else self.runner
        async for result in runner.run_rows(variant.graph, jobs, options):
            self._spent(result.input_tokens + result.output_tokens, result.cost_usd)
            if not result.final:
                continue
            await self._check(result)
            if result.status == "succeeded" and (spec.rubric or self._contradictions(variant)):
                task = asyncio.create_task(self._judge_then_keep(variant, result))
                self._judging.add(task)
                task.add_done_callback(self._judging.discard)
            else:
                self._keep(result)
        while self._judging:
            _log_crashes(await asyncio.gather(*list(self._judging), return_exceptions=True))

    def _contradictions(self, variant: Variant) -> bool:
        return self.spec.contradictions and bool(sibling_groups(variant.graph))

    async def _check(self, result: RowResult) -> None:
        row = self.spec.dataset.rows[result.row]
        for check in self.spec.checks:
            if result.status != "succeeded":
                result.scores[check.name] = None
                continue
            if check.kind in ("regex", "json-schema"):  # off the loop: a pattern can take its whole time limit
                score, why = await asyncio.to_thread(check.score, result.output, row)
            else:
                score, why = check.score(result.output, row)
            result.scores[check.name] = score
            if why:
                result.reasons[check.name] = why

    async def _judge_then_keep(self, variant: Variant, result: RowResult) -> None:
        spec = self.spec
        asks = []
        if spec.rubric:
            expected = spec.dataset.rows[result.row].get(spec.expected) if spec.expected else None
            prompt = score_prompt(spec.rubric, result.output, spec.row_text(variant, result.row), expected)
            asks.append((JUDGE, self.judge.ask(prompt, "score", result.repeat)))
        if self._contradictions(variant):
            for group in sibling_groups(variant.graph):
                outputs = {name: result.outputs[name] for name in group if name in result.outputs}
                asks.append((CONTRADICTION, self.judge.ask(contradiction_prompt(outputs), "contradiction")))
        verdicts = await asyncio.gather(*(ask for _, ask in asks))
        for (name, _), verdict in zip(asks, verdicts, strict=True):
            self._spent(verdict.tokens, verdict.cost_usd)
            result.judge_tokens += verdict.tokens
            if result.judge_cost_usd is not None:
                result.judge_cost_usd = None if verdict.cost_usd is None else result.judge_cost_usd + verdict.cost_usd
            if verdict.value is None and self.stop_reason is not None:
                return  # the budget or a cancel stopped the judge: not kept, the row runs again on resume
            if name == CONTRADICTION:  # any sibling group that contradicts flags the row
                flagged = result.scores.get(CONTRADICTION) == 1.0 or verdict.value is True
                result.scores[CONTRADICTION] = None if verdict.value is None else float(flagged)
            else:
                result.scores[name] = verdict.value
            if verdict.reason:
                result.reasons[name] = verdict.reason
        self._keep(result)

    def _keep(self, result: RowResult) -> None:
        self.store.put(result)
        self._done.add(result.cell_key)
        self._failed += result.status != "succeeded"
        self._report()

    def _spent(self, tokens: int, cost: float | None) -> None:
        self._tokens += tokens
        self._cost += cost or 0.0

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress())

    def progress(self) -> BatchProgress:
        return BatchProgress(
            len(self._done),
            self.spec.total,
            self._resumed,
            self._failed,
            self._cost,
            self._tokens,
            time.monotonic() - self._started,
            self._config,
        )

    async def _run_pairs(self) -> None:
        """Judge the first two configs' outputs row by row (pairs judged before are not asked again)."""
        configs = self.spec.configs[:2]
        if len(configs) < 2 or not self.spec.rubric:
            return
        self.store.flush()
        by_cell = {r.cell_key: r for r in self.store.results()}
        done = self.store.pairs()
        first, second = configs
        self._config = f"pairwise: {first.label} vs {second.label}"
        variant = self.spec.variant(first.variant)

        async def judge(cell_a: Cell, a: RowResult, b: RowResult) -> None:
            swap = cell_a.row % 2 == 1  # alternate the order shown
            shown = (b.output, a.output) if swap else (a.output, b.output)
            prompt = pair_prompt(self.spec.rubric or "", *shown, self.spec.row_text(variant, cell_a.row))
            verdict = await self.judge.ask(prompt, "winner", cell_a.repeat)
            self._spent(verdict.tokens, verdict.cost_usd)
            if verdict.value is None:
                return
            winner = {"A": "B", "B": "A"}.get(verdict.value, verdict.value) if swap else verdict.value
            key = f"{cell_a.repeat}|{cell_a.row}"
            self.store.put_pair(key, {"a": first.label, "b": second.label, "winner": winner, "reason": verdict.reason})

        tasks = []
        for cell in self.spec.cells(first):
            a = by_cell.get(cell.key)
            b = by_cell.get(Cell(second, cell.repeat, cell.row).key)
            if f"{cell.repeat}|{cell.row}" in done or a is None or b is None:
                continue
            if a.status == "succeeded" and b.status == "succeeded":
                tasks.append(asyncio.create_task(judge(cell, a, b)))
        self._judging.update(tasks)
        _log_crashes(await asyncio.gather(*tasks, return_exceptions=True))
        self._judging.difference_update(tasks)


def _log_crashes(outcomes: list[Any]) -> None:
    """A judging task that crashed loses its row for this session (it runs again on resume): say so."""
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            log.error("a judgement failed: %r (its row is not kept and runs again on resume)", outcome)
