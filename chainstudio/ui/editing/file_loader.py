"""Reading a big graph file on a worker thread, so that the window keeps turning while it is parsed.

Parsing and checking the file format's largest graph (10,000 steps, 100,000 edges, 7 MB) takes 0.4-0.8 s;
on the window's thread that was one stall. ``FileLoader.start`` reads the file on a Python thread
(``fileformat.load``: its JSON hooks run Python and its schema check validates 1,000 list items per call,
so the window's thread gets the interpreter lock back every few ms) and hands the graph, or the
``LoadError``, back on the window's thread through a queued signal. Only the latest load counts: a result
for a load started before another one (or cancelled) is thrown away.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from chainstudio.core.graph.model import Graph
from chainstudio.core.storage import fileformat

ASYNC_ABOVE = (
    128 * 1024
)  # bytes: a smaller file parses on the window's thread (132 kB: 10-35 ms at load 7; examples: 6 kB)


def worth_a_thread(path: str | Path) -> bool:
    """Whether ``path`` is big enough to read on a worker (a file that cannot be looked at is read at once:
    ``fileformat.load`` says why it cannot be opened)."""
    try:
        return Path(path).stat().st_size > ASYNC_ABOVE
    except OSError:
        return False


class FileLoader(QObject):
    finished = Signal(object, object, object)  # path, its Graph or None, the LoadError or None
    opening = Signal(object)  # the path being read now, or None (read, overtaken or cancelled)
    _result = Signal(int, object, object, object)  # ticket, path, graph, error (from the worker)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ticket = 0
        self.loading: Path | None = None  # the file being read now
        self._result.connect(self._arrived)  # queued: emitted on the worker, run on the window's thread

    def start(self, path: str | Path) -> None:
        """Read ``path`` on a worker; ``finished`` follows unless another ``start`` or ``cancel`` comes first."""
        self._ticket += 1
        self.loading = Path(path)
        self.opening.emit(self.loading)
        ticket = self._ticket
        threading.Thread(target=self._read, args=(ticket, Path(path)), name="graph-file-loader", daemon=True).start()

    def cancel(self) -> None:
        self._ticket += 1
        if self.loading is not None:
            self.loading = None
            self.opening.emit(None)

    def _read(self, ticket: int, path: Path) -> None:
        graph: Graph | None = None
        error: fileformat.LoadError | None = None
        try:
            graph = fileformat.load(path)
        except fileformat.LoadError as exc:
            error = exc
        self._result.emit(ticket, path, graph, error)

    def _arrived(self, ticket: int, path: Path, graph: Graph | None, error: fileformat.LoadError | None) -> None:
        if ticket != self._ticket:
            return  # overtaken by a later load, or cancelled
        self.loading = None
        self.opening.emit(None)
        self.finished.emit(path, graph, error)
