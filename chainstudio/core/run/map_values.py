"""A map step's values: the items ``over`` gives, and the answers as text and as templates see them."""

from __future__ import annotations

import json
from typing import Any

from chainstudio.core.run.structured import template_value


def output_text(values: list[Any]) -> str:
    """A map's output as text: its answers as a JSON array."""
    return json.dumps(list(values), ensure_ascii=False, indent=2)


def map_value(output: str) -> Any:
    """A map step's stored output as templates see it: a list (``{% for a in m %}``, ``m[0]``, ``m|length``)
    that prints as its JSON array, as a structured step's arrays do; the text itself if it is no array."""
    try:
        value = json.loads(output)
    except ValueError:
        return output
    return template_value(value) if isinstance(value, list) else output


def items_of(value: Any) -> list[Any]:
    """The items of ``over``'s value: a list as it is; text as a JSON array, else as its non-empty lines."""
    if isinstance(value, list):
        return list(value)
    text = str(value)
    parsed = json_array(text)
    if parsed is not None:
        return parsed
    return [line.strip() for line in text.splitlines() if line.strip()]


def json_array(text: str) -> list[Any] | None:
    """``text`` as a JSON array, or None when it is none."""
    stripped = text.strip()
    if not stripped.startswith("["):
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return parsed if isinstance(parsed, list) else None
