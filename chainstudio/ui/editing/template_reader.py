"""Templates are read on a worker thread, never on the window's event loop.

Validation needs what each template refers to. A template of plain tags is read with a regular expression
in microseconds; any other goes through Jinja2's parser, up to ~0.5 s for the 2,000 tags a template may
have (a stall of the whole window while a file opens or a prompt is edited). So the window's document
defers parsing (``Document.defer_parsing``): its problems leave unparsed templates out, and this reader,
after every edit, parses the templates of the changed steps that need it on a thread of their own, then
tells the document (``Document.templates_read``), which announces that its problems may have changed.
Until then the step shows no problem from that template; a run renders its templates itself and fails
a step whose template does not parse, with the reason.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

import shiboken6
from PySide6.QtCore import QObject, QTimer

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.kinds import NODE_KINDS
from chainstudio.core.graph.templating import TemplateProblem, references, references_if_read
from chainstudio.ui.common.tasks import LatestTask, loop_running
from chainstudio.ui.common.worker import run_in_thread

log = logging.getLogger(__name__)
LOOK_PART = 1_000  # steps looked at per turn of the loop (a new 10,000-step graph's: 75-105 ms in one go)


def read_all(sources: list[str]) -> None:
    """Parse ``sources`` (their references and problems are remembered by ``templating.references``)."""
    for source in sources:
        with contextlib.suppress(TemplateProblem):  # remembered too: validation reports it
            references(source)


class TemplateReader(QObject):
    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        document.defer_parsing = True
        self._wanted: set[str] = set()
        self._task = LatestTask(name="chainstudio-templates")
        self._timer = QTimer(self)  # once per loop turn, however many edits came in it
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._read)
        self._to_look: list[str] = []  # steps of a big change still to look at, LOOK_PART per turn of the loop
        self._looker = QTimer(self)
        self._looker.setSingleShot(True)
        self._looker.setInterval(0)
        self._looker.timeout.connect(self._look_part)
        document.subscribe(self._changed)

    @property
    def busy(self) -> bool:
        return bool(self._wanted or self._to_look) or self._task.running or self._timer.isActive()

    def _changed(self, changes: Changes) -> None:
        if changes.problems:
            return
        graph = self.document.graph
        ids = graph.nodes.keys() if changes.reset else changes.nodes_added | changes.nodes_changed
        if changes.reset:
            self._to_look = []  # (a graph before this one)
        if (len(ids) > LOOK_PART or self._to_look) and loop_running():
            self._to_look.extend(ids)  # a part per turn of the loop (the window stays responsive)
            self._looker.start()
            return
        self._look(ids)

    def _look_part(self) -> None:
        part, self._to_look = self._to_look[:LOOK_PART], self._to_look[LOOK_PART:]
        self._look(part)
        if self._to_look:
            self._looker.start()

    def _look(self, ids: Iterable[str]) -> None:
        """Queue the templates of steps ``ids`` that need parsing (those read at once need nothing)."""
        graph = self.document.graph
        for node_id in ids:
            node = graph.nodes.get(node_id)
            kind = NODE_KINDS.get(node.kind) if node is not None else None
            if node is None or kind is None:
                continue
            for spec in kind.template_fields:
                source = str(node.param(spec.name) or "")
                try:
                    if references_if_read(source) is None:
                        self._wanted.add(source)
                except TemplateProblem:
                    pass
        if self._wanted and not loop_running():  # a bare widget test: no loop to wait on, read them now
            read_all(sorted(self._wanted))  # (this listener comes first: the problems are not computed yet)
            self._wanted.clear()
        elif self._wanted and not self._to_look:  # (a big change: once all its parts are looked at)
            self._timer.start()

    def _read(self) -> None:
        sources, self._wanted = sorted(self._wanted), set()
        pending = sorted(self.document.unread - set(sources))  # left unread by a read that was cut short
        if loop_running():
            self._task.start(lambda: self._read_off_loop(pending + sources))
        else:  # the loop stopped since the edit (a test that ran one briefly): read them here
            read_all(pending + sources)
            self.document.templates_read()

    async def _read_off_loop(self, sources: list[str]) -> None:
        try:
            await run_in_thread(read_all, sources)
        except Exception:  # validation says what is wrong with a template; nothing else should go wrong
            log.exception("reading templates failed")
        if shiboken6.isValid(self):  # not when the window went away meanwhile
            self.document.templates_read()

    def shutdown(self) -> None:
        self._looker.stop()
        self._to_look = []
        self._timer.stop()
        self._task.cancel()
