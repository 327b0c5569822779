"""A big graph is validated on a worker thread, never on the window's event loop.

Validating 10,000 steps and 100,000 edges takes about a second (issue 14: no stall over 100 ms). After an
edit whose problems are not known (``Document.known_problems`` is None: a graph over
``problem_check.SMALL_GRAPH_ITEMS``; a smaller one is validated where it is asked for), this checker takes
a snapshot of the revision (``Document.problem_check``, ~25 ms for that graph) once the edits of a moment
are in, validates it on a thread of its own and hands the result back to the window's thread through a
queued signal; the document keeps it only if it is still that revision's (``Document.accept``), and then
announces ``Changes(checked=True)``: the badges, the inspector, the status bar and a Run waiting for the
check follow. One check runs at a time: edits made meanwhile are checked when it ends (its result dropped).
Works on the qasync loop and on a bare Qt event loop (benchmarks) alike.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.editing.problem_check import CheckResult, ProblemCheck, is_small
from chainstudio.core.graph.validation import Problem, errors

log = logging.getLogger(__name__)
COALESCE_MS = 100  # edits within this long (typing in a prompt) are checked once
CHECKING = "checking…"  # the status bar's word while the problems are not known


def problems_text(problems: Sequence[Problem] | None) -> str:
    """The status bar's count: "checking…" (None), "no problems", "2 errors, 1 warning"."""
    if problems is None:
        return CHECKING
    count = len(errors(problems))
    parts = [
        f"{n:,} {word}{'s' if n != 1 else ''}" for n, word in ((count, "error"), (len(problems) - count, "warning"))
    ]
    return ", ".join(part for part in parts if not part.startswith("0 ")) or "no problems"


class ProblemChecker(QObject):
    _finished = Signal(object)  # a CheckResult (or None: the check failed), from the worker thread

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.thread_names: list[str] = []  # the threads the checks ran on (tests ask)
        self._worker: threading.Thread | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COALESCE_MS)
        self._timer.timeout.connect(self._start)
        self._finished.connect(self._done)  # queued: emitted on the worker's thread
        self._unsubscribe = document.subscribe(self._changed)
        self._changed(Changes(reset=True))

    @property
    def busy(self) -> bool:
        """Whether a check is waiting or running."""
        return self._timer.isActive() or self._worker is not None

    def _changed(self, changes: Changes) -> None:
        document = self.document
        if changes.checked or document.problems_known or is_small(document.graph):
            return  # (a small graph's are left to whoever asks: known_problems computes them)
        if self._worker is None:
            self._timer.start()

    def _start(self) -> None:
        if self._worker is not None or self.document.known_problems is not None:
            return
        check = self.document.problem_check()
        self._worker = threading.Thread(target=self._run, args=(check,), name="chainstudio-validate", daemon=True)
        self._worker.start()

    def _run(self, check: ProblemCheck) -> None:
        self.thread_names.append(threading.current_thread().name)
        try:
            result: CheckResult | None = check.run()
        except Exception:  # validation reports problems, it does not raise; if it does, say so in the log
            log.exception("validating the graph failed")
            result = None
        if shiboken6.isValid(self):  # not when the window went away meanwhile
            self._finished.emit(result)

    def _done(self, result: CheckResult | None) -> None:
        self._worker = None
        if result is None:  # a bug: validate here, as before the worker (its error shows as it did then)
            self.document.problems  # noqa: B018 - computes them
        elif not self.document.accept(result) and not self.document.problems_known:
            self._timer.start()  # an edit came meanwhile: check the revision it made

    def shutdown(self) -> None:
        self._timer.stop()
        self._unsubscribe()
