"""Which file-format version a graph needs, from the ``since`` of its kinds and fields (issue 15: version 3),
and which nodes of an older file use something it cannot hold (``core.storage.fileformat`` asks here)."""

from __future__ import annotations

from chainstudio.core.graph.kinds import NODE_KINDS
from chainstudio.core.graph.model import Graph


def newer_than(written: int, kind_name: str, fields: set[str], where: str) -> tuple[str, str] | None:
    """(path, message) when a node of a file of format ``written`` uses a kind or field of a later version."""
    kind = NODE_KINDS[kind_name]
    if kind.since > written:
        return f"{where}.kind", f"{kind.name} steps need format version {kind.since} (file: {written})"
    for spec in kind.fields:
        if spec.since > written and spec.name in fields:
            return f"{where}.{spec.name}", f"needs format version {spec.since} (file: {written})"
    return None


def needed_version(graph: Graph) -> int:
    """The format version the graph's kinds and fields need: 1 when it uses none added later (a field
    counts only when it is set: ``fileformat.to_document`` leaves a later field out at its default)."""
    needed = 1
    for node in graph.nodes.values():
        kind = NODE_KINDS[node.kind]
        needed = max(needed, kind.since)
        for spec in kind.fields:
            if spec.since > needed and node.param(spec.name) != spec.default:
                needed = spec.since
    return needed
