"""One run's events folded into per-node spans and run totals: what every view of a run reads. Over 400
lines because each kind of event has its one fold here (the only place a run's events become its state).

``RunState`` is a *mutable fold of ONE run's events*: ``apply(event)`` updates the state in place, in
O(1) per event (a 10,000-step run streams hundreds of thousands of events; copying the state per event
would make a run quadratic). It is deterministic: the same events give the same state, whoever applies
them (the run itself as ``run.state``, the GUI, the CLI table, the run history).

The first ``RunStarted`` it sees binds it to that run; from then on, events of any other run are ignored,
a later ``RunStarted`` included (a view that follows the next run makes a fresh ``RunState`` for it, as
the GUI's bridge does, and may keep the old one). Times are kept as the events' monotonic seconds;
``rel()`` turns them into seconds from the run's start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chainstudio.core.graph.analysis import Dag, longest_path, remaining_times_parts, topological_order
from chainstudio.core.run import events as ev
from chainstudio.core.run.map_state import HANDLERS as MAP_HANDLERS
from chainstudio.core.run.map_state import ItemSpan
from chainstudio.core.run.status import RunStatus, StepStatus
from chainstudio.core.run.tally import Tally


@dataclass
class Attempt:
    number: int
    start: float
    first_token: float | None = None
    end: float | None = None
    error: str | None = None
    rejected: str | None = None  # its answer failed the step's check (a repair attempt followed or it failed)


@dataclass(frozen=True)
class CheckMark:
    """One check of an attempt's answer (``NodeChecked``); a judge's call ran from ``start`` to ``end``."""

    attempt: int
    start: float
    end: float
    passed: bool
    kind: str
    reason: str


@dataclass
class Backoff:
    start: float
    end: float  # planned end (start + delay); the next attempt's start when it happened
    reason: str


@dataclass
class NodeSpan:
    node_id: str
    name: str
    kind: str
    layer: int
    model: str | None = None  # the model asked for; once answered, the model that answered
    requested_model: str | None = None  # the model the step asked for
    status: StepStatus = StepStatus.PENDING
    queued_at: float | None = None
    waiting_at: float | None = None  # when it began waiting for a slot / rate limit / a shared prefix
    wait_reason: str = ""  # the last thing it waited for: "slot", "rate_limit" or "prefix"
    started_at: float | None = None  # first attempt's start
    first_token_at: float | None = None  # first token of the successful (last) attempt
    ended_at: float | None = None
    attempts: list[Attempt] = field(default_factory=list)
    backoffs: list[Backoff] = field(default_factory=list)
    prompt: str = ""
    system: str = ""
    deltas: int = 0  # streamed chunks received in the current attempt (≈ tokens so far)
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # of the input tokens, read from the server's prompt cache
    tokens_estimated: bool = False  # the token counts are (partly) an offline guess, not the server's
    cost_usd: float | None = None
    api_calls: int = 0
    request_id: str | None = None
    error: str | None = None
    skip_reason: str | None = None
    reused: ev.NodeReused | None = None  # the output came from a pin, the cache or an earlier run
    items: list[ItemSpan] = field(default_factory=list)  # a map step's items (``core.run.map_state``)
    checks: list[CheckMark] = field(default_factory=list)  # a checked step's verdicts, attempt by attempt
    scores: ev.NodeScored | None = None  # a pick-best step's scores
    endpoint: str = ""  # the endpoint profile the step named ("": the run's provider)
    # the output as it streamed in: chunks joined when read (``+=`` on an attribute copies the whole string
    # every time, so a flood of chunks would make the fold quadratic)
    _chunks: list[str] = field(default_factory=list, repr=False)

    @property
    def output(self) -> str:
        chunks = self._chunks
        if len(chunks) > 1:
            chunks[:] = ["".join(chunks)]
        return chunks[0] if chunks else ""

    @output.setter
    def output(self, value: str) -> None:
        self._chunks[:] = [value] if value else []

    @property
    def answered_by_other_model(self) -> bool:
        """The server answered with a model other than the one asked for (the cost is the answering one's)."""
        return bool(self.model and self.requested_model and self.model != self.requested_model)

    @property
    def done(self) -> bool:
        return self.status.done

    @property
    def duration(self) -> float | None:
        """Running time from the first attempt's start to the end (None if it never started or runs on)."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @property
    def wait_time(self) -> float:
        """Time spent waiting for a slot or a rate limit before the first attempt."""
        if self.waiting_at is None:
            return 0.0
        end = self.started_at if self.started_at is not None else self.ended_at
        return max(0.0, (end if end is not None else self.waiting_at) - self.waiting_at)


@dataclass
class Totals:
    wall: float
    node_time: float  # sum of node durations: what a strictly sequential run would take
    speedup: float | None
    critical_path: list[str]  # node ids
    critical_path_time: float
    input_tokens: int
    output_tokens: int
    api_calls: int
    cost_usd: float | None  # None when any model's price is unknown
    output_chars: int
    cached_tokens: int = 0
    tokens_estimated: bool = False  # some step's tokens are an offline guess

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class RunState:
    """Everything a view needs about one run: a mutable fold of that run's events (see the module)."""

    def __init__(self) -> None:
        self.run_id: str | None = None  # the run this state follows, from its RunStarted on
        self.started: ev.RunStarted | None = None
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.last_time: float | None = None
        self.status: RunStatus = RunStatus.IDLE
        self.message: str = ""
        self.outputs: dict[str, str] = {}
        self.spans: dict[str, NodeSpan] = {}
        self.edges: tuple[tuple[str, str], ...] = ()
        self.events_applied = 0
        # While a run goes on, a view may set the run's clock here so bars grow between events.
        self.live_clock: Callable[[], float] | None = None
        self._dag: Dag | None = None
        self._order: list[str] | None = None  # the run's topological order, once
        self._ends = 0  # spans' end times set so far: the critical path changes only with them
        self._starts = 0  # spans' start times set so far: a path is over the steps that started
        # a view is computing the critical path a part at a time: until it is known, views show it as coming
        # (``gantt.text.totals_items``) rather than compute it at once
        self.path_pending = False
        self._path: tuple[tuple[int, int], list[str], float] | None = None  # ((ends, starts), path, time)
        self._prepared: tuple[ev.RunStarted, dict[str, NodeSpan], Dag, list[str] | None, Tally | None] | None = None
        self._tally: Tally | None = None  # the live figures, once asked (``tally``)
        self._touched: set[str] = set()  # ... the steps events touched since
        self._summed: tuple[int, Totals] | None = None  # (events applied, the totals but the path) once it ended

    @classmethod
    def from_events(cls, events: Iterable[ev.RunEvent]) -> RunState:
        state = cls()
        for event in events:
            state.apply(event)
        return state

    # --- the fold -------------------------------------------------------------------------
    def apply(self, event: ev.RunEvent) -> None:
        """Fold ``event`` into this state, in place. Events of runs other than the one this state follows
        are ignored; so is a second ``RunStarted`` (see the module docstring)."""
        if isinstance(event, ev.RunStarted):
            if self.started is not None:
                return  # this state already follows a run: the next run gets a fresh RunState
            self._start(event)
        elif event.run_id != self.run_id or self.started is None:
            return  # an event from another run (or before any run started)
        self.events_applied += 1
        self.last_time = event.t if self.last_time is None else max(self.last_time, event.t)
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)
            if self._tally is not None and (node_id := getattr(event, "node_id", None)) is not None:
                self._touched.add(node_id)

    def _start(self, e: ev.RunStarted) -> None:
        self.run_id = e.run_id
        self.started = e
        self.start_time = e.t
        self.status = RunStatus.RUNNING
        self.edges = e.edges
        self._tally, self._touched = None, set()
        prepared, self._prepared = self._prepared, None
        if prepared is not None and _same_steps(prepared[0], e):
            self.spans, self._dag, self._order = prepared[1], prepared[2], prepared[3]
            self._tally = prepared[4]  # (``prepare_tally``'s, if any)
        else:
            self.spans = _spans_of(e)

    def prepare(self, started: ev.RunStarted) -> None:
        """Make the spans of ``started``'s steps and its dependency graph now, before it is applied (a run does
        this before its loop turns: for 10,000 steps and 100,000 edges, 0.1-0.2 s). Applying that same event,
        or a copy sharing its ``nodes``, ``edges`` and ``not_run`` (a time set with ``dataclasses.replace``),
        then uses them; any other event makes its own."""
        if self.started is None:
            spans = _spans_of(started)
            dag = Dag.of_edges(spans, started.edges)  # the critical path's, at the end
            try:
                order: list[str] | None = topological_order(dag)
            except ValueError:  # a cycle among the steps a partial run leaves out: found when asked, as before
                order = None
            self._prepared = (started, spans, dag, order, None)

    def prepare_tally(self) -> None:
        """Make ``tally`` now for the spans ``prepare`` made (a window makes a big run on a worker thread: 60 ms
        for 10,000 steps, which the first live figures would take from the window's thread)."""
        if self._prepared is not None and self._prepared[4] is None:
            self._prepared = (*self._prepared[:4], Tally(self._prepared[1]))

    def _queued(self, e: ev.NodeQueued) -> None:
        span = self.spans[e.node_id]
        span.status, span.queued_at = StepStatus.QUEUED, e.t

    def _waiting(self, e: ev.NodeWaiting) -> None:
        span = self.spans[e.node_id]
        span.status = StepStatus.WAITING
        span.wait_reason = e.reason
        if span.waiting_at is None:
            span.waiting_at = e.t

    def _started(self, e: ev.NodeStarted) -> None:
        span = self.spans[e.node_id]
        if span.backoffs and span.backoffs[-1].end > e.t:
            span.backoffs[-1].end = e.t
        span.status = StepStatus.RUNNING
        if span.started_at is None:
            span.started_at = e.t
            self._starts += 1
        span.attempts.append(Attempt(e.attempt, e.t))
        span.prompt, span.system = e.prompt, e.system
        span.output, span.deltas, span.first_token_at = "", 0, None

    def _first_token(self, e: ev.NodeFirstToken) -> None:
        span = self.spans[e.node_id]
        span.first_token_at = e.t
        if span.attempts:
            span.attempts[-1].first_token = e.t

    def _delta(self, e: ev.NodeOutputDelta) -> None:
        span = self.spans[e.node_id]
        span._chunks.append(e.text)
        span.deltas += 1

    def _retrying(self, e: ev.NodeRetrying) -> None:
        span = self.spans[e.node_id]
        span.status = StepStatus.RETRYING
        if span.attempts:
            span.attempts[-1].end = e.t
            span.attempts[-1].error = e.reason
        span.backoffs.append(Backoff(e.t, e.t + e.delay, e.reason))

    def _checked(self, e: ev.NodeChecked) -> None:
        span = self.spans[e.node_id]
        span.checks.append(
            CheckMark(e.attempt, e.t if e.started is None else e.started, e.t, e.passed, e.kind, e.reason)
        )
        last = span.attempts[-1] if span.attempts and span.attempts[-1].number == e.attempt else None
        if last is not None and (e.started is not None or not e.passed):  # the answer ended where its check began
            last.end = e.t if e.started is None else e.started
            last.rejected = None if e.passed else e.reason

    def _scored(self, e: ev.NodeScored) -> None:
        self.spans[e.node_id].scores = e

    def _end_attempt(self, span: NodeSpan, t: float, error: str | None = None) -> None:
        span.ended_at = t
        self._ends += 1
        if span.attempts and span.attempts[-1].end is None:
            span.attempts[-1].end = t
            span.attempts[-1].error = error
        if span.backoffs and span.backoffs[-1].end > t:
            span.backoffs[-1].end = t

    def _finished(self, e: ev.NodeFinished) -> None:
        span = self.spans[e.node_id]
        span.status = StepStatus.SUCCEEDED
        if span.started_at is None:  # a node without a model call (input/join/output)
            span.started_at = e.t if span.queued_at is None else max(span.queued_at, e.t)
            self._starts += 1
        self._end_attempt(span, e.t)
        span.output = e.output
        span.input_tokens, span.output_tokens = e.input_tokens, e.output_tokens
        span.cached_tokens, span.tokens_estimated = e.cached_tokens, e.tokens_estimated
        span.cost_usd, span.api_calls = e.cost_usd, e.attempts
        span.request_id = e.request_id
        if e.model:
            span.model = e.model

    def _reused(self, e: ev.NodeReused) -> None:
        """No call: a zero-length step at ``t``; this run pays nothing (the event's figures are the savings)."""
        span = self.spans[e.node_id]
        span.status = StepStatus.SUCCEEDED
        if span.started_at is None:
            self._starts += 1
        span.started_at = span.ended_at = e.t
        span.output, span.reused = e.output, e
        span.prompt, span.system = e.prompt, e.system
        if e.model:
            span.model = e.model

    def _failed(self, e: ev.NodeFailed) -> None:
        span = self.spans[e.node_id]
        span.status = StepStatus.FAILED
        self._end_attempt(span, e.t, e.error)
        span.error, span.api_calls = e.error, e.attempts
        span.input_tokens, span.output_tokens, span.cost_usd = e.input_tokens, e.output_tokens, e.cost_usd
        span.cached_tokens, span.tokens_estimated = e.cached_tokens, e.tokens_estimated

    def _counted(self, e: ev.NodeTokensCounted) -> None:
        span = self.spans[e.node_id]
        span.input_tokens, span.output_tokens, span.cost_usd = e.input_tokens, e.output_tokens, e.cost_usd
        span.cached_tokens, span.tokens_estimated = e.cached_tokens, e.tokens_estimated

    def _skipped(self, e: ev.NodeSkipped) -> None:
        span = self.spans[e.node_id]
        span.status, span.skip_reason = StepStatus.SKIPPED, e.reason

    def _cancelled(self, e: ev.NodeCancelled) -> None:
        span = self.spans[e.node_id]
        span.status = StepStatus.CANCELLED
        span.api_calls = max(span.api_calls, e.attempts)
        if e.input_tokens or e.output_tokens or e.cost_usd is not None:  # a step stopped before a token: $0
            span.input_tokens, span.output_tokens, span.cost_usd = e.input_tokens, e.output_tokens, e.cost_usd
            span.tokens_estimated = e.tokens_estimated
        if span.started_at is not None:
            self._end_attempt(span, e.t, "cancelled")
        for item in span.items:  # a map's items in flight or waiting
            if not item.status.done:
                item.status, item.ended_at = StepStatus.CANCELLED, e.t if item.started_at is not None else None

    def _run_finished(self, e: ev.RunFinished) -> None:
        self.end_time = e.t
        self.status = RunStatus(e.status)  # a plain string when decoded from a stored run
        self.message = e.message
        self.outputs = dict(e.outputs)

    # --- queries --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.status is RunStatus.RUNNING

    @property
    def simulated(self) -> bool:
        return bool(self.started and self.started.simulated)

    def rel(self, t: float | None) -> float | None:
        """Seconds from the run's start."""
        if t is None or self.start_time is None:
            return None
        return t - self.start_time

    def now(self) -> float:
        """The latest time seen (the run's end once it finished; the live clock's time while it runs)."""
        if self.end_time is not None:
            return self.end_time
        latest = self.last_time if self.last_time is not None else (self.start_time or 0.0)
        if self.live_clock is not None and self.status is RunStatus.RUNNING:
            return max(latest, self.live_clock())
        return latest

    def span_by_name(self, name: str) -> NodeSpan:
        for span in self.spans.values():
            if span.name == name:
                return span
        raise KeyError(name)

    def dag(self) -> Dag:
        """The run's dependency graph (from its RunStarted), built once per run."""
        if self._dag is None:
            self._dag = Dag.of_edges(self.spans, self.edges)
        return self._dag

    def critical_path(self) -> tuple[list[str], float]:
        """The chain of dependent nodes with the longest actual durations, over the steps that started (a
        stopped or failed run's steps that never ran are on no path: a chain of them, all 0 s, used to end
        it). Computed again only after a span ended or started: a live view asks for it at every repaint,
        and streaming changes no duration."""
        if not self.critical_path_known():
            for _ in self.critical_path_parts():
                pass
        assert self._path is not None
        return list(self._path[1]), self._path[2]

    def critical_path_known(self) -> bool:
        """Whether ``critical_path`` has its answer for the spans as they are (it returns at once)."""
        return self._path is not None and self._path[0] == (self._ends, self._starts)

    def critical_path_parts(self) -> Iterator[None]:
        """Compute the critical path, yielding between parts (for 10,000 steps and 100,000 edges it takes
        0.05-0.1 s: a window computes it a part at a time, ``path_pending`` set meanwhile)."""
        key = (self._ends, self._starts)
        dag = self.dag()
        if self._order is None:
            self._order = topological_order(dag)
        durations = {nid: span.duration or 0.0 for nid, span in self.spans.items()}
        ran = {nid for nid, span in self.spans.items() if span.started_at is not None}
        among = None if len(ran) == len(self.spans) else ran
        remaining = yield from remaining_times_parts(dag, durations, self._order, among)
        yield
        path, time = longest_path(dag, durations, remaining=remaining)
        self._path = (key, path, time)

    def tally(self) -> Tally:
        """The figures kept from the steps that changed (``core.run.tally``): what a live view reads."""
        if self._tally is None or self._tally.spans is not self.spans:
            self._tally, self._touched = Tally(self.spans), set()
        elif self._touched:
            self._tally.update(self._touched)
            self._touched = set()
        return self._tally

    def totals(self, path: bool = True) -> Totals:
        """The run's totals; ``path=False`` leaves the critical path out (empty), which the end of a
        10,000-step run spent 0.2 s of its loop on for a history row that does not keep it. While the run
        goes they come from ``tally`` (its sums correctly rounded); once it ended, summed over its spans."""
        start = self.start_time or 0.0
        wall = self.now() - start if self.start_time is not None else 0.0
        if self.running:
            return self._live_totals(wall, path)
        if self._summed is None or self._summed[0] != self.events_applied:  # (once: a window's views, the
            self._summed = (self.events_applied, self._sum(wall))  # history and the estimate each ask at the end)
        critical, path_time = self.critical_path() if path else ([], 0.0)
        return dataclasses.replace(self._summed[1], critical_path=critical, critical_path_time=path_time)

    def _sum(self, wall: float) -> Totals:
        """The totals but the critical path, summed over the spans in one pass (in their order, as before)."""
        node_time = 0.0
        cost: float | None = 0.0
        input_tokens = output_tokens = api_calls = cached_tokens = 0
        estimated = False
        for s in self.spans.values():
            if s.started_at is not None and s.ended_at is not None:
                node_time += s.ended_at - s.started_at
            if s.api_calls > 0:
                api_calls += s.api_calls
                cost = None if cost is None or s.cost_usd is None else cost + s.cost_usd
            input_tokens += s.input_tokens
            output_tokens += s.output_tokens
            cached_tokens += s.cached_tokens
            estimated = estimated or s.tokens_estimated
        return Totals(
            wall=wall,
            node_time=node_time,
            speedup=(node_time / wall) if wall > 0 else None,
            critical_path=[],
            critical_path_time=0.0,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            api_calls=api_calls,
            cost_usd=cost,
            output_chars=sum(len(text) for text in self.outputs.values()),
            cached_tokens=cached_tokens,
            tokens_estimated=estimated,
        )

    def _live_totals(self, wall: float, path: bool) -> Totals:
        tally = self.tally()
        node_time = tally.node_time.value()
        critical, path_time = self.critical_path() if path else ([], 0.0)
        return Totals(
            wall=wall,
            node_time=node_time,
            speedup=(node_time / wall) if wall > 0 else None,
            critical_path=critical,
            critical_path_time=path_time,
            input_tokens=tally.input_tokens,
            output_tokens=tally.output_tokens,
            api_calls=tally.api_calls,
            cost_usd=None if tally.cost_unknown else tally.cost.value(),
            output_chars=sum(len(text) for text in self.outputs.values()),
            cached_tokens=tally.cached_tokens,
            tokens_estimated=bool(tally.estimated),
        )


