"""Core run events → Qt signals, coalesced.

``RunBridge`` is a plain core listener (``bridge(event)``): pass it to the executor like any other
listener. The run's events are reduced once: given the ``Run`` first (``follow(run)``), the bridge reads
the run's own ``run.state``, which the run has already brought up to date when a listener hears an event.
Used on its own (a replay, a test), the bridge reduces the events into a ``RunState`` of its own.

Views hear about changes through ``updated``, emitted at most ``rate_hz`` times a second by a single-shot
``QTimer`` (never per token). ``runStarted`` and ``runFinished`` are emitted immediately; a final
``updated`` (which includes the run's end) is always flushed just before ``runFinished``, so views that
refresh on ``updated`` see the end.

Calls made on the bridge's thread (the qasync loop runs on the GUI thread) are handled directly; calls
from another thread are queued onto the bridge's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal

from chainstudio.core.run import events as ev
from chainstudio.core.run.state import RunState

DEFAULT_RATE_HZ = 30.0


class HasState(Protocol):
    """A run that reduces its own events (``chainstudio.core.run.executor.Run``)."""

    @property
    def state(self) -> RunState: ...


class RunBridge(QObject):
    """A core event listener that tells Qt views about a run's ``RunState``, coalesced."""

    runStarted = Signal(object)  # the run's RunState
    updated = Signal(object)  # frozenset of node ids changed since the last emission ("" = the run itself)
    runFinished = Signal(object)  # the RunState, finished
    _posted = Signal(object)  # events handed over from another thread

    def __init__(self, parent: QObject | None = None, rate_hz: float = DEFAULT_RATE_HZ) -> None:
        super().__init__(parent)
        self._own = RunState()  # the bridge's own reduction, when it follows no run
        self._run: HasState | None = None  # the run whose state the bridge follows
        self._following = False  # the current run's events are reduced by the run itself
        self._dirty: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(1, round(1000.0 / rate_hz)))
        self._timer.timeout.connect(self.flush)
        self._posted.connect(self._apply, Qt.ConnectionType.QueuedConnection)
        self.events_received = 0
        self.emissions = 0
        self.live_clock: Callable[[], float] | None = None  # the running run's clock: bars grow between events

    @property
    def state(self) -> RunState:
        """The current run's state: the followed run's own, else the bridge's reduction."""
        return self._run.state if self._following and self._run is not None else self._own

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    def follow(self, run: HasState) -> None:
        """The next run started is ``run``: read its ``state`` rather than reducing its events again."""
        self._run = run

    def __call__(self, event: ev.RunEvent) -> None:
        """The listener: safe to call from the asyncio loop on qasync (and, queued, from other threads)."""
        if QThread.currentThread() != self.thread():
            self._posted.emit(event)
            return
        self._apply(event)

    def _apply(self, event: ev.RunEvent) -> None:
        self.events_received += 1
        if isinstance(event, ev.RunStarted):
            self.flush()
            self._timer.stop()
            self._following = self._run is not None and self._run.state.run_id == event.run_id
            if not self._following:
                self._own = RunState()  # a fresh state per run: views may keep the old one
                self._own.apply(event)
            self.state.live_clock = self.live_clock
            self.runStarted.emit(self.state)
            return
        state = self.state
        if event.run_id != state.run_id:
            return  # a late event from an earlier run
        if not self._following:
            state.apply(event)
        self._dirty.add(getattr(event, "node_id", ""))
        if isinstance(event, ev.RunFinished):
            self.flush()
            self.runFinished.emit(state)
        elif not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Emit ``updated`` now if anything changed since the last emission."""
        self._timer.stop()
        if not self._dirty:
            return
        changed, self._dirty = frozenset(self._dirty), set()
        self.emissions += 1
        self.updated.emit(changed)
