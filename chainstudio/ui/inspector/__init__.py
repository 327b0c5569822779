"""The inspector: edits the selected node (or, with nothing selected, the graph) through commands."""

from chainstudio.ui.inspector.panel import InspectorPanel

__all__ = ["InspectorPanel"]
