"""``chainstudio batch-api FILE --dataset ROWS --out results.jsonl``: a dataset through a graph on the OpenAI
Batch API (half price, answered within 24 h), one batch per layer of model steps.

Rows are a CSV file with a header or a JSONL file of objects; the columns that name graph inputs are the
row's input values (the others are kept in the results as they are). Progress is printed as the batches
are polled; the results file has one JSON line per row (outputs, tokens, cost at the batch price and where
that price comes from, latency, status), and ``--csv`` writes the same as CSV. The totals line compares
the batch price with what the same tokens cost at the standard price.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from chainstudio.cli.common import UsageError

MAX_DATASET_BYTES = 256 * 1024 * 1024
CSV_COLUMNS = [
    "row",
    "status",
    "latency_s",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cost_usd",
    "price",
    "standard_cost_usd",
]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "batch-api", help="run a dataset through a graph on the OpenAI Batch API (half price, within 24 h)"
    )
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--dataset", metavar="ROWS", required=True, help="rows: a CSV file with a header, or JSONL")
    parser.add_argument("--out", metavar="OUT", required=True, help="write the results here as JSONL")
    parser.add_argument("--csv", metavar="OUT", help="also write the results as CSV")
    parser.add_argument(
        "--base-url", metavar="URL", help="the Batch API's base URL (default: $OPENAI_BASE_URL or OpenAI's)"
    )
    parser.add_argument("--api-key-env", metavar="VAR", default="OPENAI_API_KEY", help="variable holding the API key")
    parser.add_argument("--model", metavar="M", help="use this model for every LLM step")
    parser.add_argument("--prices", metavar="FILE", help="JSON of model -> prices overriding the table")
    parser.add_argument(
        "--poll", metavar="SECONDS", type=float, default=10.0, help="seconds between polls (default 10)"
    )
    parser.set_defaults(handler=batch_api)


def read_rows(path: str) -> list[dict[str, str]]:
    """The dataset's rows as string mappings (UsageError for a file that is not a dataset)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_DATASET_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_DATASET_BYTES:
        raise UsageError(f"{path}: larger than {MAX_DATASET_BYTES // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    if path.lower().endswith((".jsonl", ".ndjson")):
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(item, dict):
                raise UsageError(f"{path}:{number}: expected a JSON object per line")
            rows.append({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in item.items()})
        return rows
    if path.lower().endswith(".csv"):
        try:
            return [dict(row) for row in csv.DictReader(io.StringIO(text))]
        except csv.Error as exc:
            raise UsageError(f"{path}: not CSV ({exc})") from None
    raise UsageError(f"{path}: a dataset is a .csv or a .jsonl file")


def batch_api(args: argparse.Namespace) -> int:
    from chainstudio.cli.run import load_checked
    from chainstudio.core.providers.base import ProviderError
    from chainstudio.core.providers.batch_api import BatchClient
    from chainstudio.core.providers.openai_compat import OpenAISettings
    from chainstudio.core.run.batch_api_run import run_rows
    from chainstudio.core.run.pricing import Pricing, PricingError

    if not args.poll > 0:
        raise UsageError("--poll must be a positive number of seconds")
    graph = load_checked(args.file)
    if graph is None:
        return 2
    rows = read_rows(args.dataset)
    if not rows:
        raise UsageError(f"{args.dataset}: no rows")
    names = {gi.name for gi in graph.inputs}
    values = [{k: v for k, v in row.items() if k in names} for row in rows]
    missing = sorted(gi.name for gi in graph.inputs if gi.default is None and any(gi.name not in v for v in values))
    if missing:
        raise UsageError(f"{args.dataset}: no column for the input(s) {', '.join(missing)}, which have no default")
    try:
        pricing = Pricing.from_file(args.prices) if args.prices else Pricing()
    except PricingError as exc:
        raise UsageError(str(exc)) from None
    settings = OpenAISettings(base_url=args.base_url, api_key_env=args.api_key_env)
    client = BatchClient(settings, poll_seconds=args.poll)
    pricing = pricing.for_endpoint(client.base_url)
    print(f"{len(rows)} rows through {graph.name} on the Batch API at {client.shown_url}", file=sys.stderr)
    last: dict[str, str] = {}

    def progress(layer: int, layers: int, p: Any) -> None:
        line = f"[layer {layer}/{layers}] {p.text()}"
        if last.get("line") != line:
            last["line"] = line
            print(line, file=sys.stderr, flush=True)

    async def go() -> Any:
        try:
            return await run_rows(graph, values, client, pricing, model=args.model, on_progress=progress)
        finally:
            await client.aclose()

    try:
        results = asyncio.run(go())
    except ProviderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    lines = []
    for result, row in zip(results, rows, strict=True):
        record = result.to_json()
        extra = {k: v for k, v in row.items() if k not in names}
        if extra:
            record["columns"] = extra
        lines.append(record)
    _write(args.out, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    if args.csv:
        _write(args.csv, _csv(lines))
    print(_totals(results, pricing))
    return 0 if all(r.status == "succeeded" for r in results) else 1


def _write(path: str, text: str) -> None:
    from chainstudio.core.storage.fileformat import atomic_write_text

    if Path(path).is_dir():
        raise UsageError(f"{path} is a folder")
    atomic_write_text(path, text)


def _csv(lines: list[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    steps = sorted({name for line in lines for name in line["outputs"]})
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS + [f"output:{s}" for s in steps] + ["error"])
    for line in lines:
        writer.writerow(
            [line[c] for c in CSV_COLUMNS] + [line["outputs"].get(s, "") for s in steps] + [line["error"] or ""]
        )
    return out.getvalue()


def _totals(results: list[Any], pricing: Any) -> str:
    ok = sum(r.status == "succeeded" for r in results)
    tokens_in, tokens_out = sum(r.input_tokens for r in results), sum(r.output_tokens for r in results)
    cached = sum(r.cached_tokens for r in results)
    cost, standard = _sum(r.cost for r in results), _sum(r.standard_cost for r in results)
    sources = sorted({r.price_source for r in results if r.price_source})
    wall = max((r.latency_s for r in results), default=0.0)
    cached_text = f" ({cached:,} cached)" if cached else ""
    return (
        f"{ok}/{len(results)} rows succeeded in {wall:,.1f} s; {tokens_in:,} input{cached_text} + {tokens_out:,} "
        f"output tokens; cost at the batch price {_usd(cost)} ({'; '.join(sources) or 'no calls'}), "
        f"at the standard price {_usd(standard)}"
    )


def _sum(values: Iterable[Decimal | None]) -> Decimal | None:
    total = Decimal(0)
    for value in values:
        if value is None:
            return None
        total += value
    return total


def _usd(value: Decimal | None) -> str:
    return "unknown" if value is None else f"${value:.6f}"
