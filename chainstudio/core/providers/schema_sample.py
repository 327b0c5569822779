"""Plausible instances of a JSON schema, for the simulated provider: a step that declares a schema gets a
valid structured answer offline, deterministic for a seed.

Objects get their required properties and about two thirds of the others; arrays 2-5 items (within
``minItems`` / ``maxItems``; an array of objects with an ``enum`` field as long as the array names each
value once, as a judge's scores do); strings are words of the prompt (an ``enum`` picks one, a
``format`` gets a value of that shape); numbers fall within their bounds; booleans are true three times in
four (so a simulated judge passes most answers and rejects a few). ``$ref``, ``anyOf``/``oneOf`` (the first
branch) and ``const`` are followed; ``pattern`` is not (a pattern check may then fail, as a model might).
"""

from __future__ import annotations

import random
from typing import Any

MAX_DEPTH = 12


def sample(
    schema: Any, rng: random.Random, words: list[str], root: Any = None, depth: int = 0, *, truthy: float = 0.75
) -> Any:
    """A value that follows ``schema``; booleans are true with probability ``truthy``."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    if "$ref" in schema:
        return sample(_resolve(root, str(schema["$ref"])), rng, words, root, depth + 1, truthy=truthy)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return sample(schema[key][0], rng, words, root, depth + 1, truthy=truthy)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        return _object(schema, rng, words, root, depth, truthy)
    if kind == "array":
        return _array(schema, rng, words, root, depth, truthy)
    if kind == "integer":
        low, high = _bounds(schema, 0, 100)
        return rng.randint(int(low), int(high))
    if kind == "number":
        low, high = _bounds(schema, 0.0, 1.0)
        return round(rng.uniform(low, high), 2)
    if kind == "boolean":
        return rng.random() < truthy
    if kind == "null":
        return None
    return _string(schema, rng, words)


def _resolve(root: Any, ref: str) -> Any:
    if not ref.startswith("#"):
        return {}
    node = root
    for part in ref.lstrip("#/").split("/"):
        if not part:
            continue
        node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def _object(
    schema: dict[str, Any], rng: random.Random, words: list[str], root: Any, depth: int, truthy: float
) -> dict[str, Any]:
    found = schema.get("properties")
    properties: dict[str, Any] = found if isinstance(found, dict) else {}
    required = set(schema.get("required") or [])
    out: dict[str, Any] = {}
    for name, sub in properties.items():
        if name in required or rng.random() < 0.67:
            out[name] = sample(sub, rng, words, root, depth + 1, truthy=truthy)
    for name in required - set(out):
        out[name] = _string({}, rng, words)
    return out


def _array(
    schema: dict[str, Any], rng: random.Random, words: list[str], root: Any, depth: int, truthy: float
) -> list[Any]:
    low = int(schema.get("minItems", 2 if schema.get("minItems") is None else 0))
    high = int(schema.get("maxItems", max(low, 5)))
    low = min(low, high)
    size = rng.randint(low, max(low, min(high, low + 3))) if "minItems" in schema else rng.randint(low, high)
    found = schema.get("items")
    items: dict[str, Any] = found if isinstance(found, dict) else {}
    values = [sample(items, rng, words, root, depth + 1, truthy=truthy) for _ in range(size)]
    for name, sub in (items.get("properties") or {}).items():  # each enum value once, in order
        choices = sub.get("enum") if isinstance(sub, dict) else None
        if isinstance(choices, list) and len(choices) == size:
            for value, choice in zip(values, choices, strict=True):
                if isinstance(value, dict):
                    value[name] = choice
    if schema.get("uniqueItems") and all(isinstance(v, (str, int, float)) for v in values):
        values = list(dict.fromkeys(values))
    return values


def _bounds(schema: dict[str, Any], low: float, high: float) -> tuple[float, float]:
    lo = schema.get("minimum", schema.get("exclusiveMinimum", low))
    hi = schema.get("maximum", schema.get("exclusiveMaximum", max(high, float(lo) + high)))
    lo, hi = float(lo), float(hi)
    if "exclusiveMinimum" in schema:
        lo += 1 if schema.get("type") == "integer" else 1e-6
    if "exclusiveMaximum" in schema:
        hi -= 1 if schema.get("type") == "integer" else 1e-6
    return lo, max(lo, hi)


_FORMATS = {
    "date": "2026-01-15",
    "date-time": "2026-01-15T09:30:00Z",
    "email": "someone@example.com",
    "uri": "https://example.com/item",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
}


def _string(schema: dict[str, Any], rng: random.Random, words: list[str]) -> str:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        return _FORMATS[fmt]
    pool = words or ["simulated", "value"]
    low = int(schema.get("minLength", 1))
    high = int(schema.get("maxLength", 60))
    text = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 4)))
    while len(text) < low:
        text += " " + rng.choice(pool)
    return text[:high]
