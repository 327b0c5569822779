"""What format version 3 adds to graph files (issue 15's kinds and fields), kept apart from the loader so
that each addition has its own check: which documents need version 3, and what an older one may not hold."""

from __future__ import annotations

from typing import Any

from chainstudio.core.graph.kinds import FLOW_KINDS
from chainstudio.core.graph.model import Graph

FLOW_VERSION = 3  # the first version with map and route steps


def needs_flow_version(graph: Graph) -> bool:
    """The graph has map or route steps (its file is version 3 at least)."""
    return any(node.kind in FLOW_KINDS for node in graph.nodes.values())


def flow_problems(doc: dict[str, Any], version: int) -> list[tuple[str, str]]:
    """(JSON path, message) of each map or route step in a document of ``version`` (before they existed)."""
    nodes = doc.get("nodes")
    if not isinstance(nodes, list):
        return []
    return [
        (f"nodes[{i}].kind", f"{node['kind']} steps need format version 3 (this file says version {version})")
        for i, node in enumerate(nodes)
        if isinstance(node, dict) and isinstance(node.get("kind"), str) and node["kind"] in FLOW_KINDS
    ]
