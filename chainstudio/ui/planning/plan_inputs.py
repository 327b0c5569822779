"""What the estimate and the advisor plan with: the run toolbar's strategy and cap, the settings' rate
limits, the latency model of the endpoint the run would go to (fitted on the run history), and the values
last given for the graph's inputs (inputs with neither those nor a default are estimated with a placeholder)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chainstudio.core.editing.document import Document
from chainstudio.core.graph.model import Graph
from chainstudio.core.graph.validation import errors
from chainstudio.core.launch import RunOptions, rate_limits, run_model
from chainstudio.core.planning.calibration import calibrate, provider_endpoint
from chainstudio.core.planning.endpoint_plans import endpoint_plans
from chainstudio.core.planning.latency_model import LatencyModel, fit_model
from chainstudio.core.storage.history import RunHistory
from chainstudio.core.storage.settings import resolve_base_url
from chainstudio.ui.common.settings_store import SettingsStore

log = logging.getLogger(__name__)


def runnable(document: Document) -> bool:
    """Whether the document's graph is known to have no errors (an estimate or advice of a broken graph means
    nothing; a big graph's problems are not known until its check is done: ``Changes(checked=True)``)."""
    problems = document.known_problems
    return problems is not None and not errors(problems)


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

    def latency(self, graph: Graph, options: RunOptions) -> LatencyModel:
        """The latency model of the endpoint ``options`` would run on, with ``graph``'s step histories."""
        base_url = resolve_base_url(self.settings.current, options.base_url)
        endpoint = provider_endpoint(options.provider, base_url)
        if self.history is None:
            return fit_model([], endpoint, graph=graph)
        try:
            return calibrate(self.history, graph, endpoint)
        except Exception as exc:  # noqa: BLE001 - a broken history must not stop planning
            log.warning("cannot calibrate from the history: %s", exc)
            return fit_model([], endpoint, graph=graph)

    def keywords(self, graph: Graph) -> dict[str, Any]:
        """``estimate``/``advise`` keywords for ``graph`` now: strategy, concurrency, rate limits, latency model,
        the model every step is switched to (the settings' default model, if any) and the warm-prefix option."""
        options = self.options()
        return {
            "strategy": options.strategy,
            "concurrency": options.concurrency,
            "rate_limits": rate_limits(self.settings.current, options),
            "latency": self.latency(graph, options),
            "model": run_model(self.settings.current, options),
            "inputs": self.inputs(graph) if self.inputs is not None else {},
            "warm_prefix": options.warm_prefix,
            "endpoints": endpoint_plans(
                graph, self.settings.current.endpoints, simulated=options.simulated, history=self.history
            ),
        }
