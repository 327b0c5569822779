"""The open document: the current Graph, the commands applied to it, undo/redo, and change announcements.

Everything that edits a graph goes through ``Document.execute``; listeners (plain callables) hear a
``Changes`` after every edit, undo, redo, replacement or save, and look the ids up in ``document.graph``.
``revision`` counts those announcements; ``analysis`` (layers, ancestry, cycles), ``ordering_only`` (the
edges only ordering their steps: the canvas dashes them, validation warns about them) and ``problems``
(validation) are computed at most once per revision of the graph, however many listeners ask, and kept
across a revision that only moved cards (none of them depends on positions). The window
reads ``known_problems``: a big graph's are validated on a worker (``problem_check``) and are None until
then; ``accept`` stores them and announces ``Changes(checked=True)``. No Qt here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from chainstudio.core.collector import gc_paused
from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.commands import Command
from chainstudio.core.editing.problem_check import CheckResult, ProblemCheck, is_small
from chainstudio.core.editing.rules import CommandError, connect_problem
from chainstudio.core.graph.analysis import Analysis
from chainstudio.core.graph.kinds import ENDPOINT_KINDS
from chainstudio.core.graph.model import Graph
from chainstudio.core.graph.validation import Problem, ordering_only_parts, validate
from chainstudio.core.run.topology import snapshot
from chainstudio.core.storage import fileformat

Listener = Callable[[Changes], None]

__all__ = ["Document", "CommandError", "Listener"]


class _Entry:
    """A command on a stack, with the serial number of the state it produced."""

    def __init__(self, command: Command, serial: int):
        self.command, self.serial = command, serial


def _absolute(path: str | Path | None) -> Path | None:
    """A document's file as an absolute path (a relative one is taken from the working directory now), so
    a later change of directory, an autosave or a restore in another session still means the same file."""
    return Path(path).absolute() if path else None


class Document:
    def __init__(self, graph: Graph | None = None, path: str | Path | None = None):
        self.graph = graph if graph is not None else Graph()
        self.path: Path | None = _absolute(path)
        self._undo: list[_Entry] = []
        self._redo: list[_Entry] = []
        self._serials = itertools.count(1)
        self._clean_serial = 0  # the state that matches the file on disk (0 = the initial state)
        self._listeners: list[Listener] = []
        self.revision = 0  # +1 at every change of the graph (edits, undo, redo, replace)
        self._analysis: Analysis | None = None
        self._ordering_only: frozenset[str] | None = None
        self._problems: Sequence[Problem] | None = None
        self._check_serial = 0  # +1 whenever the problems known so far no longer hold
        self.endpoints: frozenset[str] | None = None  # the endpoint profiles runs can use (None: any name)
        # The window's event loop must not parse templates (a 2,000-tag one takes ~0.5 s): with this set,
        # ``problems`` leaves unparsed templates out and lists them in ``unread``; whoever reads them (a
        # worker thread: ``templating.references``) then calls ``templates_read``.
        self.defer_parsing = False
        self.unread: set[str] = set()

    # --- listening ------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(changes)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _announce(self, changes: Changes) -> None:
        if changes:  # a save announces an empty Changes: the graph is the same
            self.revision += 1
            if not _moves_only(changes):  # layers, ordering-only edges and problems never depend on positions
                self._analysis = None  # (finding them again took 0.14 s of the window after each move of a card
                self._forget_problems()  # of the 10,000-step graph, and its problems were checked again)
        for listener in list(self._listeners):
            listener(changes)

    # --- editing --------------------------------------------------------------------------------
    def execute(self, command: Command) -> Changes:
        """Apply ``command`` and put it on the undo stack. On CommandError nothing has changed."""
        changes = command.apply(self.graph)
        top = self._undo[-1] if self._undo else None
        if top is not None and top.serial != self._clean_serial and not self._redo and top.command.merge(command):
            top.serial = next(self._serials)
        else:
            self._undo.append(_Entry(command, next(self._serials)))
        self._redo.clear()
        self._announce(changes)
        return changes

    def undo(self) -> Changes | None:
        if not self._undo:
            return None
        entry = self._undo.pop()
        changes = entry.command.undo(self.graph)
        self._redo.append(entry)
        self._announce(changes)
        return changes

    def redo(self) -> Changes | None:
        if not self._redo:
            return None
        entry = self._redo.pop()
        changes = entry.command.apply(self.graph)
        self._undo.append(entry)
        self._announce(changes)
        return changes

    def connect_problem(self, source: str, target: str) -> str | None:
        """Why ``source -> target`` would be refused (cycle, duplicate, self-loop, ports), or None."""
        return connect_problem(self.graph, source, target, self.analysis)

    # --- derived from the graph, once per revision ----------------------------------------------
    @property
    def analysis(self) -> Analysis:
        """Layers, ancestry and cycles of the current graph (computed once per revision)."""
        if self._analysis is None:
            self._analysis = Analysis(self.graph)
        return self._analysis

    @property
    def known_analysis(self) -> Analysis | None:
        """``analysis`` when it is known already, else None (nothing is computed)."""
        return self._analysis

    def find_analysis(self) -> Iterator[None]:
        """``analysis`` with its layers a part at a time (nothing to do when known): yields between parts; a
        search overtaken by a change of the graph stops and keeps nothing."""
        if self._analysis is not None:
            return
        revision, parts = self.revision, Analysis.parts(self.graph)
        while True:
            try:
                next(parts)
            except StopIteration as done:
                if self._analysis is None:
                    self._analysis = done.value
                return
            yield
            if self.revision != revision:
                return

    @property
    def ordering_only(self) -> frozenset[str]:
        """Ids of the edges whose data their target never uses (computed once per revision)."""
        for _ in self.find_ordering_only():
            pass
        assert self._ordering_only is not None
        return self._ordering_only

    def find_ordering_only(self) -> Iterator[None]:
        """``ordering_only`` a part at a time (nothing to do when known): yields between parts, so that the
        window's loop can turn; a search overtaken by a change of the graph stops and keeps nothing."""
        if self._ordering_only is not None:
            return
        found: set[str] = set()
        graph, unread = self.graph, self.unread if self.defer_parsing else None
        serial = self._check_serial
        for _ in ordering_only_parts(graph, found, unread):
            yield
            if self._check_serial != serial or self._ordering_only is not None:
                return
        self._ordering_only = frozenset(found)

    @property
    def problems(self) -> Sequence[Problem]:
        """``validate`` of the current graph (computed once per revision)."""
        if self._problems is None:
            unread = self.unread if self.defer_parsing else None
            ordering_only = self.ordering_only
            self._problems = validate(
                self.graph, self.analysis, self.endpoints, unread=unread, ordering_only=ordering_only
            )
        return self._problems

    @property
    def problems_known(self) -> bool:
        """Whether the current revision's problems are computed already (asking computes nothing)."""
        return self._problems is not None

    @property
    def known_problems(self) -> Sequence[Problem] | None:
        """The current revision's problems if known, else None: a small graph's are computed here (a few
        ms), a big one's are None until a worker's check of this revision was ``accept``-ed."""
        if self._problems is None and is_small(self.graph):
            return self.problems
        return self._problems

    def problem_check(self) -> ProblemCheck:
        """A snapshot of the current revision for ``ProblemCheck.run`` on another thread."""
        with gc_paused():  # (the window's thread) 10,000 new steps: a collection would walk the whole heap
            frozen = snapshot(self.graph)
        return ProblemCheck(self._check_serial, frozen, self.endpoints, self.defer_parsing, self._ordering_only)

    def accept(self, result: CheckResult) -> bool:
        """Keep a check's problems if they are the current revision's (False: an older one's, dropped);
        listeners hear ``Changes(checked=True)``."""
        if result.serial != self._check_serial or self._problems is not None:
            return False
        self._problems = result.problems
        self.unread = set(result.unread)
        if self._ordering_only is None:  # found on the worker: the canvas's dashes need not find them again
            self._ordering_only = result.ordering_only
        for listener in list(self._listeners):
            listener(Changes(checked=True))
        return True

    def _forget_problems(self) -> None:
        self._problems = self._ordering_only = None
        self._check_serial += 1
        self.unread = set()

    def templates_read(self) -> None:
        """The templates that were ``unread`` have been read: the problems are computed again, and listeners
        hear a ``Changes(problems=True)`` (the graph itself did not change)."""
        self._forget_problems()
        self.unread = set()
        for listener in list(self._listeners):
            listener(Changes(problems=True))

    def set_endpoints(self, names: Iterable[str] | None) -> None:
        """The endpoint profiles a run can use now (None: any name will do, as on the simulated provider);
        the steps that name one are announced as changed when their problems may differ."""
        endpoints = None if names is None else frozenset(names)
        if endpoints == self.endpoints:
            return
        self.endpoints = endpoints  # (the problems differ only where a step names one: announced below)
        named = {n.id for n in self.graph.nodes.values() if n.kind in ENDPOINT_KINDS and n.param("endpoint")}
        if named:
            self._announce(Changes(nodes_changed=named))

    # --- state ----------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str:
        return self._undo[-1].command.label if self._undo else ""

    @property
    def redo_label(self) -> str:
        return self._redo[-1].command.label if self._redo else ""

    @property
    def serial(self) -> int:
        """Identifies the current state: equal serials mean the same sequence of edits."""
        return self._undo[-1].serial if self._undo else 0

    @property
    def modified(self) -> bool:
        return self.serial != self._clean_serial

    @property
    def title(self) -> str:
        return self.path.name if self.path else self.graph.name

    # --- whole documents ------------------------------------------------------------------------
    def replace(self, graph: Graph, path: str | Path | None = None, *, unsaved: bool = False) -> None:
        """Start over on ``graph`` (New, Open): empties both stacks and marks the state clean, or unsaved
        (``unsaved``: e.g. edits restored from an autosave, not yet in ``path``)."""
        self.graph = graph
        self.path = _absolute(path)
        self._undo.clear()
        self._redo.clear()
        self._clean_serial = -1 if unsaved else 0
        self._announce(Changes(reset=True))

    def save(self, path: str | Path | None = None) -> Path:
        """Write the graph atomically to ``path`` (default: the current path) and mark it clean."""
        target = _absolute(path) or self.path
        if target is None:
            raise ValueError("the document has no file name yet; give a path")
        fileformat.save(self.graph, target)
        return self.saved(target, self.serial)

    def saved(self, path: str | Path, serial: int) -> Path:
        """The state ``serial`` was written to ``path`` (on a worker thread, from a snapshot): the document
        has that file now, and is clean unless it was edited since."""
        target = _absolute(path) or Path(path)
        self.path = target
        self._clean_serial = serial
        self._announce(Changes())
        return target

    @classmethod
    def open(cls, path: str | Path) -> Document:
        """A document on the graph in ``path``; raises fileformat.LoadError."""
        return cls(fileformat.load(path), path)


def _moves_only(changes: Changes) -> bool:
    return bool(changes.nodes_moved) and not (changes.structure or changes.nodes_changed or changes.graph_info)