_HANDLERS: dict[type, Callable[[RunState, Any], None]] = {
    ev.NodeQueued: RunState._queued,
    ev.NodeWaiting: RunState._waiting,
    ev.NodeStarted: RunState._started,
    ev.NodeFirstToken: RunState._first_token,
    ev.NodeOutputDelta: RunState._delta,
    ev.NodeRetrying: RunState._retrying,
    ev.NodeChecked: RunState._checked,
    ev.NodeScored: RunState._scored,
    ev.NodeFinished: RunState._finished,
    ev.NodeReused: RunState._reused,
    ev.NodeFailed: RunState._failed,
    ev.NodeSkipped: RunState._skipped,
    ev.NodeCancelled: RunState._cancelled,
    ev.NodeTokensCounted: RunState._counted,
    ev.RunFinished: RunState._run_finished,
    **MAP_HANDLERS,
}


def _spans_of(e: ev.RunStarted) -> dict[str, NodeSpan]:
    """A span per step the run lists, pending (not run: outside a partial run)."""
    spans = {n.id: NodeSpan(n.id, n.name, n.kind, n.layer, n.model, n.model) for n in e.nodes}
    for n in e.nodes:
        if n.endpoint:
            spans[n.id].endpoint = n.endpoint
    for node_id in e.not_run:
        if node_id in spans:
            spans[node_id].status = StepStatus.NOT_RUN
    return spans


def _same_steps(a: ev.RunStarted, b: ev.RunStarted) -> bool:
    """The same run's steps and edges (``prepare``'s event and the one applied, its time set): the very same
    tuples."""
    return a.run_id == b.run_id and a.nodes is b.nodes and a.edges is b.edges and a.not_run is b.not_run
