"""Structured output: a step's JSON schema as the request asks for it, and the answer parsed and checked.

``structured_request`` adds the schema to a request: as ``response_format`` (json_schema; the OpenAI-compatible
provider falls back to JSON mode, then to none, on a server that refuses it) and, so that a server without
either still knows what to write, as an instruction in the system message. ``parse_answer`` reads an answer
(a fenced ```json block too), validates it against the schema with ``jsonschema`` and says what is wrong in
one line (the complaint a repair attempt is sent with), within a CPU budget (``CHECK_CPU_SECONDS``; a hostile
schema's ``uniqueItems`` is quadratic over objects and nested ``anyOf`` with ``$ref`` exponential) and with
its patterns time-limited (``core.patterns``). ``template_value`` is how the parsed answer looks to
templates downstream: ``{{ classify.intent }}`` reads a field, ``{{ classify }}`` prints the JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import regex
from referencing.exceptions import Unresolvable

from chainstudio.core import patterns
from chainstudio.core.errors import ChainStudioError
from chainstudio.core.graph.sandbox import cpu_budget
from chainstudio.core.providers.base import ChatRequest

MAX_COMPLAINTS = 3  # schema violations named in one complaint
CHECK_CPU_SECONDS = 5.0  # the CPU time one answer's check against its schema may take


class SchemaCheckTooSlow(ChainStudioError):
    """Raised inside jsonschema when an answer's check used up its CPU time (turned into a complaint)."""


_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(.*?)\n?```\s*$", re.S)


def response_format(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """The ``response_format`` of a request whose answer follows ``schema``."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "answer"
    return {"type": "json_schema", "json_schema": {"name": safe, "schema": schema}}


def instruction(schema: dict[str, Any]) -> str:
    return "Answer with JSON only (no prose, no code fence) that follows this JSON schema:\n" + json.dumps(
        schema, ensure_ascii=False, sort_keys=True
    )


def structured_request(request: ChatRequest, schema: dict[str, Any], name: str) -> tuple[ChatRequest, str]:
    """``request`` asking for ``schema``; and the system prompt it now has (what the run shows)."""
    messages = list(request.messages)
    note = instruction(schema)
    if messages and messages[0].get("role") == "system":
        system = f"{messages[0].get('content', '')}\n\n{note}"
        messages[0] = {"role": "system", "content": system}
    else:
        system = note
        messages.insert(0, {"role": "system", "content": system})
    return replace(request, messages=tuple(messages), response_format=response_format(schema, name)), system


def strip_fence(text: str) -> str:
    match = _FENCE.match(text)
    return match.group(1) if match else text


def parse_answer(text: str, schema: dict[str, Any] | None) -> tuple[Any, str | None]:
    """(the parsed answer, None) or (None, why it is not a valid answer) in one line."""
    try:
        value = json.loads(strip_fence(text))
    except json.JSONDecodeError as exc:
        return None, f"the answer is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    except RecursionError:
        return None, "the answer is nested too deeply"
    if schema is None:
        return value, None
    from jsonschema import Draft202012Validator

    _match_schema_patterns_in_time()
    try:
        with patterns.time_box(), cpu_budget(CHECK_CPU_SECONDS, SchemaCheckTooSlow):
            errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    except SchemaCheckTooSlow:
        return None, (
            f"the schema cannot be checked: checking the answer took over {CHECK_CPU_SECONDS:g} s of CPU time "
            "(uniqueItems over many objects, or anyOf/oneOf nested with $ref, cost too much for this answer)"
        )
    except patterns.PatternTooSlow as exc:
        return None, f"the schema cannot be checked: {exc}"
    except regex.error as exc:
        return None, f"the schema cannot be checked: a pattern in it is not a regular expression ({exc})"
    except RecursionError:
        return None, "the schema cannot be checked: the answer is nested too deeply for it"
    except Unresolvable as exc:  # a $ref to nothing in the schema, or to another file (nothing is fetched)
        return None, f"the schema cannot be checked: its reference {_short(str(exc), 120)} cannot be resolved"
    if not errors:
        return value, None
    said = []
    for error in errors[:MAX_COMPLAINTS]:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        said.append(f"{where or 'the answer'}: {_short(error.message)}")
    more = f" (and {len(errors) - MAX_COMPLAINTS} more)" if len(errors) > MAX_COMPLAINTS else ""
    return None, "the answer does not follow the schema: " + "; ".join(said) + more


class _TimedRe:
    """What jsonschema's keywords see as ``re``: its ``search`` is ``patterns.search`` (time-limited); the rest
    is the ``re`` module's."""

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    @staticmethod
    def search(pattern: str, text: str) -> bool:
        return patterns.search(pattern, text)


def _match_schema_patterns_in_time() -> None:
    """Make the ``pattern``, ``patternProperties``, ``additionalProperties`` and ``unevaluatedProperties``
    keywords match through ``patterns.search``. jsonschema has no hook for its regular-expression engine yet
    (python-jsonschema/jsonschema#1142); these keywords call ``re.search`` through the modules patched here,
    and ``tests/hostile/test_patterns.py`` hangs (its timeout fails it) if that changes."""
    from jsonschema import _keywords, _legacy_keywords, _utils

    for module in (_keywords, _legacy_keywords, _utils):
        if not isinstance(getattr(module, "re", None), _TimedRe):
            setattr(module, "re", _TimedRe())  # noqa: B010 - a library's module global, named as a string


def _short(text: str, limit: int = 160) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[:limit] + "…"


class JSONObject(dict[str, Any]):
    """A parsed object as templates see it: fields by ``.name`` or ``['name']``; printed as JSON."""

    def __str__(self) -> str:
        return json.dumps(self, ensure_ascii=False)


class JSONArray(list[Any]):
    """A parsed array as templates see it: items by index, loops; printed as JSON."""

    def __str__(self) -> str:
        return json.dumps(self, ensure_ascii=False)


def template_value(value: Any) -> Any:
    """A parsed answer wrapped for templates (objects and arrays print as JSON, not Python reprs)."""
    if isinstance(value, dict):
        return JSONObject({k: template_value(v) for k, v in value.items()})
    if isinstance(value, list):
        return JSONArray(template_value(v) for v in value)
    return value
