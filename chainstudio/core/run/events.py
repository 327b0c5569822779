"""Typed, frozen run events: ids and plain data, monotonic timestamps (``t``, seconds).

The executor emits them; the GUI, the CLI, the run history and the tests are equal listeners.
Every event carries the ``run_id`` it belongs to and the monotonic time ``t`` it happened at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from chainstudio.core.run.status import RunStatus
from chainstudio.core.text_safety import scrub

__all__ = [
    "Listener",
    "NodeCancelled",
    "NodeChecked",
    "NodeFailed",
    "NodeFinished",
    "NodeFirstToken",
    "NodeInfo",
    "NodeOutputDelta",
    "NodeQueued",
    "NodeRetrying",
    "NodeReused",
    "NodeScored",
    "NodeSkipped",
    "NodeStarted",
    "NodeTokensCounted",
    "NodeWaiting",
    "NodeNotTaken",
    "MapItems",
    "MapItemStarted",
    "MapItemFinished",
    "MapItemFailed",
    "RunEvent",
    "RunFinished",
    "RunStarted",
    "ReuseSource",
    "RunStatus",
    "WaitReason",
    "scrubbed",
]

WaitReason = Literal["slot", "rate_limit", "prefix"]  # prefix: for a shared prompt prefix to be cached
ReuseSource = Literal["cache", "run", "pin"]


@dataclass(frozen=True)
class NodeInfo:
    """What a listener needs to know about a node without the graph: id, name, kind, layer, model and, for an
    LLM step, its ``max_tokens`` (the latency model learns how much of it a model's answers use)."""

    id: str
    name: str
    kind: str
    layer: int
    model: str | None = None
    max_tokens: int | None = None
    endpoint: str = ""  # the endpoint profile an LLM step names ("": the run's provider)


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    t: float
    graph_name: str
    strategy: str
    provider: str  # "simulated" | "openai"
    simulated: bool
    concurrency: int | None
    nodes: tuple[NodeInfo, ...]
    edges: tuple[tuple[str, str], ...]  # (source id, target id)
    provider_label: str = ""  # e.g. "Simulated (offline)" or "OpenAI-compatible · http://127.0.0.1:8000/v1"
    pricing_note: str = ""  # how costs are priced when it is not the price table, e.g. a free local server
    cache: bool = False  # the step cache was on: answers it holds are replayed (NodeReused), new ones kept
    scope: str = ""  # a partial run: "only security", "from security", "up to security"; "" for a whole run
    not_run: tuple[str, ...] = ()  # ids of steps outside a partial run (listed in ``nodes``, never started)
    endpoints: tuple[tuple[str, str], ...] = ()  # (profile name, label) of the endpoints the steps name


@dataclass(frozen=True)
class NodeQueued:
    """All of the node's dependencies are done (and its layer's barrier passed): it may start."""

    run_id: str
    t: float
    node_id: str


@dataclass(frozen=True)
class NodeWaiting:
    """The node is ready but waits for a concurrency slot, a rate limit or (``warm_prefix``) the first token of
    a call with the same prompt prefix."""

    run_id: str
    t: float
    node_id: str
    reason: WaitReason = "slot"


@dataclass(frozen=True)
class NodeStarted:
    """An attempt begins (attempt 1 is the first call; retries count up)."""

    run_id: str
    t: float
    node_id: str
    attempt: int
    prompt: str = ""
    system: str = ""


@dataclass(frozen=True)
class NodeFirstToken:
    run_id: str
    t: float
    node_id: str
    attempt: int


@dataclass(frozen=True)
class NodeOutputDelta:
    run_id: str
    t: float
    node_id: str
    attempt: int
    text: str


@dataclass(frozen=True)
class NodeRetrying:
    """Attempt ``attempt`` failed with a retryable error; the next attempt starts after ``delay`` seconds."""

    run_id: str
    t: float
    node_id: str
    attempt: int
    delay: float
    reason: str
    status: int | None = None


@dataclass(frozen=True)
class NodeChecked:
    """Attempt ``attempt``'s answer was checked (``core.run.checks``): by its schema, a regex, a judge model
    (from ``started`` to ``t``) or a pick-best judge's parse. A failed check with repairs left is followed by a
    repair attempt (``attempt + 1``); ``reason`` is the complaint it is sent with."""

    run_id: str
    t: float
    node_id: str
    attempt: int
    passed: bool
    kind: str  # "schema" | "regex" | "judge" | "pick"
    reason: str = ""
    started: float | None = None  # a judge call's start


@dataclass(frozen=True)
class NodeScored:
    """A pick-best step's scores: (candidate step name, score or None, reason) and the one picked;
    ``basis``: "judge" (a model's scores) or the structured field the candidates were ranked by."""

    run_id: str
    t: float
    node_id: str
    scores: tuple[tuple[str, float | None, str], ...]
    best: str
    basis: str = "judge"


@dataclass(frozen=True)
class NodeFinished:
    """The step succeeded. Tokens and cost sum every attempt (failed ones count what the server processed);
    ``tokens_estimated``: some of them are an offline guess, not the server's count; ``model`` is the model
    that answered (priced by it); ``cached_tokens`` of the input tokens were read from the server's cache."""

    run_id: str
    t: float
    node_id: str
    output: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # None: the price of this model is unknown (never silently 0)
    attempts: int = 0  # API calls made for this node (0 for input/join/output nodes)
    request_id: str | None = None
    model: str | None = None
    cached_tokens: int = 0
    tokens_estimated: bool = False


@dataclass(frozen=True)
class NodeReused:
    """The step's output was not made by a call of this run: a pin (``source="pin"``), a step-cache hit
    (``"cache"``) or an earlier run's output (``"run"``, a partial run's upstream step). It costs this run
    nothing; the figures are what the call that made it recorded (``origin``: that run's id; "" for a pin
    typed by hand), i.e. what reusing it saved. ``simulated``: that call was made by a simulated provider."""

    run_id: str
    t: float
    node_id: str
    output: str
    source: ReuseSource
    origin: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    api_calls: int = 0
    ttft: float | None = None
    duration: float = 0.0
    model: str | None = None
    simulated: bool = False
    prompt: str = ""
    system: str = ""


@dataclass(frozen=True)
class NodeFailed:
    run_id: str
    t: float
    node_id: str
    error: str
    attempts: int = 0
    status: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    cached_tokens: int = 0
    tokens_estimated: bool = False


@dataclass(frozen=True)
class NodeTokensCounted:
    """A step's tokens recounted by the server after its model calls (its tokenizer, for answers that came
    without usage): the new totals replace the step's, with the cost they give."""

    run_id: str
    t: float
    node_id: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None = None
    cached_tokens: int = 0
    tokens_estimated: bool = False  # some attempts could still not be counted by the server


@dataclass(frozen=True)
class NodeSkipped:
    run_id: str
    t: float
    node_id: str
    reason: str


@dataclass(frozen=True)
class NodeCancelled:
    """The run was stopped before the step ended; tokens count what its attempts had the server process."""

    run_id: str
    t: float
    node_id: str
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    tokens_estimated: bool = False


@dataclass(frozen=True)
class NodeNotTaken:
    """The step is on a branch no route chose: it never runs and costs nothing (not a failure)."""

    run_id: str
    t: float
    node_id: str
    reason: str


@dataclass(frozen=True)
class MapItems:
    """A map step began: it makes one call per item, ``count`` items (``core.run.map_step``)."""

    run_id: str
    t: float
    node_id: str
    count: int


@dataclass(frozen=True)
class MapItemStarted:
    """An attempt of item ``index`` of a map step begins."""

    run_id: str
    t: float
    node_id: str
    index: int
    attempt: int


@dataclass(frozen=True)
class MapItemFinished:
    """Item ``index`` of a map step was answered; tokens and cost sum its attempts."""

    run_id: str
    t: float
    node_id: str
    index: int
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    attempts: int = 0
    tokens_estimated: bool = False
    first_token_at: float | None = None


@dataclass(frozen=True)
class MapItemFailed:
    """Item ``index`` of a map step failed (or a budget refused it); the map's policy says what follows."""

    run_id: str
    t: float
    node_id: str
    index: int
    error: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    attempts: int = 0
    tokens_estimated: bool = False


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    t: float
    status: RunStatus  # succeeded | partial | failed | cancelled
    message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)  # output-node name -> text


