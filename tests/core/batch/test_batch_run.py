"""A batch on the fake server over real HTTP: one concurrency cap and one budget for all rows, a budget stop
or a cancel keeps only finished rows, a resume runs only the rest, and another ``RowRunner`` can stand in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from chainstudio.core.batch.batch import BatchRun, BatchSpec, Variant
from chainstudio.core.batch.checks import parse_check
from chainstudio.core.batch.dataset import Dataset
from chainstudio.core.batch.results import RowResult
from chainstudio.core.batch.runner import BatchJob, RowOptions, SharedLimits
from chainstudio.core.batch.store import BatchError, BatchStore
from chainstudio.core.graph.model import Graph
from chainstudio.core.launch import RunOptions, build_context
from chainstudio.core.storage.fileformat import load
from chainstudio.core.storage.settings import Settings
from tests.conftest import EXAMPLES
from tests.support.fake_openai_server import FakeOpenAIServer

PARALLEL = load(EXAMPLES / "research-parallel.chain.json")


def spec_of(rows: int, checks: bool = False) -> BatchSpec:
    data = [{"topic": f"subject {i}", "expected": "yes"} for i in range(rows)]
    dataset = Dataset("rows.jsonl", ["topic", "expected"], data, f"digest-{rows}")
    return BatchSpec(
        dataset,
        [Variant("research-parallel", PARALLEL, {"topic": "topic"})],
        ["eager"],
        checks=[parse_check("contains", "expected", dataset.columns)] if checks else [],
    )


def limits_for(url: str, **options: object) -> SharedLimits:
    run_options = RunOptions(provider="openai", base_url=url, **options)  # type: ignore[arg-type]
    return SharedLimits(lambda i: build_context(Settings(), run_options, index=i), run_options.concurrency)


def test_one_concurrency_cap_for_every_row_and_results_kept(tmp_path):
    spec = spec_of(12, checks=True)
    with FakeOpenAIServer(chunk_delay=0.01, default_tokens=6) as server:
        limits = limits_for(server.url, concurrency=3)
        store = BatchStore(tmp_path / "s.sqlite", spec.fingerprint())
        asyncio.run(BatchRun(spec, limits, store).run())
        stats = server.stats
    assert stats.max_in_flight == 3  # 12 rows x 6 calls, never more than 3 at once across the rows
    results = store.results()
    assert len(results) == 12 and all(r.status == "succeeded" and r.api_calls == 6 for r in results)
    assert all(r.scores["contains"] == 0.0 and r.reasons["contains"] == "expected to contain 'yes'" for r in results)
    assert all(r.overlap is not None for r in results)
    assert sum(r.input_tokens + r.output_tokens for r in results) == stats.total_tokens


def test_one_budget_stops_the_batch_and_a_resume_runs_only_the_rest(tmp_path):
    spec = spec_of(10)
    with FakeOpenAIServer(chunk_delay=0, default_tokens=6) as server:
        tight = limits_for(server.url, concurrency=2, token_cap=4_000)
        store = BatchStore(tmp_path / "s.sqlite", spec.fingerprint())
        batch = BatchRun(spec, tight, store)
        asyncio.run(batch.run())
        kept = store.results()
        assert batch.stop_reason is not None and "token cap (4,000)" in batch.stop_reason
        assert 0 < len(kept) < 10 and all(r.status == "succeeded" for r in kept)
        assert server.stats.total_tokens <= 4_000  # the whole batch kept under the one cap
        first = server.stats.requests
        store.close()

        store = BatchStore(tmp_path / "s.sqlite", spec.fingerprint())
        asyncio.run(BatchRun(spec, limits_for(server.url, concurrency=2), store).run())
        resumed = server.stats.log[first:]
    assert len(store.results()) == 10
    assert len(resumed) == 6 * (10 - len(kept))  # six calls for each row left, none for a kept row
    assert not [e for e in resumed for r in kept if f"subject {r.row}" in e["prompt"]]


def test_a_cancelled_batch_keeps_only_finished_rows(tmp_path):
    spec = spec_of(30)
    with FakeOpenAIServer(chunk_delay=0.02, default_tokens=10) as server:
        limits = limits_for(server.url, concurrency=5)
        store = BatchStore(tmp_path / "s.sqlite", spec.fingerprint())
        batch = BatchRun(spec, limits, store)

        async def go() -> None:
            task = asyncio.create_task(batch.run())
            while len(store.done()) + len(store._pending) < 3:
                await asyncio.sleep(0.01)
            batch.cancel()
            await task

        asyncio.run(go())
    kept = store.results()
    assert 3 <= len(kept) < 30 and all(r.status == "succeeded" for r in kept)
    assert batch.progress().done == len(kept)


def test_a_state_file_is_resumed_only_by_its_own_batch(tmp_path):
    BatchStore(tmp_path / "s.sqlite", spec_of(3).fingerprint()).close()
    with pytest.raises(BatchError, match="holds another batch"):
        BatchStore(tmp_path / "s.sqlite", spec_of(4).fingerprint())
    BatchStore(tmp_path / "s.sqlite", spec_of(4).fingerprint(), fresh=True).close()


class CannedRunner:
    """Another way to get rows' answers (as a provider's batch endpoint would): the batch scores and keeps them."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def cancel(self) -> None:
        pass

    async def run_rows(self, graph: Graph, jobs: Sequence[BatchJob], options: RowOptions) -> AsyncIterator[RowResult]:
        for job in jobs:
            self.seen.append(job.cell.row)
            output = "yes" if job.cell.row % 2 else "no"
            yield RowResult(
                job.cell.config.variant, options.strategy, job.cell.repeat, job.cell.row, "succeeded", output=output
            )


def test_another_row_runner_plugs_in(tmp_path):
    spec = spec_of(4, checks=True)
    limits = SharedLimits(lambda i: build_context(Settings(), RunOptions(), index=i))
    runner = CannedRunner()
    store = BatchStore(tmp_path / "s.sqlite", spec.fingerprint())
    asyncio.run(BatchRun(spec, limits, store, runner=runner).run())
    assert runner.seen == [0, 1, 2, 3]
    assert [r.scores["contains"] for r in sorted(store.results(), key=lambda r: r.row)] == [0.0, 1.0, 0.0, 1.0]


def test_rows_retry_on_their_own_jitter():
    """Every row's step used to share the run's seed, so after a shared stall all rows retried at the same
    moments and met the next stall together."""
    from chainstudio.core.run.retry import jitter_rng

    limits = SharedLimits(lambda i: build_context(Settings(), RunOptions(), index=i))
    seeds = [limits.context(0, row).seed for row in range(50)]
    assert seeds[0] == limits.base.seed and len(set(seeds)) == 50
    delays = {round(jitter_rng(seed, "draft").random(), 9) for seed in seeds}
    assert len(delays) == 50
    assert limits.context(1, 7).seed != limits.context(0, 7).seed  # and each repeat its own
