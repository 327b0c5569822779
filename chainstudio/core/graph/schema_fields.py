"""A step's declared JSON schema (``output_schema``) as the rest of the graph sees it: parsed, checked, and
the fields that templates downstream may read (``{{ classify.intent }}``, ``{{ extract.entities[0] }}``).

``parse_schema`` turns the field's JSON text into a schema or says in one sentence why it is not one (the
run validates answers with ``jsonschema``, see ``core.run.structured``). ``field_reads`` finds, in a template,
the chains of fields read from step names; ``unknown_field`` says whether such a chain leaves a schema's
declared properties (an object schema with ``properties`` and no ``additionalProperties: true``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from chainstudio.core.errors import ChainStudioError
from chainstudio.core.graph.templating import environment

MAX_SCHEMA_CHARS = 100_000


class SchemaProblem(ChainStudioError, ValueError):
    """An ``output_schema`` that is not a usable JSON schema (the message is one sentence)."""


@lru_cache(maxsize=512)
def _parsed(text: str) -> str:
    """The schema text checked and re-serialised (declaration order kept), or raises SchemaProblem."""
    if len(text) > MAX_SCHEMA_CHARS:
        raise SchemaProblem(f"the schema is {len(text):,} characters, over the limit of {MAX_SCHEMA_CHARS:,}")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaProblem(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise SchemaProblem("the schema is nested too deeply") from None
    if not isinstance(value, dict):
        raise SchemaProblem(f"a JSON schema is an object, not {type(value).__name__}")
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(value)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise SchemaProblem(f"not a valid JSON schema{f' at {where}' if where else ''}: {exc.message}") from None
    except RecursionError:
        raise SchemaProblem("the schema is nested too deeply") from None
    return json.dumps(value)


def parse_schema(text: str) -> dict[str, Any] | None:
    """The schema declared by ``text`` (None when empty); raises SchemaProblem."""
    if not text.strip():
        return None
    value: dict[str, Any] = json.loads(_parsed(text.strip()))
    return value


def schema_or_none(text: str) -> dict[str, Any] | None:
    """``parse_schema``, or None for a schema with a problem (validation reports it)."""
    try:
        return parse_schema(text)
    except SchemaProblem:
        return None


def _chain(node: nodes.Node) -> tuple[str, list[str | int]] | None:
    """``name.a.b[0]`` -> ("name", ["a", "b", 0]); None for anything that does not start at a name."""
    path: list[str | int] = []
    while True:
        if isinstance(node, nodes.Getattr):
            path.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if not isinstance(node.arg.value, (str, int)):
                return None
            path.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            return node.name, path[::-1]
        else:
            return None


@lru_cache(maxsize=2048)
def field_reads(source: str) -> tuple[tuple[str, tuple[str | int, ...]], ...]:
    """The longest field chains read from names in ``source``: (name, (field, index, ...)). Empty when the
    template has no ``{`` or does not parse (validation reports that elsewhere)."""
    if "{" not in source or ("." not in source and "[" not in source):
        return ()
    try:
        tree = environment().parse(source)
    except (TemplateSyntaxError, RecursionError, MemoryError):
        return ()
    found: list[tuple[str, tuple[str | int, ...]]] = []
    inner: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) in inner:
            continue
        target: nodes.Node = node.node  # type: ignore[attr-defined]  # Getattr and Getitem both have it
        while isinstance(target, (nodes.Getattr, nodes.Getitem)):  # the chain's shorter parts are not reads
            inner.add(id(target))
            target = target.node
        chain = _chain(node)
        if chain is not None and chain[1]:
            found.append((chain[0], tuple(chain[1])))
    return tuple(dict.fromkeys(found))


_DICT_METHODS = frozenset({"items", "keys", "values", "get"})


def unknown_field(schema: dict[str, Any], path: tuple[str | int, ...]) -> str | None:
    """The first field of ``path`` that ``schema`` does not declare (as ``a.b``), or None when the path stays
    within it (or the schema leaves it open: no ``properties``, or ``additionalProperties`` allowed)."""
    current: Any = schema
    walked: list[str] = []
    for part in path:
        if not isinstance(current, dict):
            return None
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            current = current.get("items") if current.get("type") == "array" or "items" in current else None
            walked.append(f"[{part}]")
            continue
        properties = current.get("properties")
        if not isinstance(properties, dict):
            return None
        if part in properties:
            current = properties[part]
            walked.append(f".{part}" if walked else part)
            continue
        if current.get("additionalProperties", False) not in (False, None) or part in _DICT_METHODS:
            return None
        walked.append(f".{part}" if walked else part)
        return "".join(walked)
    return None


def declared_fields(schema: dict[str, Any]) -> list[str]:
    """The top-level fields of an object schema, in declaration order (for messages and the inspector)."""
    properties = schema.get("properties")
    return list(properties) if isinstance(properties, dict) else []
