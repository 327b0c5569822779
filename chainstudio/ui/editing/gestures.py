"""The canvas's quick ways to add, connect and change steps, as Rivet and ComfyUI users expect them:

- quick-add (a double-click on empty canvas, Tab, a connection dropped on nothing): a searchable list of
  node kinds and the examples' steps; the step goes where asked, connected when it came from a port. Tab
  with one step selected adds the new step after it, connected: the keyboard path to build a chain;
- context menus on the canvas (add, paste, select all, auto-layout, fit), a card (add after, duplicate,
  copy its reference, delete) and an edge (insert a step, delete);
- a step dropped from the palette onto an edge goes in between;
- a delete that leaves templates referring to what is gone says so over the canvas, with Undo;
- a Run refused for problems selects the first problem step, shows it in the inspector and over the canvas.

Every edit is a command through the controller (one undo step each)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from html import escape

from PySide6.QtCore import QObject, QPoint, QPointF
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMenu, QWidget

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.impact import cut_off_after_delete, dangling_after_delete
from chainstudio.core.graph.kinds import NODE_KINDS, node_kind
from chainstudio.core.graph.model import Graph
from chainstudio.core.graph.validation import Problem, errors
from chainstudio.core.storage import fileformat
from chainstudio.paths import examples_dir
from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.canvas.quick_add import Choice, QuickAdd
from chainstudio.ui.canvas.view import CanvasView, insertable
from chainstudio.ui.common.shell import SelectNode, ShowStatus
from chainstudio.ui.editing.controller import Controller
from chainstudio.ui.inspector import InspectorPanel

NEXT_COLUMN = 300.0  # a step added after another goes this far to its right (auto-layout's column gap)


def kind_choices(kinds: list[str] | None = None) -> list[Choice]:
    return [
        Choice(spec.title, spec.description, spec.name)
        for spec in NODE_KINDS.values()
        if kinds is None or spec.name in kinds
    ]


def example_choices(graphs: list[tuple[str, Graph]]) -> list[Choice]:
    """The examples' LLM and Join steps, once each (the research examples share theirs)."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for example, graph in graphs:
        for node in graph.nodes.values():
            text = str(node.params.get("prompt") or node.params.get("template") or "")
            key = (node.kind, node.name, text)
            if node.kind not in ("llm", "join") or key in seen:
                continue
            seen.add(key)
            first = next((line.strip() for line in text.splitlines() if line.strip()), "")
            detail = f"{node_kind(node.kind).title} from {example}: {first}"
            out.append(Choice(node.name, detail, node.kind, dict(node.params), node.name, example=True))
    return out


