"""Starts and stops runs inside the qasync loop; the core executor does the work.

``RunController.start(graph, options)`` builds the provider and context from the user's settings (the
simulated provider unless another is chosen), runs a fresh ``Run`` as an owned asyncio task whose
events go to a ``RunBridge``, records the finished run in the history, and reports through signals.
Nothing here blocks the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from chainstudio.core.clock import Clock
from chainstudio.core.graph.model import Graph
from chainstudio.core.providers.factory import ProviderSetupError, make_provider
from chainstudio.core.run.executor import Run, RunContext, RunError
from chainstudio.core.run.pricing import Pricing, PricingError
from chainstudio.core.run.rate_limits import RateLimits
from chainstudio.core.run.warm_up import warm_up
from chainstudio.core.storage.history import RunHistory
from chainstudio.core.storage.settings import Settings, load_settings, resolve_base_url, stored_api_key
from chainstudio.ui.run.bridge import RunBridge

log = logging.getLogger(__name__)
LIVE_TICK_MS = 66  # ~15 Hz: running bars and elapsed times grow between events


@dataclass
class RunOptions:
    provider: str = "simulated"  # "simulated" | "openai"
    strategy: str = "eager"
    concurrency: int | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)
    speed: float = 1.0  # simulated provider only
    seed: int = 0
    cost_cap: float | None = None
    token_cap: int | None = None


class RunController(QObject):
    runningChanged = Signal(bool)
    problem = Signal(str)  # a run that could not start, in one sentence
    finished = Signal(object)  # the finished RunState
    tick = Signal()  # while running, a few times a second

    def __init__(
        self, parent: QObject | None = None, history: RunHistory | None = None, settings: Settings | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = RunBridge(self)
        self.history = history
        self.settings = settings
        self.run: Run | None = None
        self._task: asyncio.Task | None = None
        self._file: str | None = None
        self._ticker = QTimer(self)
        self._ticker.setInterval(LIVE_TICK_MS)
        self._ticker.timeout.connect(self.tick)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def context_for(self, options: RunOptions) -> RunContext:
        """The run's side effects from the saved settings and the toolbar's choices (raises ValueError)."""
        settings = self.settings or load_settings()
        clock = Clock(options.speed if options.provider == "simulated" else 1.0)
        try:
            key = stored_api_key()[0] if options.provider != "simulated" else None  # the keyring is slow to wake
            provider = make_provider(
                options.provider, clock=clock, seed=options.seed, base_url=resolve_base_url(settings), api_key=key
            )
            pricing = Pricing(settings.price_overrides)
        except (ProviderSetupError, PricingError) as exc:
            raise ValueError(str(exc)) from None
        limits = RateLimits(settings.requests_per_minute, settings.tokens_per_minute)
        return RunContext(
            provider=provider,
            pricing=pricing,
            clock=clock,
            seed=options.seed,
            concurrency=options.concurrency,
            rate_limits=limits if limits.any else None,
            cost_cap=options.cost_cap,
            token_cap=options.token_cap,
        )

    def start(self, graph: Graph, options: RunOptions, file: str | None = None) -> bool:
        """Start a run of a snapshot of ``graph``; False (and ``problem``) when it cannot start."""
        if self.running:
            self.problem.emit("A run is already going on; stop it first.")
            return False
        settings = self.settings or load_settings()
        try:
            context = self.context_for(options)
            model = settings.default_model or None
            self.run = Run(
                graph,
                context,
                strategy=options.strategy,
                inputs=dict(options.inputs),
                model=model,
                listeners=[self.bridge],
            )  # type: ignore[arg-type]
        except (ValueError, RunError) as exc:
            self.problem.emit(str(exc))
            return False
        warm_up()  # a no-op once loaded: keeps the tokenizer's first load out of the run's timings
        self._file = file
        self.bridge.live_clock = context.clock.now
        self._task = asyncio.get_event_loop().create_task(self._execute(self.run), name="chainstudio-run")
        self._ticker.start()
        self.runningChanged.emit(True)
        return True

    def stop(self) -> None:
        if self.run is not None and self.running:
            self.run.cancel("stopped by the user")

    async def _execute(self, run: Run) -> None:
        try:
            state = await run.execute()
        except Exception as exc:  # report, never crash the window
            log.exception("run failed")
            self.problem.emit(f"The run stopped with an internal error: {exc}")
            state = run.state
        finally:
            self._ticker.stop()
            await run.context.provider.aclose()
        await asyncio.sleep(0)  # let the views paint the finished run before the history write
        self._record(run)
        self.runningChanged.emit(False)
        self.finished.emit(state)

    def _record(self, run: Run) -> None:
        if self.history is None or run.state.started is None:
            return
        try:
            self.history.add(
                run.events,
                run.graph,
                source="gui",
                file=self._file,
                settings={
                    "strategy": run.strategy,
                    "concurrency": run.context.concurrency,
                    "seed": run.context.seed,
                    "speed": run.context.clock.speed,
                    "provider_label": run.context.provider.label,
                    "cost_cap": run.context.cost_cap,
                    "token_cap": run.context.token_cap,
                },
                state=run.state,
            )
        except Exception as exc:  # noqa: BLE001 - the history must never lose the run on screen
            log.warning("could not record the run in the history: %s", exc)

    async def wait(self) -> Any:
        """For tests and shutdown: until the current run (if any) has ended."""
        if self._task is not None:
            await asyncio.shield(self._task)
