"""What the estimate and the advisor plan with: the run toolbar's strategy and cap, the settings' rate
limits, the step timings recorded in the history for this graph and provider, and the values last given
for the graph's inputs (inputs with neither those nor a default are estimated with a placeholder)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chainstudio.core.editing.document import Document
from chainstudio.core.graph.model import Graph
from chainstudio.core.graph.validation import errors
from chainstudio.core.launch import RunOptions, rate_limits
from chainstudio.core.planning.estimate import calibration
from chainstudio.core.storage.history import RunHistory
from chainstudio.ui.common.settings_store import SettingsStore

log = logging.getLogger(__name__)


def runnable(document: Document) -> bool:
    """Whether the document's graph has no errors (an estimate or advice of a broken graph means nothing)."""
    return not errors(document.problems)


class PlanInputs:
    def __init__(
        self,
        settings: SettingsStore,
        history: RunHistory | None,
        options: Callable[[], RunOptions],
        inputs: Callable[[Graph], dict[str, str]] | None = None,
    ):
        """``options``: the run toolbar's current choices; ``inputs(graph)``: the values last given for the
        graph's inputs (None: none remembered)."""
        self.settings = settings
        self.history = history
        self.options = options
        self.inputs = inputs

    def keywords(self, graph: Graph) -> dict[str, Any]:
        """``estimate``/``advise`` keywords for ``graph`` now: strategy, concurrency, rate limits, observations."""
        options = self.options()
        try:
            observations = calibration(self.history, graph, options.provider) if self.history else {}
        except Exception as exc:  # noqa: BLE001 - a broken history must not stop planning
            log.warning("cannot calibrate from the history: %s", exc)
            observations = {}
        return {
            "strategy": options.strategy,
            "concurrency": options.concurrency,
            "rate_limits": rate_limits(self.settings.current, options),
            "observations": observations,
            "inputs": self.inputs(graph) if self.inputs is not None else {},
        }
