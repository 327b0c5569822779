"""Run events to and from plain JSON, so a run can be stored and replayed into a RunState."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable
from typing import Any, get_args

from chainstudio.core.run import events as ev

# every member of the RunEvent union, by class name
_EVENT_CLASSES: tuple[type[ev.RunEvent], ...] = get_args(ev.RunEvent)
EVENT_TYPES: dict[str, type[ev.RunEvent]] = {cls.__name__: cls for cls in _EVENT_CLASSES}


def encode(event: ev.RunEvent) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(event).__name__}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if f.name == "nodes":
            value = [dataclasses.asdict(n) for n in value]
        elif f.name in ("edges", "not_run", "endpoints"):
            value = [list(e) if isinstance(e, tuple) else e for e in value]
        elif isinstance(value, float) and not math.isfinite(value):
            value = None  # standard JSON has no NaN
        data[f.name] = value
    return data


def decode(data: dict[str, Any]) -> ev.RunEvent:
    data = dict(data)
    cls = EVENT_TYPES[data.pop("type")]
    known = {f.name for f in dataclasses.fields(cls)}
    data = {k: v for k, v in data.items() if k in known}  # tolerate fields from newer versions
    if cls is ev.RunStarted:
        node_fields = {f.name for f in dataclasses.fields(ev.NodeInfo)}  # also tolerate newer node fields
        data["nodes"] = tuple(ev.NodeInfo(**{k: v for k, v in n.items() if k in node_fields}) for n in data["nodes"])
        data["edges"] = tuple(tuple(e) for e in data["edges"])
        if "not_run" in data:
            data["not_run"] = tuple(data["not_run"])
        if "endpoints" in data:
            data["endpoints"] = tuple(tuple(e) for e in data["endpoints"])
    return cls(**data)


PIECE = 2_000  # items of a long list encoded by one json.dumps call


def dumps(events: Iterable[ev.RunEvent], *, drop_deltas: bool = False) -> str:
    """JSON lines. ``drop_deltas`` leaves out streamed chunks (finished outputs are kept in NodeFinished)."""
    return "\n".join(_json(encode(e)) for e in events if not (drop_deltas and isinstance(e, ev.NodeOutputDelta)))


def _json(data: dict[str, Any]) -> str:
    """``json.dumps(data, ensure_ascii=False)``, the same text, a long list ``PIECE`` items at a time: one call
    (C code, which keeps Python's lock) took 70-150 ms for a 10,000-step run's ``RunStarted`` (100,000 edges)
    on the history's writer thread, the window's thread waiting for it; between two pieces it can run."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and len(value) > PIECE:
            pieces = (json.dumps(value[i : i + PIECE], ensure_ascii=False)[1:-1] for i in range(0, len(value), PIECE))
            text = f"[{', '.join(pieces)}]"
        else:
            text = json.dumps(value, ensure_ascii=False)
        parts.append(f"{json.dumps(key, ensure_ascii=False)}: {text}")
    return f"{{{', '.join(parts)}}}"


def loads(text: str) -> list[ev.RunEvent]:
    """The events of ``text``; an event of a kind this version does not know (recorded by a newer one) is
    left out, as its unknown fields are."""
    rows = (json.loads(line) for line in text.splitlines() if line.strip())
    return [decode(row) for row in rows if row.get("type") in EVENT_TYPES]
