"""Core run events → Qt signals, coalesced.

``RunBridge`` is a plain core listener (``bridge(event)``): pass it to the executor like any other
listener. Each event is applied to the bridge's ``RunState`` at once; views hear about it through
``updated``, emitted at most ``rate_hz`` times a second by a single-shot ``QTimer`` (never per token).
``runStarted`` and ``runFinished`` are emitted immediately; a final ``updated`` (which includes the run's
end) is always flushed just before ``runFinished``, so views that refresh on ``updated`` see the end.

Calls made on the bridge's thread (the qasync loop runs on the GUI thread) are handled directly; calls
from another thread are queued onto the bridge's thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal

from chainstudio.core.run import events as ev
from chainstudio.core.run.state import RunState

DEFAULT_RATE_HZ = 30.0


class RunBridge(QObject):
    """A core event listener that keeps a ``RunState`` and tells Qt views about it, coalesced."""

    runStarted = Signal(object)  # the fresh RunState
    updated = Signal(object)  # frozenset of node ids changed since the last emission ("" = the run itself)
    runFinished = Signal(object)  # the RunState, finished
    _posted = Signal(object)  # events handed over from another thread

    def __init__(self, parent: QObject | None = None, rate_hz: float = DEFAULT_RATE_HZ) -> None:
        super().__init__(parent)
        self.state = RunState()
        self._dirty: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(1, round(1000.0 / rate_hz)))
        self._timer.timeout.connect(self.flush)
        self._posted.connect(self._apply, Qt.ConnectionType.QueuedConnection)
        self.events_received = 0
        self.emissions = 0
        self.live_clock = None  # the running run's clock: lets views grow bars between events

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

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
            self.state = RunState()  # a fresh state per run: views may keep the old one
            self.state.live_clock = self.live_clock
            self.state.apply(event)
            self.runStarted.emit(self.state)
            return
        if event.run_id != self.state.run_id:
            return  # a late event from an earlier run
        self.state.apply(event)
        self._dirty.add(getattr(event, "node_id", ""))
        if isinstance(event, ev.RunFinished):
            self.flush()
            self.runFinished.emit(self.state)
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
