"""Scripted run event sequences for the Gantt and bridge tests (and the screenshots), in the executor's
event vocabulary: until the executor lands, these stand in for real runs.

Times are given in seconds from the run's start; events carry ``T0 + t`` like a monotonic clock would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chainstudio.core import events as ev
from chainstudio.core.run_state import RunState

T0 = 5000.0


def nid(name: str) -> str:
    return f"node-{name}"


@dataclass
class Script:
    graph: str = "research-hybrid"
    strategy: str = "eager"
    concurrency: int | None = 2
    simulated: bool = True
    run_id: str = "run-1"
    nodes: list[ev.NodeInfo] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    timed: list[tuple[float, int, ev.RunEvent]] = field(default_factory=list)

    def node(self, name: str, layer: int, kind: str = "llm", model: str | None = "gpt-4o",
             after: tuple[str, ...] = ()) -> str:
        self.nodes.append(ev.NodeInfo(nid(name), name, kind, layer, model if kind == "llm" else None))
        self.edges.extend((nid(a), nid(name)) for a in after)
        return nid(name)

    def add(self, event_type, t: float, *args, **kwargs) -> None:
        event = event_type(self.run_id, T0 + t, *args, **kwargs)
        self.timed.append((t, len(self.timed), event))

    # --- node life cycles --------------------------------------------------------------------------
    def instant(self, name: str, t: float, output: str = "") -> None:
        """An input / join / output node: queued and done at once."""
        self.add(ev.NodeQueued, t, nid(name))
        self.add(ev.NodeFinished, t, nid(name), output or name)

    def call(self, name: str, *, queued: float, start: float, ttft: float, end: float, tokens_in: int = 120,
             tokens_out: int = 400, cost: float | None = 0.0043, wait: float | None = None,
             failed: tuple[tuple[float, float, float, str, int | None], ...] = (), deltas: int = 12,
             outcome: str = "finished", error: str = "") -> None:
        """A model call: queued, maybe waiting, failed attempts (start, fail, delay, reason, status), then
        the last attempt from ``start``; ``outcome`` is finished | failed | cancelled."""
        node = nid(name)
        self.add(ev.NodeQueued, queued, node)
        if wait is not None:
            self.add(ev.NodeWaiting, wait, node, "slot")
        number = 0
        for a_start, a_fail, delay, reason, status in failed:
            number += 1
            self.add(ev.NodeStarted, a_start, node, number, f"prompt for {name}")
            self.add(ev.NodeRetrying, a_fail, node, number, delay, reason, status)
        number += 1
        self.add(ev.NodeStarted, start, node, number, f"prompt for {name}")
        if ttft <= end:
            self.add(ev.NodeFirstToken, ttft, node, number)
            for i in range(deltas):
                self.add(ev.NodeOutputDelta, ttft + (end - ttft) * i / max(1, deltas), node, number, f"w{i} ")
        if outcome == "finished":
            self.add(ev.NodeFinished, end, node, f"{name} findings", tokens_in, tokens_out, cost, number,
                     f"req-{name}", "gpt-4o")
        elif outcome == "failed":
            self.add(ev.NodeFailed, end, node, error or "HTTP 500", number, None, tokens_in, 0, cost)
        elif outcome == "cancelled":
            self.add(ev.NodeCancelled, end, node, number)

    def skip(self, name: str, t: float, reason: str) -> None:
        self.add(ev.NodeSkipped, t, nid(name), reason)

    def finish(self, t: float, status: str = "succeeded") -> None:
        self.add(ev.RunFinished, t, status, "", {"summary": "done"} if status == "succeeded" else {})

    def events(self, until: float | None = None) -> list[ev.RunEvent]:
        """RunStarted, then every event in time order; ``until`` cuts the run short (still running)."""
        started = ev.RunStarted(self.run_id, T0, self.graph, self.strategy, "simulated" if self.simulated else "openai",
                                self.simulated, self.concurrency, tuple(self.nodes), tuple(self.edges),
                                "Simulated (offline)" if self.simulated else "OpenAI-compatible")
        timed = sorted(self.timed, key=lambda item: (item[0], item[1]))
        return [started] + [e for t, _, e in timed if until is None or t <= until]

    def state(self, until: float | None = None) -> RunState:
        return RunState.from_events(self.events(until))


ANGLES = ("hardware", "software", "commercial")


def _hybrid_graph(script: Script) -> None:
    script.node("topic", 0, "input")
    for angle in ANGLES:
        script.node(angle, 1, after=("topic",))
    script.node("security", 2, after=("hardware",))
    script.node("academic", 3, after=("hardware", "software", "commercial", "security"))
    script.node("aggregate", 4, after=("academic",))
    script.node("summary", 5, "output", after=("aggregate",))


def hybrid(strategy: str = "eager") -> Script:
    """research-hybrid: three angles in parallel (concurrency 2: commercial waits for a slot, software
    gets a 429 and retries after a backoff), then security, then academic, then the aggregate."""
    s = Script(strategy=strategy)
    _hybrid_graph(s)
    s.instant("topic", 0.0, "quantum")
    s.call("hardware", queued=0.0, start=0.01, ttft=0.46, end=2.6, tokens_in=142, tokens_out=412)
    s.call("software", queued=0.0, start=1.12, ttft=1.55, end=3.45, tokens_in=139, tokens_out=388,
           failed=((0.02, 0.31, 0.8, "HTTP 429 rate limited", 429),))
    s.call("commercial", queued=0.0, wait=0.0, start=0.32, ttft=0.74, end=2.95, tokens_in=140, tokens_out=401)
    s.call("security", queued=2.6, start=2.61, ttft=2.98, end=4.4, tokens_in=315, tokens_out=365)
    s.call("academic", queued=4.4, start=4.41, ttft=4.93, end=6.95, tokens_in=688, tokens_out=452)
    s.call("aggregate", queued=6.95, start=6.96, ttft=7.41, end=8.7, tokens_in=1190, tokens_out=530)
    s.instant("summary", 8.7, "summary")
    s.finish(8.7)
    return s


def staircase() -> Script:
    """research-hybrid run ``sequential``: one call after another."""
    s = Script(strategy="sequential", concurrency=1)
    _hybrid_graph(s)
    s.instant("topic", 0.0)
    t = 0.0
    for name, length, tokens_in in (("hardware", 2.1, 142), ("software", 1.9, 139), ("commercial", 2.2, 140),
                                    ("security", 1.8, 315), ("academic", 2.4, 688), ("aggregate", 1.7, 1190)):
        s.call(name, queued=t, start=t + 0.01, ttft=t + 0.42, end=t + length, tokens_in=tokens_in)
        t += length + 0.01
    s.instant("summary", t)
    s.finish(t)
    return s


def failing() -> Script:
    """hardware fails (HTTP 401): security, academic, aggregate and summary are skipped."""
    s = Script()
    _hybrid_graph(s)
    s.instant("topic", 0.0)
    s.call("hardware", queued=0.0, start=0.01, ttft=9.0, end=0.9, outcome="failed",
           error="HTTP 401: invalid API key", tokens_in=0, cost=None)
    s.call("software", queued=0.0, start=0.01, ttft=0.5, end=2.4)
    s.call("commercial", queued=0.0, wait=0.0, start=0.91, ttft=1.3, end=3.1)
    for name in ("security", "academic", "aggregate", "summary"):
        s.skip(name, 0.9 if name == "security" else 3.1, "upstream hardware failed")
    s.finish(3.1, "partial")
    return s


def cancelled() -> Script:
    """Stop pressed at 3.0 s: the running nodes and a waiting one are cancelled."""
    s = Script(concurrency=2)
    _hybrid_graph(s)
    s.instant("topic", 0.0)
    s.call("hardware", queued=0.0, start=0.01, ttft=0.46, end=2.6)
    s.call("software", queued=0.0, start=0.02, ttft=0.6, end=3.0, outcome="cancelled")
    s.add(ev.NodeQueued, 0.0, nid("commercial"))
    s.add(ev.NodeWaiting, 0.0, nid("commercial"), "slot")
    s.add(ev.NodeCancelled, 3.0, nid("commercial"), 0)
    s.call("security", queued=2.6, start=2.61, ttft=2.98, end=3.0, outcome="cancelled")
    s.finish(3.0, "cancelled")
    return s


def wide(n: int = 1000, width: int = 50, concurrency: int = 16) -> Script:
    """``n`` model calls in layers of ``width``, each depending on one node of the layer before."""
    s = Script(graph=f"wide-{n}", concurrency=concurrency)
    layer_start = 0.0
    for i in range(n):
        layer, pos = divmod(i, width)
        after = (f"n{i - width}",) if layer else ()
        s.node(f"n{i}", layer, after=after)
    for layer in range((n + width - 1) // width):
        end_of_layer = layer_start
        for pos in range(min(width, n - layer * width)):
            i = layer * width + pos
            slot_wait = (pos // concurrency) * 0.4
            start = layer_start + slot_wait + 0.01
            end = start + 0.35 + (i % 7) * 0.01
            s.call(f"n{i}", queued=layer_start, wait=layer_start if slot_wait else None, start=start,
                   ttft=start + 0.1, end=end, deltas=2)
            end_of_layer = max(end_of_layer, end)
        layer_start = end_of_layer
    s.finish(layer_start)
    return s
