"""Validating a big document with pydantic a part of its long lists at a time.

pydantic validates a whole document in one call that keeps Python's interpreter lock: 0.4-0.6 s for a
graph file of 10,000 steps and 100,000 edges, during which no other thread of the process runs a line of
Python. The window loads such a file on a worker thread (``ui/editing/file_loader.py``); for its event loop
to keep turning meanwhile, ``validate_chunked`` validates the document without its long lists, then each
long list ``CHUNK`` items per call, and puts the parts together. The result, and the errors (their
locations and their order), are those of ``model.model_validate(data)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

CHUNK = 1_000  # list items per pydantic call (a few ms each)

M = TypeVar("M", bound=BaseModel)


def validate_chunked(model: type[M], data: Any, fields: Sequence[str]) -> tuple[M | None, list[Any]]:
    """``model.model_validate(data)`` with the lists in ``fields`` validated CHUNK items at a time: the
    document, or None and pydantic's errors (each with its ``loc`` from the document's root)."""
    long = [f for f in fields if isinstance(data, dict) and isinstance(data.get(f), list) and len(data[f]) > CHUNK]
    if not long:
        try:
            return model.model_validate(data), []
        except ValidationError as exc:
            return None, list(exc.errors())
    errors: list[Any] = []
    head: M | None = None
    try:
        head = model.model_validate({**data, **{f: [] for f in long}})
    except ValidationError as exc:
        errors += exc.errors()
    parts: dict[str, list[Any]] = {}
    for field in long:
        adapter: TypeAdapter[list[Any]] = TypeAdapter(model.model_fields[field].annotation)  # type: ignore[arg-type]
        items: list[Any] = []
        values = data[field]
        for start in range(0, len(values), CHUNK):
            try:
                items += adapter.validate_python(values[start : start + CHUNK])
            except ValidationError as exc:
                errors += [{**e, "loc": (field, start + int(e["loc"][0]), *e["loc"][1:])} for e in exc.errors()]
        parts[field] = items
    if errors or head is None:
        order = {name: i for i, name in enumerate(model.model_fields)}
        errors.sort(key=lambda e: order.get(e["loc"][0], len(order)) if e["loc"] else -1)
        return None, errors
    return head.model_copy(update=parts), []