class CanvasGestures(QObject):
    def __init__(
        self,
        controller: Controller,
        view: CanvasView,
        *,
        inspector: InspectorPanel,
        actions: dict[str, QAction],
        select_node: SelectNode,
        status: ShowStatus,
        host: QWidget,
    ) -> None:
        """``actions``: the window's (paste, select all, auto-layout, fit, duplicate…) for the menus."""
        super().__init__(host)
        self.controller = controller
        self.document = controller.document
        self.view = view
        self.scene = view.canvas
        self.inspector = inspector
        self.actions = actions
        self.select_node = select_node
        self.status = status
        self.host = host
        self.quick_add = QuickAdd(host)
        self.quick_add.chosen.connect(self._quick_added)
        self.menu: QMenu | None = None  # the context menu open now (tests look at it)
        # other features' entries for one card's menu (e.g. ReuseUi.contribute: run this step, pins)
        self.card_menu_hooks: list[Callable[[QMenu, str], None]] = []
        self._examples: list[Choice] | None = None
        self._pending: dict[str, object] = {}  # where the quick-add's step goes and what it connects to
        self._problems: list[Problem] = []
        self._problem_index = 0
        self._deleted: set[str] = set()  # the steps and edges the notice over the canvas says were deleted
        self.document.subscribe(self._document_changed)
        s = self.scene
        s.quickAddRequested.connect(lambda pos: self.open_quick_add(pos))
        s.connectToNewRequested.connect(self._connection_dropped)
        s.contextMenuRequested.connect(self._context_menu)
        s.cardActivated.connect(self.edit_step)
        view.quickAddRequested.connect(self.quick_add_by_keyboard)
        view.kindDroppedOnEdge.connect(lambda kind, edge, pos: self.insert(kind, edge, pos))

    # --- quick-add ------------------------------------------------------------------------------
    def examples(self) -> list[Choice]:
        """The examples' steps, read once on first use."""
        if self._examples is None:
            graphs = []
            for path in sorted(examples_dir().glob("*.chain.json")):
                try:
                    graphs.append((path.name.removesuffix(".chain.json"), fileformat.load(path)))
                except (fileformat.LoadError, OSError):
                    continue
            self._examples = example_choices(graphs)
        return self._examples

    def open_quick_add(
        self, pos: QPointF, after: str | None = None, before: str | None = None, centre: QPointF | None = None
    ) -> None:
        """The quick-add list for a step at ``pos`` (its centre unless ``centre`` says), connected from
        ``after`` / to ``before`` when given (then only the kinds that fit are listed)."""
        kinds = [
            k
            for k, spec in NODE_KINDS.items()
            if (after is None or spec.has_input_port) and (before is None or spec.has_output_port)
        ]
        choices = kind_choices(kinds) + [c for c in self.examples() if c.kind in kinds]
        graph = self.document.graph
        heading = "Add a step"
        if after in graph.nodes:
            heading = f"Add a step after {graph.nodes[after].name}"
        elif before in graph.nodes:
            heading = f"Add a step before {graph.nodes[before].name}"
        self._pending = {"centre": centre if centre is not None else pos, "after": after, "before": before}
        screen = self.view.viewport().mapToGlobal(self.view.mapFromScene(pos))
        self.quick_add.open_at(screen + QPoint(8, 8), choices, heading)

    def quick_add_by_keyboard(self, pos: QPointF) -> None:
        """Tab on the canvas: with one step selected (that has an output), the new step goes after it."""
        selected = self.scene.selected_node_ids()
        graph = self.document.graph
        if len(selected) == 1 and node_kind(graph.nodes[selected[0]].kind).has_output_port:
            beside = self.scene.nodes[selected[0]].port_scene_pos("out")
            self.open_quick_add(beside, after=selected[0], centre=self._free_spot_after(selected[0]))
        else:
            self.open_quick_add(pos)

    def _free_spot_after(self, node_id: str) -> QPointF:
        """One column right of ``node_id`` (the controller moves a new card off any it would cover)."""
        x, y = self.document.graph.nodes[node_id].position
        return QPointF(x + NEXT_COLUMN + geo.CARD_WIDTH / 2, y + geo.CARD_HEIGHT / 2)

    def _connection_dropped(self, node_id: str, side: str, pos: QPointF) -> None:
        """A connection dragged from a port and dropped on empty canvas: offer a step to connect there,
        its input port (or, from an input port, its output port) where the drag ended."""
        half = QPointF(geo.CARD_WIDTH / 2, 0)
        if side == "out":
            self.open_quick_add(pos, after=node_id, centre=pos + half)
        else:
            self.open_quick_add(pos, before=node_id, centre=pos - half)

    def _quick_added(self, choice: Choice) -> None:
        pending, self._pending = self._pending, {}
        centre = pending.get("centre")
        if not isinstance(centre, QPointF):
            return
        after, before = pending.get("after"), pending.get("before")
        node_id = self.controller.add_node(
            choice.kind,
            (centre.x(), centre.y()),
            dict(choice.params),
            choice.name,
            after=after if isinstance(after, str) else None,
            before=before if isinstance(before, str) else None,
        )
        if node_id:
            self.select_node(node_id)  # selected and in view
            name = self.document.graph.nodes[node_id].name
            self.status(f"Added {name} ({node_kind(choice.kind).title}); Tab adds the next step after it", 6000)

    # --- edits ----------------------------------------------------------------------------------
    def insert(self, kind: str, edge_id: str, pos: QPointF) -> str | None:
        """A ``kind`` step centred at ``pos`` in the middle of edge ``edge_id``."""
        node_id = self.controller.insert_into_edge(kind, edge_id, (pos.x(), pos.y()))
        if node_id:
            self.select_node(node_id)
        return node_id

    def delete(self, node_ids: Sequence[str], edge_ids: Sequence[str] = ()) -> bool:
        """Delete; when templates still refer to what went, say which over the canvas, with Undo."""
        graph = self.document.graph
        names = [graph.nodes[n].name for n in node_ids if n in graph.nodes]
        edges = [
            f"{graph.nodes[e.source].name} → {graph.nodes[e.target].name}"
            for e in (graph.edges[k] for k in edge_ids if k in graph.edges)
            if e.source not in node_ids and e.target not in node_ids
        ]
        dangling = dangling_after_delete(graph, node_ids) + cut_off_after_delete(graph, node_ids, edge_ids)
        if not self.controller.delete(node_ids, edge_ids):
            return False
        if dangling:
            what = ", ".join(names + [f"the edge {e}" for e in edges])
            shown = "<br>".join(escape(str(d)) for d in dangling[:6])
            more = f"<br>… and {len(dangling) - 6} more" if len(dangling) > 6 else ""
            self.view.notice.show_message(
                f"<b>Deleted {escape(what)}</b>, which other steps still read; "
                f"they will fail until you change them or connect again:<br>{shown}{more}",
                "warning",
                ("Undo", self.controller.undo),
            )
            self._deleted = set(node_ids) | set(edge_ids)
            self.status(f"Deleted {what}: {len(dangling)} reference(s) now point at nothing upstream", 8000)
        return True

    def copy_reference(self, node_id: str) -> None:
        name = self.document.graph.nodes[node_id].name
        QGuiApplication.clipboard().setText("{{ " + name + " }}")
        self.status(f"Copied {{{{ {name} }}}}: paste it into a later step's prompt", 5000)

    def connect_selected(self) -> bool:
        """Two steps selected: connect the left one to the right one."""
        graph = self.document.graph
        ids = sorted(self.scene.selected_node_ids(), key=lambda n: graph.nodes[n].position)
        if len(ids) != 2:
            self.status("Select two steps to connect them (left to right)", 5000)
            return False
        return self.controller.connect_nodes(ids[0], ids[1])

    def edit_step(self, node_id: str) -> None:
        """A double-click on a card: its main text in the inspector, ready to type."""
        self.select_node(node_id)
        form = self.inspector.node_form
        editor = next((form.editors[f] for f in ("prompt", "template") if f in form.editors), form.name_edit)
        editor.setFocus()
        self.inspector.scroller.ensureWidgetVisible(editor)

    # --- problems -------------------------------------------------------------------------------
    def show_problems(self, problems: list[Problem]) -> None:
        """Run refused: the first problem's step selected, its problems in the inspector, all of them
        counted over the canvas, with a button to go through them."""
        self._problems = [p for p in problems if p.severity == "error"] or list(problems)
        self._problem_index = 0
        self._show_problem()

    def _show_problem(self) -> None:
        problems = self._problems
        if not problems:
            return
        problem = problems[self._problem_index % len(problems)]
        self._deleted = set()
        self.select_node(problem.node_id)
        self.inspector.update_problems()
        count = len(problems)
        which = f" ({self._problem_index % count + 1} of {count})" if count > 1 else ""
        action = ("Next problem", self._next_problem) if count > 1 else None
        self.view.notice.show_message(
            f"<b>Cannot run: {count} problem{'s' if count != 1 else ''}</b>{which}<br>"
            f"{escape(problem.location)}: {escape(problem.message)}",
            "error",
            action,
            ms=30000,
        )
        self.status(f"Cannot run: {problem.location}: {problem.message}", 10000)

    def _document_changed(self, changes: Changes) -> None:
        """The notice over the canvas goes once it no longer holds: another graph, the deleted steps back
        (Undo, by its button or Ctrl+Z), or, for a refused run, no error left."""
        notice = self.view.notice
        if not notice.isVisible():
            return
        graph = self.document.graph
        if changes.reset:
            notice.hide()
        elif self._deleted:
            if self._deleted & (set(graph.nodes) | set(graph.edges)):  # what was deleted is back
                notice.hide()
        elif self._problems and notice.property("level") == "error":
            known = self.document.known_problems  # None: a big graph being checked (``checked`` follows)
            if known is not None and not errors(known):
                notice.hide()

    def _next_problem(self) -> None:
        self._problem_index += 1
        self._show_problem()

    # --- context menus --------------------------------------------------------------------------
    def _context_menu(self, what: str, item_id: str, pos: QPointF, screen: QPoint) -> None:
        menu = QMenu(self.host)
        menu.setObjectName(f"{what}_menu")
        build: dict[str, Callable[[QMenu, str, QPointF], None]] = {
            "node": self._card_menu,
            "edge": self._edge_menu,
            "canvas": self._canvas_menu,
        }
        build[what](menu, item_id, pos)
        self.menu = menu
        menu.aboutToHide.connect(menu.deleteLater)
        menu.popup(screen)

    def _kinds_menu(self, menu: QMenu, title: str, add: Callable[[str], object], kinds: list[str]) -> None:
        sub = menu.addMenu(title)
        for kind in kinds:
            spec = NODE_KINDS[kind]
            sub.addAction(f"&{spec.title}", partial(add, kind)).setToolTip(spec.description)

    def _canvas_menu(self, menu: QMenu, _id: str, pos: QPointF) -> None:
        centre = (pos.x(), pos.y())
        self._kinds_menu(menu, "Add &step", lambda kind: self._add_at(kind, centre), list(NODE_KINDS))
        menu.addAction("Searc&h steps…", lambda: self.open_quick_add(pos))
        menu.addSeparator()
        for name in ("paste", "select_all"):
            menu.addAction(self.actions[name])
        menu.addSeparator()
        for name in ("auto_layout", "fit"):
            menu.addAction(self.actions[name])

    def _add_at(self, kind: str, centre: tuple[float, float]) -> None:
        node_id = self.controller.add_node(kind, centre)
        if node_id:
            self.select_node(node_id)

    def _card_menu(self, menu: QMenu, node_id: str, _pos: QPointF) -> None:
        graph = self.document.graph
        node = graph.nodes[node_id]
        many = len(self.scene.selected_node_ids()) > 1
        if not many:
            menu.addAction("&Edit…", lambda: self.edit_step(node_id))
            if node_kind(node.kind).has_output_port:
                kinds = [k for k, spec in NODE_KINDS.items() if spec.has_input_port]
                spot = self._free_spot_after(node_id)
                self._kinds_menu(
                    menu,
                    "Add step &after",
                    lambda kind: self._added_after(kind, node_id, spot),
                    kinds,
                )
            menu.addAction(f"Copy &reference {{{{ {node.name} }}}}", lambda: self.copy_reference(node_id))
            for contribute in self.card_menu_hooks:
                menu.addSeparator()
                contribute(menu, node_id)
        if len(self.scene.selected_node_ids()) == 2:
            menu.addAction("&Connect the two selected steps", self.connect_selected)
        menu.addSeparator()
        menu.addAction(self.actions["duplicate"])
        menu.addAction(self.actions["copy"])
        menu.addSeparator()
        menu.addAction(self.actions["delete"])

    def _added_after(self, kind: str, node_id: str, spot: QPointF) -> None:
        new = self.controller.add_node(kind, (spot.x(), spot.y()), after=node_id)
        if new:
            self.select_node(new)

    def _edge_menu(self, menu: QMenu, edge_id: str, pos: QPointF) -> None:
        kinds = [k for k in NODE_KINDS if insertable(k)]
        self._kinds_menu(menu, "&Insert step", lambda kind: self.insert(kind, edge_id, pos), kinds)
        menu.addSeparator()
        menu.addAction("&Delete edge", lambda: self.delete([], [edge_id]))
