"""What a feature of the main window may ask of the window itself, as plain callables (no window object).

``ShowStatus(text, ms)`` shows a status-bar message for ``ms`` milliseconds (0: until the next one).
``SelectNode(node_id)`` selects one step on the canvas and brings it into view (None clears the selection).
"""

from __future__ import annotations

from collections.abc import Callable

ShowStatus = Callable[[str, int], None]
SelectNode = Callable[[str | None], None]
