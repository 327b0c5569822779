"""A batch's results as files: JSONL (one object per row × config × repeat, every step's output) and CSV
(one line each: the figures, the graph's output, a column per score and per reason, the row's inputs).
Both in a stable order (config, repeat, row), written atomically."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from chainstudio.core.batch.batch import BatchSpec
from chainstudio.core.batch.results import RowResult
from chainstudio.core.storage.fileformat import atomic_write_text

FIGURES = (
    "variant",
    "strategy",
    "repeat",
    "row",
    "status",
    "latency_s",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "api_calls",
    "tokens_estimated",
    "overlap",
    "judge_tokens",
    "judge_cost_usd",
    "simulated",
    "error",
    "output",
)


def ordered(spec: BatchSpec, results: Sequence[RowResult]) -> list[RowResult]:
    rank = {c.label: i for i, c in enumerate(spec.configs)}
    return sorted(results, key=lambda r: (rank.get(r.config.label, len(rank)), r.repeat, r.row))


def jsonl_text(spec: BatchSpec, results: Sequence[RowResult]) -> str:
    lines = []
    for result in ordered(spec, results):
        record = {**result.to_json(), "inputs": spec.dataset.rows[result.row]}
        lines.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(lines) + ("\n" if lines else "")


def csv_text(spec: BatchSpec, results: Sequence[RowResult]) -> str:
    names = list(dict.fromkeys(name for r in results for name in r.scores))
    columns = spec.dataset.columns
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [*FIGURES, *(f"score:{n}" for n in names), *(f"reason:{n}" for n in names), *(f"in:{c}" for c in columns)]
    )
    for r in ordered(spec, results):
        data = r.to_json()
        row = spec.dataset.rows[r.row]
        writer.writerow(
            [
                *("" if data[k] is None else data[k] for k in FIGURES),
                *("" if r.scores.get(n) is None else r.scores[n] for n in names),
                *(r.reasons.get(n, "") for n in names),
                *(row.get(c, "") for c in columns),
            ]
        )
    return out.getvalue()


def write_results(spec: BatchSpec, results: Sequence[RowResult], jsonl_path: str, csv_path: str | None) -> None:
    atomic_write_text(jsonl_path, jsonl_text(spec, results))
    if csv_path:
        atomic_write_text(csv_path, csv_text(spec, results))
