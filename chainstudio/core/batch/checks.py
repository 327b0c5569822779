"""Deterministic checks of a row's output: exact match or contains against an expected column, a regular
expression, a JSON schema. Each scores 1.0 (pass) or 0.0 (fail) and says why it failed.

Exact match and contains compare with surrounding whitespace stripped and case folded (``exact`` and
``contains``), or as written (``exact-case``, ``contains-case``). The JSON schema check reads its schema and
the output as structured steps do (``core.graph.schema_fields.parse_schema``, ``core.run.structured.
parse_answer``: JSON Schema 2020-12, the output may be fenced in a Markdown code block).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chainstudio.core import patterns
from chainstudio.core.batch.dataset import DatasetError
from chainstudio.core.graph.schema_fields import SchemaProblem, parse_schema
from chainstudio.core.run.structured import parse_answer
from chainstudio.core.strict_json import read_bounded

MAX_SCHEMA_BYTES = 1 << 20  # a schema file is read up to 1 MB
CHECK_KINDS = ("exact", "exact-case", "contains", "contains-case", "regex", "json-schema")


@dataclass(frozen=True)
class Check:
    kind: str
    argument: str = ""  # the regex, or the schema's file
    expected: str | None = None  # the expected column (exact / contains)
    schema: Any = None

    @property
    def name(self) -> str:
        return self.kind if not self.argument or self.kind == "json-schema" else f"{self.kind}:{self.argument}"

    def score(self, output: str, row: Mapping[str, str]) -> tuple[float, str]:
        """(1.0 or 0.0, why it failed or "")."""
        if self.kind in ("exact", "exact-case", "contains", "contains-case"):
            want = row.get(self.expected or "", "")
            got = output.strip()
            if not self.kind.endswith("-case"):
                want, got = want.strip().casefold(), got.casefold()
            ok = got == want.strip() if self.kind.startswith("exact") else want.strip() in got
            return (
                (1.0, "")
                if ok
                else (
                    0.0,
                    f"expected {'' if self.kind.startswith('exact') else 'to contain '}"
                    f"{_short(row.get(self.expected or '', ''))!r}",
                )
            )
        if self.kind == "regex":
            try:
                matched = patterns.search(self.argument, output)
            except patterns.PatternTooSlow as exc:
                return 0.0, str(exc)
            return (1.0, "") if matched else (0.0, f"no match for /{self.argument}/")
        _value, problem = parse_answer(output, self.schema)
        return (1.0, "") if problem is None else (0.0, problem)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_check(spec: str, expected: str | None, columns: list[str]) -> Check:
    """``exact`` | ``contains`` | ``regex:PATTERN`` | ``json-schema:FILE`` (DatasetError when unusable)."""
    kind, _, argument = spec.partition(":")
    if kind not in CHECK_KINDS:
        raise DatasetError(f"--check {spec}: unknown check (choose {', '.join(CHECK_KINDS)})")
    if kind in ("regex", "json-schema") and not argument:
        raise DatasetError(f"--check {kind} needs an argument: {kind}:{'PATTERN' if kind == 'regex' else 'FILE'}")
    if kind == "regex":
        problem = patterns.problem(argument)
        if problem is not None:
            raise DatasetError(f"--check {spec}: {problem}")
        return Check(kind, argument)
    if kind == "json-schema":
        try:
            schema = parse_schema(read_bounded(argument, MAX_SCHEMA_BYTES).decode("utf-8"))
        except OSError as exc:  # a FIFO, a device, a folder, over the limit: said, not waited for
            raise DatasetError(f"--check {spec}: the schema cannot be read ({exc.strerror or exc})") from None
        except (UnicodeDecodeError, SchemaProblem) as exc:
            raise DatasetError(f"--check {spec}: the schema cannot be used ({exc})") from None
        return Check(kind, argument, schema=schema)
    if not expected or expected not in columns:
        raise DatasetError(
            f"--check {kind} compares with an expected column: the dataset has no column "
            f"{expected or 'expected'!r} (give one with --expect COLUMN)"
        )
    return Check(kind, expected=expected)
