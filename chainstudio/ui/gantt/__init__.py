"""The live Gantt panel: a row per node grouped by layer, bars that grow while a run goes on.

Geometry (``layout``, ``segments``, ``axis``, ``text``) is pure Python and computed apart from painting
(``paint``); ``view`` scrolls and hit-tests, ``widget`` is the dock panel, ``export`` renders offscreen.
"""

from chainstudio.core.gantt.layout import GanttLayout, Metrics, Row
from chainstudio.core.gantt.segments import Segment, bar_span, node_segments
from chainstudio.ui.gantt.export import ChartDocument, export_png, export_svg, render_gantt
from chainstudio.ui.gantt.theme import Theme
from chainstudio.ui.gantt.view import GanttView
from chainstudio.ui.gantt.widget import GanttWidget

__all__ = [
    "ChartDocument",
    "GanttLayout",
    "GanttView",
    "GanttWidget",
    "Metrics",
    "Row",
    "Segment",
    "Theme",
    "bar_span",
    "export_png",
    "export_svg",
    "node_segments",
    "render_gantt",
]
