"""A dataset: rows read from a CSV or JSONL file, and which column feeds which graph input.

``load_dataset(path)`` reads every row as ``{column: text}`` (a JSONL value that is not a string is kept
as its JSON text). Problems are one-line ``DatasetError``s with the line number. ``column_mapping``
maps columns to graph inputs by name, overridden by ``col=input`` pairs; a graph input without a column
and without a default is refused before anything runs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from chainstudio.core import strict_json
from chainstudio.core.errors import Refused
from chainstudio.core.graph.model import Graph
from chainstudio.core.strict_json import read_bounded

MAX_DATASET_BYTES = 512 * 1024 * 1024


class DatasetError(Refused):
    """A dataset file that cannot be read, or a column mapping that cannot feed the graph."""


@dataclass(frozen=True)
class Dataset:
    path: str
    columns: list[str]
    rows: list[dict[str, str]]
    digest: str  # sha256 of the file's bytes: a resumed batch must read the same rows

    def __len__(self) -> int:
        return len(self.rows)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)


def load_dataset(path: str | Path) -> Dataset:
    """The rows of a ``.csv`` (header line first) or ``.jsonl`` (one JSON object a line) file."""
    name = str(path)
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise DatasetError(f"{name}: a dataset is a .csv or .jsonl file")
    try:
        data = read_bounded(name, MAX_DATASET_BYTES)
    except OSError as exc:
        raise DatasetError(f"{name}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    rows = _read_csv(name, text) if suffix == ".csv" else _read_jsonl(name, text)
    if not rows:
        raise DatasetError(f"{name}: no rows")
    columns = list(dict.fromkeys(column for row in rows for column in row))
    return Dataset(name, columns, rows, hashlib.sha256(data).hexdigest())


def _read_csv(name: str, text: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            return []
        header = [h.strip() for h in header]
        if len(set(header)) != len(header) or not all(header):
            raise DatasetError(f"{name}: line 1: column names must be unique and not empty")
        rows = []
        for values in reader:
            if not values:
                continue
            if len(values) != len(header):
                raise DatasetError(f"{name}: line {reader.line_num}: {len(values)} values for {len(header)} columns")
            rows.append(dict(zip(header, values, strict=True)))
        return rows
    except csv.Error as exc:
        raise DatasetError(f"{name}: line {reader.line_num}: {exc}") from None


def _read_jsonl(name: str, text: str) -> list[dict[str, str]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value, problems = strict_json.parse(line)  # NaN, 5,000-digit numbers, duplicate keys: said
        except ValueError as exc:
            raise DatasetError(f"{name}: line {number}: not JSON ({exc})") from None
        except RecursionError:
            raise DatasetError(f"{name}: line {number}: nested too deeply") from None
        if problems:
            where = f" at {problems[0].path}" if problems[0].path else ""
            raise DatasetError(f"{name}: line {number}{where}: {problems[0].message}")
        if not isinstance(value, dict):
            raise DatasetError(f"{name}: line {number}: a row is a JSON object, not {type(value).__name__}")
        rows.append({str(k): _text(v) for k, v in value.items()})
    return rows


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """``["col=input", ...]`` -> {column: input}."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise DatasetError(f"--map expects COLUMN=INPUT, got {pair!r}")
        mapping[column.strip()] = target.strip()
    return mapping


def column_mapping(columns: Sequence[str], graph: Graph, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """graph input -> column: the column of the same name, unless an override maps another column to it."""
    overrides = dict(overrides or {})
    known = {gi.name for gi in graph.inputs}
    for column, target in overrides.items():
        if column not in columns:
            raise DatasetError(f"--map {column}={target}: the dataset has no column {column!r}")
        if target not in known:
            raise DatasetError(f"--map {column}={target}: {graph.name!r} has no input {target!r}")
    mapping = {name: name for name in known if name in columns}
    mapping.update({target: column for column, target in overrides.items()})
    missing = [gi.name for gi in graph.inputs if gi.name not in mapping and gi.default is None]
    if missing:
        raise DatasetError(
            f"{graph.name!r}: input(s) {', '.join(missing)} have no column and no default "
            f"(columns: {', '.join(columns)}); map one with --map COLUMN={missing[0]}"
        )
    return mapping


def row_inputs(row: Mapping[str, str], mapping: Mapping[str, str]) -> dict[str, str]:
    """The graph input values of one row."""
    return {name: row.get(column, "") for name, column in mapping.items()}
