"""Scripted run event sequences for the Gantt and bridge tests (and the screenshots), in the executor's
event vocabulary: until the executor lands, these stand in for real runs.

Times are given in seconds from the run's start; events carry ``T0 + t`` like a monotonic clock would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chainstudio.core.run import events as ev
from chainstudio.core.run.state import RunState

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

    def node(
        self, name: str, layer: int, kind: str = "llm", model: str | None = "gpt-4o", after: tuple[str, ...] = ()
    ) -> str:
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

    def call(
        self,
        name: str,
        *,
        queued: float,
        start: float,
        ttft: float,
        end: float,
        tokens_in: int = 120,
        tokens_out: int = 400,
        cost: float | None = 0.0043,
        wait: float | None = None,
        failed: tuple[tuple[float, float, float, str, int | None], ...] = (),
        deltas: int = 12,
        outcome: str = "finished",
        error: str = "",
    ) -> None:
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
            self.add(
                ev.NodeFinished,
                end,
                node,
                f"{name} findings",
                tokens_in,
                tokens_out,
                cost,
                number,
                f"req-{name}",
                "gpt-4o",
            )
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
        started = ev.RunStarted(
            self.run_id,
            T0,
            self.graph,
            self.strategy,
            "simulated" if self.simulated else "openai",
            self.simulated,
            self.concurrency,
            tuple(self.nodes),
            tuple(self.edges),
            "Simulated (offline)" if self.simulated else "OpenAI-compatible",
        )
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
    s.call(
        "software",
        queued=0.0,
        start=1.12,
        ttft=1.55,
        end=3.45,
        tokens_in=139,
        tokens_out=388,
        failed=((0.02, 0.31, 0.8, "HTTP 429 rate limited", 429),),
    )
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
    for name, length, tokens_in in (
        ("hardware", 2.1, 142),
        ("software", 1.9, 139),
        ("commercial", 2.2, 140),
        ("security", 1.8, 315),
        ("academic", 2.4, 688),
        ("aggregate", 1.7, 1190),
    ):
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
    s.call(
        "hardware",
        queued=0.0,
        start=0.01,
        ttft=9.0,
        end=0.9,
        outcome="failed",
        error="HTTP 401: invalid API key",
        tokens_in=0,
        cost=None,
    )
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
            s.call(
                f"n{i}",
                queued=layer_start,
                wait=layer_start if slot_wait else None,
                start=start,
                ttft=start + 0.1,
                end=end,
                deltas=2,
            )
            end_of_layer = max(end_of_layer, end)
        layer_start = end_of_layer
    s.finish(layer_start)
    return s


# --- the screenshots in docs/screenshots (python -m tests.ui.gantt_scripts docs/screenshots) ---------------
def executor_run(strategy: str, concurrency: int | None, seed: int = 4, rate_limit: float = 0.2):
    """research-hybrid on the real executor and simulated provider, on virtual time (instant, exact)."""
    import asyncio

    from chainstudio.core.clock import Clock
    from chainstudio.core.providers.simulated import Faults, SimulatedProvider
    from chainstudio.core.run.executor import Run, RunContext
    from chainstudio.core.run.virtual_time import run_virtual
    from chainstudio.core.storage.fileformat import load
    from tests.conftest import EXAMPLES

    graph = load(EXAMPLES / "research-hybrid.chain.json")

    async def main():
        clock = Clock(monotonic=asyncio.get_running_loop().time)
        provider = SimulatedProvider(seed=seed, clock=clock, faults=Faults(rate_limit=rate_limit))
        run = Run(graph, RunContext(provider=provider, clock=clock, concurrency=concurrency), strategy=strategy)
        await run.execute()
        return run

    return run_virtual(main())


def render_screenshots(out: str) -> None:
    import os
    import sys

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    from chainstudio.ui.gantt import GanttWidget, render_gantt

    app = QApplication.instance() or QApplication(sys.argv[:1])
    eager = executor_run("eager", 4)
    t0 = eager.events[0].t
    render_gantt(RunState.from_events([e for e in eager.events if e.t - t0 <= 3.0]), f"{out}/gantt-hybrid-running.png")
    render_gantt(eager.state, f"{out}/gantt-hybrid-finished.png")
    render_gantt(executor_run("sequential", None, rate_limit=0.0).state, f"{out}/gantt-sequential-staircase.png")
    render_gantt(failing().state(), f"{out}/gantt-failure-skipped.png")
    render_gantt([hybrid().state(), cancelled().state()], f"{out}/gantt-stacked-runs.png")

    def panel(state, path, dark=False, highlight=None):
        widget = GanttWidget()
        if dark:
            palette = QPalette()
            for role, colour in (
                (QPalette.ColorRole.Window, "#1f2937"),
                (QPalette.ColorRole.WindowText, "#e5e7eb"),
                (QPalette.ColorRole.Base, "#111827"),
                (QPalette.ColorRole.Text, "#e5e7eb"),
                (QPalette.ColorRole.Button, "#374151"),
                (QPalette.ColorRole.ButtonText, "#e5e7eb"),
            ):
                palette.setColor(role, QColor(colour))
            widget.setPalette(palette)
            widget.setAutoFillBackground(True)
        widget.resize(1300, 500)
        widget.set_state(state)
        if highlight:
            widget.highlight_node(highlight)
        widget.show()
        app.processEvents()
        widget.grab().save(path)
        widget.close()

    panel(hybrid().state(until=3.2), f"{out}/gantt-panel-running.png", highlight=nid("security"))
    panel(hybrid().state(), f"{out}/gantt-panel-dark.png", dark=True, highlight=nid("academic"))


if __name__ == "__main__":
    import sys

    render_screenshots(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