RunEvent = (
    RunStarted
    | NodeQueued
    | NodeWaiting
    | NodeStarted
    | NodeFirstToken
    | NodeOutputDelta
    | NodeRetrying
    | NodeChecked
    | NodeScored
    | NodeFinished
    | NodeReused
    | NodeFailed
    | NodeSkipped
    | NodeCancelled
    | NodeTokensCounted
    | NodeNotTaken
    | MapItems
    | MapItemStarted
    | MapItemFinished
    | MapItemFailed
    | RunFinished
)
Listener = Callable[[RunEvent], None]


# The fields of each event that carry text from outside (a server, a library, an exception, a template).
_TEXT_FIELDS: dict[type, tuple[str, ...]] = {
    RunStarted: ("provider_label",),
    NodeStarted: ("prompt", "system"),
    NodeOutputDelta: ("text",),
    NodeRetrying: ("reason",),
    NodeChecked: ("reason",),
    NodeFinished: ("output", "request_id", "model"),
    NodeFailed: ("error",),
    NodeSkipped: ("reason",),
    NodeNotTaken: ("reason",),
    MapItemFailed: ("error",),
    RunFinished: ("message",),
}


def scrubbed(event: RunEvent) -> RunEvent:
    """``event`` with its text scrubbed (``core.text_safety.scrub``: no registered secret, no lone surrogate).
    The run emits every event through this, so whatever listens to a run holds scrubbed text."""
    changes: dict[str, object] = {}
    for name in _TEXT_FIELDS.get(type(event), ()):
        value = getattr(event, name)
        if isinstance(value, str) and value:
            clean = scrub(value)
            if clean is not value and clean != value:
                changes[name] = clean
    if isinstance(event, RunFinished) and event.outputs:
        outputs = {k: scrub(v) for k, v in event.outputs.items()}
        if outputs != event.outputs:
            changes["outputs"] = outputs
    return replace(event, **changes) if changes else event  # type: ignore[arg-type]
