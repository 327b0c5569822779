"""What an edit changed, by id: what the document announces to its listeners after every edit."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Changes:
    """What an edit changed, by id. ``reset`` means the whole graph was replaced."""

    nodes_added: set[str] = field(default_factory=set)
    nodes_removed: set[str] = field(default_factory=set)
    nodes_changed: set[str] = field(default_factory=set)  # name or params
    nodes_moved: set[str] = field(default_factory=set)
    edges_added: set[str] = field(default_factory=set)
    edges_removed: set[str] = field(default_factory=set)
    graph_info: bool = False  # name, description or graph inputs
    reset: bool = False
    problems: bool = False  # only the problems may differ: templates read off the event loop (not an edit)
    checked: bool = False  # nothing changed: the current revision's problems are known now (``Document.accept``)

    def update(self, other: Changes) -> Changes:
        """Fold ``other`` (which happened after self) into self. Listeners check an added or removed
        id against the graph, so an id both added and removed is simply looked up."""
        for name in ("nodes_added", "nodes_removed", "nodes_changed", "nodes_moved", "edges_added", "edges_removed"):
            getattr(self, name).update(getattr(other, name))
        self.graph_info |= other.graph_info
        self.reset |= other.reset
        self.problems |= other.problems
        self.checked |= other.checked
        return self

    @property
    def structure(self) -> bool:
        """Nodes or edges were added or removed (layers and edge styles may differ)."""
        return bool(self.nodes_added or self.nodes_removed or self.edges_added or self.edges_removed or self.reset)

    def __bool__(self) -> bool:
        return self.structure or bool(self.nodes_changed or self.nodes_moved or self.graph_info)
