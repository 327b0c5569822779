"""Calibration from the run history: the latency model of an endpoint, and what a run is primed with.

``calibrate`` reads the endpoint's most recent recorded runs (any graph; at most ``MAX_ATTEMPTS`` model
calls in all) and the graph's own recent runs, and fits ``latency_model.fit_model`` on them. Decoded runs
and fitted models are kept in small caches (a recorded run never changes; a model is keyed by the runs it
read and the graph's steps), so the GUI can recalibrate on every estimate.
``prime`` gives a run what the model knows before it starts: each step's expected seconds for
critical-path priority, and the server's measured capacity.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from chainstudio.core.graph.model import Graph
from chainstudio.core.planning.latency_model import MAX_ATTEMPTS, SIMULATED, LatencyModel, fit_model
from chainstudio.core.providers.base import Provider
from chainstudio.core.run.context import RunContext
from chainstudio.core.run.state import RunState
from chainstudio.core.storage.history import RunSummary

log = logging.getLogger(__name__)

GRAPH_RUNS = 10  # the graph's own most recent runs that give its steps' histories
_CACHE_SIZE = 96


class PastRuns(Protocol):
    """Where calibration reads past runs from: a ``RunHistory``, or anything that answers the same."""

    def runs(self, *, graph_name: str | None = None, limit: int = 200) -> Sequence[RunSummary]: ...

    def state(self, run_id: str) -> RunState: ...


_states: OrderedDict[tuple[str, str], RunState] = OrderedDict()
_models: OrderedDict[tuple[object, ...], LatencyModel] = OrderedDict()  # fits, by the runs they read
_MODELS = 16
_lock = threading.Lock()  # estimates run on worker threads


def _history_key(history: PastRuns) -> str:
    return str(getattr(history, "path", id(history)))


def _state(history: PastRuns, run_id: str) -> RunState:
    key = (_history_key(history), run_id)
    with _lock:
        cached = _states.get(key)
        if cached is not None:
            _states.move_to_end(key)
            return cached
    state = _without_answers(history.state(run_id))
    with _lock:
        _states[key] = state
        while len(_states) > _CACHE_SIZE:
            _states.popitem(last=False)
    return state


def _without_answers(state: RunState) -> RunState:
    """A recorded run as the fit reads it: its timings, tokens and prompts, not its answers. The cache kept
    the answers of up to 96 runs: 40 MB more held by every run of a graph whose answers were 20 MB."""
    for span in state.spans.values():
        span.output = ""
    state.outputs = {}
    return state


def endpoint_key(provider: str, base_url: str | None) -> str:
    """The endpoint a run went to: ``simulated``, or the base URL without credentials, trailing slashes or
    case in the scheme and host (the provider's name when there is no URL)."""
    if provider == SIMULATED:
        return SIMULATED
    if not base_url:
        return provider
    parts = urlsplit(base_url.strip())
    netloc = parts.netloc.rpartition("@")[2].lower()
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


def provider_endpoint(provider: str, base_url: str | None = None) -> str:
    """The endpoint a run on ``provider`` would go to (an OpenAI-compatible one resolves ``base_url`` as the
    provider does: else $OPENAI_BASE_URL, else OpenAI's)."""
    if provider == "openai":
        from chainstudio.core.providers.openai_compat import OpenAISettings

        base_url = OpenAISettings(base_url=base_url).resolved_base_url()
    return endpoint_key(provider, base_url)


def summary_endpoint(summary: RunSummary) -> str:
    """The endpoint of a recorded run, from its settings (base URL, else the provider's label)."""
    url = summary.settings.get("base_url")
    if not url:
        label = str(summary.settings.get("provider_label") or "")
        url = label.rpartition(" · ")[2] if " · " in label else None
    return endpoint_key(summary.provider, url)


def calibrate(history: PastRuns, graph: Graph | None, endpoint: str) -> LatencyModel:
    """The latency model of ``endpoint`` from the history: its most recent runs of any graph, and the step
    histories of ``graph`` (its runs matched by name, steps by their stable ids)."""
    recent, mine, key = _reads(history, graph, endpoint)
    with _lock:
        cached = _models.get(key)
    if cached is not None:
        return cached
    model = fit_model(
        [_state(history, s.run_id) for s in recent],
        endpoint,
        graph=graph,
        graph_states=[_state(history, s.run_id) for s in mine] if graph is not None else None,
    )
    with _lock:
        _models[key] = model
        while len(_models) > _MODELS:
            _models.popitem(last=False)
    return model


def primes_at_once(context: RunContext, history: PastRuns | None, graph: Graph) -> bool:
    """Whether ``prime`` would take no time: no history, nothing recorded on the endpoint, or its model fitted
    already. Else it decodes recorded runs and fits them (0.37 s of the window's thread at a Run)."""
    if history is None:
        return True
    try:
        recent, mine, key = _reads(history, graph, provider_endpoint_of(context.provider))
    except Exception:  # noqa: BLE001 - ``prime`` says so, at once
        return True
    with _lock:
        return not recent and not mine or key in _models


def _reads(
    history: PastRuns, graph: Graph | None, endpoint: str
) -> tuple[list[RunSummary], list[RunSummary], tuple[object, ...]]:
    """The recorded runs a calibration reads (the endpoint's most recent, the graph's own) and its cache key."""
    summaries = [s for s in history.runs(limit=400) if summary_endpoint(s) == endpoint and s.status != "running"]
    recent: list[RunSummary] = []
    calls = 0
    for summary in summaries:
        if calls + summary.api_calls > MAX_ATTEMPTS:
            continue
        recent.append(summary)
        calls += summary.api_calls
    mine = [s for s in summaries if graph is not None and s.graph_name == graph.name][:GRAPH_RUNS]
    steps = frozenset(n.id for n in graph.nodes.values() if n.kind == "llm") if graph is not None else None
    key = (_history_key(history), endpoint, tuple(s.run_id for s in recent), tuple(s.run_id for s in mine), steps)
    return recent, mine, key


def provider_endpoint_of(provider: Provider) -> str:
    """The endpoint a provider talks to (its base URL; the simulator is ``simulated``)."""
    if provider.name == SIMULATED:
        return SIMULATED
    return endpoint_key(provider.name, getattr(provider, "base_url", None))


def prime(context: RunContext, history: PastRuns | None, graph: Graph) -> LatencyModel | None:
    """Set ``context.step_seconds`` and ``context.capacity`` from the endpoint's recorded runs (nothing
    when there are none, or the history cannot be read)."""
    if history is None:
        return None
    try:
        model = calibrate(history, graph, provider_endpoint_of(context.provider))
    except Exception as exc:  # noqa: BLE001 - a broken history must not stop a run
        log.warning("cannot calibrate from the history: %s", exc)
        return None
    if model.runs:
        context.step_seconds = model.step_seconds(graph)
        if model.capacity.measured and not model.simulated:
            context.capacity = model.capacity.effective
    return model
