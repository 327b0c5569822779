"""Which nodes of a file use a kind or field that its format version cannot hold (issue 15's: version 3,
``NodeKind.version`` and ``FieldSpec.version``); ``core.storage.fileformat`` asks here for every node."""

from __future__ import annotations

from chainstudio.core.graph.kinds import NODE_KINDS


def newer_than(written: int, kind_name: str, fields: set[str], where: str) -> tuple[str, str] | None:
    """(path, message) when a node of a file of format ``written`` uses a kind or field of a later version."""
    kind = NODE_KINDS[kind_name]
    if kind.version > written:
        return f"{where}.kind", f"{kind.name} steps need format version {kind.version} (file: {written})"
    for spec in kind.fields:
        if spec.version > written and spec.name in fields:
            return f"{where}.{spec.name}", f"needs format version {spec.version} (file: {written})"
    return None
