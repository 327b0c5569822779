"""Deterministic checks of a row's output: exact match or contains against an expected column, a regular
expression, a JSON schema. Each scores 1.0 (pass) or 0.0 (fail) and says why it failed.

Exact match and contains compare with surrounding whitespace stripped and case folded (``exact`` and
``contains``), or as written (``exact-case``, ``contains-case``). The JSON schema check covers the
common subset of JSON Schema: ``type``, ``properties``, ``required``, ``items``, ``enum``, ``const``,
``minimum``/``maximum``, ``minLength``/``maxLength``, ``additionalProperties: false`` (the output may be
fenced in a Markdown code block).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chainstudio.core.batch.dataset import DatasetError

CHECK_KINDS = ("exact", "exact-case", "contains", "contains-case", "regex", "json-schema")
FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.S)


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
            return (1.0, "") if re.search(self.argument, output) else (0.0, f"no match for /{self.argument}/")
        problem = schema_problem(self.schema, _json_of(output))
        return (1.0, "") if problem is None else (0.0, problem)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_NOT_JSON = object()


def _json_of(text: str) -> Any:
    fenced = FENCE.match(text)
    try:
        return json.loads(fenced.group(1) if fenced else text)
    except ValueError:
        return _NOT_JSON


def parse_check(spec: str, expected: str | None, columns: list[str]) -> Check:
    """``exact`` | ``contains`` | ``regex:PATTERN`` | ``json-schema:FILE`` (DatasetError when unusable)."""
    kind, _, argument = spec.partition(":")
    if kind not in CHECK_KINDS:
        raise DatasetError(f"--check {spec}: unknown check (choose {', '.join(CHECK_KINDS)})")
    if kind in ("regex", "json-schema") and not argument:
        raise DatasetError(f"--check {kind} needs an argument: {kind}:{'PATTERN' if kind == 'regex' else 'FILE'}")
    if kind == "regex":
        try:
            re.compile(argument)
        except re.error as exc:
            raise DatasetError(f"--check {spec}: not a regular expression ({exc})") from None
        return Check(kind, argument)
    if kind == "json-schema":
        try:
            with open(argument, encoding="utf-8") as handle:
                schema = json.load(handle)
        except (OSError, ValueError) as exc:
            raise DatasetError(f"--check {spec}: the schema cannot be read ({exc})") from None
        return Check(kind, argument, schema=schema)
    if not expected or expected not in columns:
        raise DatasetError(
            f"--check {kind} compares with an expected column: the dataset has no column "
            f"{expected or 'expected'!r} (give one with --expect COLUMN)"
        )
    return Check(kind, expected=expected)


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def schema_problem(schema: Any, value: Any, path: str = "$") -> str | None:
    """Why ``value`` does not fit ``schema`` (the subset in the module docstring), or None."""
    if value is _NOT_JSON:
        return "the output is not JSON"
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        fits = any(
            isinstance(value, _TYPES.get(k, ())) and not (isinstance(value, bool) and k in ("integer", "number"))
            for k in kinds
        )
        if not fits:
            return f"{path}: expected {' or '.join(map(str, kinds))}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{path}: not one of {schema['enum']}"
    if "const" in schema and value != schema["const"]:
        return f"{path}: expected {schema['const']!r}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{path}: below {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{path}: above {schema['maximum']}"
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"{path}: shorter than {schema['minLength']}"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{path}: longer than {schema['maxLength']}"
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                return f"{path}: missing {name!r}"
        properties = schema.get("properties", {})
        for name, item in value.items():
            if name in properties:
                problem = schema_problem(properties[name], item, f"{path}.{name}")
                if problem:
                    return problem
            elif schema.get("additionalProperties") is False:
                return f"{path}: unexpected {name!r}"
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problem = schema_problem(schema["items"], item, f"{path}[{i}]")
            if problem:
                return problem
    return None
