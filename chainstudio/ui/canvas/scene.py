"""CanvasScene: a mirror of a Document. It listens to the document's change events and creates, updates
or removes items by id; gestures come out as signals (connect, move, a connection dropped on empty canvas,
double-clicks, context menus) for the controller to turn into commands. The scene never edits the graph.
Over 400 lines because it is the one mirror keeping items, gestures, bands and the overview in step.
A big graph's items are made a slice at a time between turns of the event loop (``scene_build``), and so is
the pass that follows edits (bands, edge styles, the overview: ``scene_pass``).

A port takes the mouse within a few screen pixels at any zoom, so connecting works as well in the overview
as at 100 %. Steps with problems carry a badge (red: an error, amber: a warning), updated shortly after an
edit, from the document's validation of that revision."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneContextMenuEvent, QGraphicsSceneMouseEvent

from chainstudio.core.editing.changes import Changes
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.analysis import CycleError
from chainstudio.core.graph.problems import kept_problems
from chainstudio.core.graph.validation import Problem
from chainstudio.ui import theme
from chainstudio.ui.canvas import geometry as geo
from chainstudio.ui.canvas.activation import ActivationPanel
from chainstudio.ui.canvas.band_layer import BandLayer
from chainstudio.ui.canvas.edge_item import EdgeItem, LayerBandItem
from chainstudio.ui.canvas.edge_layer import EdgeLayer
from chainstudio.ui.canvas.interactions import ConnectDrag
from chainstudio.ui.canvas.node_item import NodeItem, PortItem
from chainstudio.ui.canvas.overview import OverviewItem, overview_wanted, repaint_views
from chainstudio.ui.canvas.scene_build import SlicedBuild
from chainstudio.ui.canvas.scene_pass import SlicedPass

FLASH_MS = 700
OVERVIEW_RUN_MS = 100  # far out, a run's progress is redrawn at most ten times a second
PROBLEMS_DELAY_MS = 150  # badges follow an edit this long after it (validating a big graph takes a while)
CHECKING_OPACITY = 0.35  # a badge while the graph is checked again (a big graph's, on a worker)
BIG_SCENE_ITEMS = 4_000  # over this many cards and edges, the scene index is kept shallow:
BIG_SCENE_BSP_DEPTH = 6  # Qt's own depth for 110,000 filed each long edge into thousands of leaves (minutes)
# ... and its index covers the graph from the start (Qt re-files every item each time the items' bounds grow)
FAR_AWAY = QRectF(-1e9, -1e9, 1, 1)
EDGES_PER_PART = 1_000  # edge styles set between two yields of the sliced pass
BANDS_PER_PART = 50  # layer bands placed between two
NEW_STEP_DRAG_PIXELS = 24  # a connection dragged at least this far and dropped on nothing offers a new step


class CanvasScene(QGraphicsScene):
    connectRequested = Signal(str, str)  # source id, target id
    moveFinished = Signal(dict)  # node id -> (x, y)
    selectedNodesChanged = Signal(list)  # node ids
    connectToNewRequested = Signal(str, str, QPointF)  # node id, its port ("in"/"out"), where it was dropped
    quickAddRequested = Signal(QPointF)  # a double-click on empty canvas, there
    cardActivated = Signal(str)  # a double-click on a card
    contextMenuRequested = Signal(str, str, QPointF, QPoint)  # "node"/"edge"/"canvas", its id, scene, screen pos
    buildProgress = Signal(int, int)  # a big graph's items made so far, of how many
    built = Signal()  # ... all made

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[str, EdgeItem] = {}
        self.bands: list[LayerBandItem] = []
        self.show_layers = True
        self._layers: list[list[str]] = []
        self._by_node: dict[str, set[str]] = {}  # node id -> ids of edges touching it
        self._structure_dirty = self._annotations_dirty = self._bands_dirty = self._overview_dirty = False
        self._overview_restyle = False  # only the overview's looks changed (a run, the selection, a badge)
        self._restyled: set[str] = set()  # ... of these cards
        self._restyled_edges: set[str] = set()  # ... of these edges
        self.zooming = False  # during a zoom gesture cards are rescaled from a fixed-resolution cache
        self.panning = False  # a view is being dragged (middle button, Space+drag): its replayed moves ignored
        self.zoom = 1.0  # the view's, for hit distances measured in screen pixels
        self.overview = OverviewItem(self)
        self.addItem(self.overview)
        self.edge_layer = EdgeLayer(self)  # many edges: drawn by one item, as an image when many are in view
        self.addItem(self.edge_layer)
        self.band_layer = BandLayer(self)  # the layer bands: drawn by one item, from a picture kept across frames
        self.addItem(self.band_layer)
        self.activation = ActivationPanel()  # the window's (de)activation reaches it alone, not every item
        self.addItem(self.activation)
        self._drag: ConnectDrag | None = None
        self._build = SlicedBuild(self, self._make_queued, self.buildProgress.emit, self._build_finished, self._index)
        self._pass = SlicedPass(self, self._pass_parts)  # bands, edge styles, the overview: sliced when big
        self._last_selection: list[str] = []
        self._flashed: list[tuple[dict, str]] = []
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self._end_flash)
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.timeout.connect(self._flush_soon)
        self._overview_timer = QTimer(self)  # a run's progress in the overview, at most this often
        self._overview_timer.setSingleShot(True)
        self._overview_timer.setInterval(OVERVIEW_RUN_MS)
        self._overview_timer.timeout.connect(self._flush_soon)
        self._problems_timer = QTimer(self)
        self._problems_timer.setSingleShot(True)
        self._problems_timer.setInterval(PROBLEMS_DELAY_MS)
        self._problems_timer.timeout.connect(self.show_problems)
        self.setBackgroundBrush(theme.CANVAS_BACKGROUND)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.selectionChanged.connect(self._announce_selection)
        self.selectionChanged.connect(self.mark_overview)
        self.selectionChanged.connect(self._selection_to_layer)
        self._unsubscribe = document.subscribe(self.apply_changes)
        self.apply_changes(Changes(reset=True))

    def detach(self) -> None:
        """Stop listening to the document (the scene is going away)."""
        self._unsubscribe()

    # --- document -> items ----------------------------------------------------------------------
    def apply_changes(self, changes: Changes) -> None:
        graph = self.document.graph
        self._pass.cancel()  # a pass underway started on the graph as it was: the next one does its work
        if changes.reset:
            self._clear_items()
            self.edge_layer.reset(len(graph.edges), graph.nodes.values())
            big = len(graph.nodes) + len(graph.edges) > BIG_SCENE_ITEMS
            self.setBspTreeDepth(BIG_SCENE_BSP_DEPTH if big else 0)
            self.setSceneRect(geo.graph_rect(graph.nodes.values()) if big else QRectF())
            if big:  # made a slice at a time; bands, styles and the overview follow once all are made
                self._build.start(graph.nodes, graph.edges)
                self._overview_dirty |= self.overview.active
                self._pending.start(0)
                self.buildProgress.emit(0, self._build.total)
                return
            changes = Changes(nodes_added=set(graph.nodes), edges_added=set(graph.edges))
        for edge_id in changes.edges_removed | changes.edges_added:
            if edge_id not in graph.edges:
                self._remove_edge(edge_id)
        for node_id in changes.nodes_removed | changes.nodes_added | changes.nodes_changed | changes.nodes_moved:
            node = graph.nodes.get(node_id)
            if node is None:
                self._remove_node(node_id)
            elif node_id in self.nodes:
                self.nodes[node_id].show_node(node)
            else:
                self._add_node(node)
        for edge_id in changes.edges_added:
            if edge_id in graph.edges and edge_id not in self.edges:
                self._add_edge(edge_id)
        self._structure_dirty |= changes.structure
        self._annotations_dirty |= changes.structure or bool(changes.nodes_changed) or changes.problems
        self._bands_dirty |= changes.structure or bool(changes.nodes_moved)
        self._overview_dirty |= self.overview.active and bool(changes)
        if self._structure_dirty or self._annotations_dirty or self._bands_dirty or self._overview_dirty:
            self._pending.start(0)
        if changes or changes.problems or changes.checked:
            self._problems_timer.start()

    @property
    def building(self) -> bool:
        """Whether a big graph's items are still being made (``finish_building`` makes the rest now)."""
        return self._build.active

    def finish_building(self) -> None:
        self._build.finish()

    def _make_queued(self, is_edge: bool, item_id: str) -> None:
        graph = self.document.graph
        if is_edge:
            if item_id in graph.edges and item_id not in self.edges:
                self._add_edge(item_id, defer=False)
        elif item_id not in self.nodes and (node := graph.nodes.get(item_id)) is not None:
            self._add_node(node)

    def _index(self) -> None:
        self.items(FAR_AWAY)  # a query files the items added since the last one in the scene's index

    def _build_finished(self) -> None:
        self._structure_dirty = self._annotations_dirty = self._bands_dirty = True
        self._overview_dirty |= self.overview.active
        self._pending.start(0)
        self._problems_timer.start()
        self.built.emit()

    def _clear_items(self) -> None:
        self._build.stop()
        self._pass.cancel()
        self.overview.geometry.invalidate()
        self._drag = None
        self.removeItem(self.overview)
        self.removeItem(self.edge_layer)
        self.removeItem(self.band_layer)
        self.removeItem(self.activation)
        self.clear()
        self.addItem(self.activation)
        self.addItem(self.overview)
        self.addItem(self.edge_layer)
        self.addItem(self.band_layer)
        self.nodes.clear()
        self.edges.clear()
        self.bands.clear()
        self.band_layer.set_bands([])
        self._by_node.clear()
        self._layers = []

    def _add_node(self, node) -> None:
        self.nodes[node.id] = item = NodeItem(node)
        if self.zooming:
            item.set_crisp(False)
        self.overview.adopt(item)
        self.addItem(item)

    def _add_edge(self, edge_id: str, defer: bool = True) -> None:
        graph = self.document.graph
        edge = graph.edges[edge_id]
        if edge.source not in self.nodes or edge.target not in self.nodes:
            if defer and self._build.active and edge.source in graph.nodes and edge.target in graph.nodes:
                self._build.later(edge_id)  # a card of it is still waiting to be made
            return  # a dangling edge in a loaded file: validation reports it
        item = EdgeItem(edge.id, edge.source, edge.target)
        self.overview.adopt(item)
        self.edges[edge_id] = item
        self.edge_layer.adopt(item)
        self._by_node.setdefault(edge.source, set()).add(edge_id)
        self._by_node.setdefault(edge.target, set()).add(edge_id)
        self._route(item)
        self.addItem(item)

    def _remove_edge(self, edge_id: str) -> None:
        item = self.edges.pop(edge_id, None)
        if item is not None:
            self._by_node.get(item.source_id, set()).discard(edge_id)
            self._by_node.get(item.target_id, set()).discard(edge_id)
            self.edge_layer.touch(item)
            self.overview.geometry.touch_edge(edge_id)
            self.removeItem(item)

    def _remove_node(self, node_id: str) -> None:
        for edge_id in list(self._by_node.pop(node_id, ())):
            self._remove_edge(edge_id)
        item = self.nodes.pop(node_id, None)
        if item is not None:
            self.overview.geometry.touch_node(node_id)
            self.removeItem(item)

    def _route(self, item: EdgeItem) -> None:
        item.set_ends(self.nodes[item.source_id].port_scene_pos("out"), self.nodes[item.target_id].port_scene_pos("in"))
        self.overview.geometry.touch_edge(item.edge_id)

    def edges_of(self, node_id: str) -> set[str]:
        """The ids of the edges touching a card."""
        return self._by_node.get(node_id, set())

    def dragging_connection(self) -> bool:
        return self._drag is not None

    def node_item_moved(self, item: NodeItem) -> None:
        """Called by a NodeItem whose position changed (while dragging or when the model moved it)."""
        for edge_id in self._by_node.get(item.node_id, ()):
            self._route(self.edges[edge_id])
        self.overview.geometry.touch_node(item.node_id)
        self._bands_dirty = True
        self._overview_dirty |= self.overview.active
        self._pending.start(0)

    def mark_overview(self, node_id: str | None = None, edge_id: str | None = None, urgent: bool = True) -> None:
        """Something the overview shows changed (the selection; card ``node_id``'s run state or badge; edge
        ``edge_id`` lit by a run or a drop target): restyle it on the next turn of the loop, or, not
        ``urgent`` (a run's progress), within OVERVIEW_RUN_MS, together with what else changed by then."""
        if not self.overview.active:
            self.overview.note_hidden(node_id, edge_id)
        else:
            self._overview_restyle = True
            if edge_id is not None:
                self._restyled_edges.add(edge_id)
            if node_id is not None:
                self._restyled.add(node_id)
            if urgent:
                self._pending.start(0)
            elif not self._overview_timer.isActive():
                self._overview_timer.start()

    def set_zoom(self, zoom: float) -> None:
        """The view's zoom: far out, draw the overview instead of every card and edge."""
        self.zoom = zoom
        was, wanted = self.overview.active, overview_wanted(zoom)
        if was == wanted:
            return
        self._pass.cancel()  # (it marks dirty again what it had taken on) the overview is rebuilt now, or hidden
        self.overview.set_active(wanted)  # (leaving it, the cards' cache modes are set as they are switched)
        self._overview_dirty = wanted and self._annotations_dirty  # edge styles still to come: again after them
        self._overview_restyle = False
        self._restyled, self._restyled_edges = set(), set()
        if self._structure_dirty or self._annotations_dirty or self._bands_dirty or self._overview_dirty:
            self._pending.start(0)

    def show_problems(self, problems: Sequence[Problem] | None = None) -> None:
        """Badge the steps with problems (default: the document's, for its current revision; while a worker
        checks a big graph, the badges shown are dimmed: they are an earlier revision's). Warnings about
        an edge are left to the edge (drawn dashed); the card's tooltip lists the rest."""
        self._problems_timer.stop()
        problems = self.document.known_problems if problems is None else problems
        if problems is None:
            for item in self.nodes.values():
                if item.problem is not None:
                    item.problem_badge.setOpacity(CHECKING_OPACITY)
            return
        found: dict[str, list[Problem]] = {}
        for problem in kept_problems(problems):  # (a big graph's ordering-only warnings are not made)
            if problem.node_id is not None and (problem.severity == "error" or problem.edge_id is None):
                found.setdefault(problem.node_id, []).append(problem)
        for node_id, item in self.nodes.items():  # (only the cards whose badge changes are touched)
            mine = found.get(node_id)
            if mine is None:
                if item.problem is not None:
                    item.set_problems(None)
                continue
            severity = "error" if any(p.severity == "error" for p in mine) else "warning"
            text = "\n".join(f"{'✖' if p.severity == 'error' else '⚠'} {p.location}: {p.message}" for p in mine)
            item.set_problems(severity, text)
            item.problem_badge.setOpacity(1.0)

    def set_zooming(self, on: bool) -> None:
        """While zooming, cards are rescaled rather than redrawn at every step; afterwards, redrawn sharp."""
        if on != self.zooming:
            self.zooming = on
            if not self.overview.active:  # (in the overview no card draws itself: set when it ends)
                self.overview.set_crisp(not on)
            if not on:
                self.band_layer.update()  # its bands drawn sharp again
            if self.overview.active and not on:
                repaint_views(self)  # its edges sharp again

    def _big(self) -> bool:
        return len(self.nodes) + len(self.edges) > BIG_SCENE_ITEMS

    def _flush_soon(self) -> None:
        """The pass on the next turn of the loop: a big scene's in slices (``scene_pass``), a small one's now."""
        if self._build.active:
            return  # the build's end asks for the pass
        if self._big():
            self._pass.start()
        else:
            self.flush()

    def flush(self) -> None:
        """Bring layer bands and edge styles up to date now (normally done on the next event-loop turn)."""
        self._pending.stop()
        self._overview_timer.stop()
        self._pass.finish()
        for _ in self._pass_parts():
            pass

    def _pass_parts(self) -> Iterator[None]:
        """The pass: what is marked dirty when it starts, yielding between parts. Cancelled (the graph
        changed), it marks dirty again what it took on, for the next pass."""
        structure, annotations, bands = self._structure_dirty, self._annotations_dirty, self._bands_dirty
        overview, restyle = self._overview_dirty, self._overview_restyle
        restyled, restyled_edges = self._restyled, self._restyled_edges
        self._structure_dirty = self._annotations_dirty = self._bands_dirty = False
        self._overview_dirty = self._overview_restyle = False
        self._restyled, self._restyled_edges = set(), set()
        done = False
        try:
            yield from self._pass_work(structure, annotations, bands, overview, restyle, restyled, restyled_edges)
            done = True
        finally:
            if not done:
                self._structure_dirty |= structure
                self._annotations_dirty |= annotations
                self._bands_dirty |= bands
                self._overview_dirty |= overview and self.overview.active
                self._overview_restyle |= restyle and self.overview.active
                self._restyled |= restyled
                self._restyled_edges |= restyled_edges
        if self._structure_dirty or self._annotations_dirty or self._bands_dirty or self._overview_dirty:
            self._pending.start(0)  # marked while this pass ran
        elif self._overview_restyle and not self._overview_timer.isActive():
            self._overview_timer.start()

    def _pass_work(
        self,
        structure: bool,
        annotations: bool,
        bands: bool,
        overview: bool,
        restyle: bool,
        restyled: set[str],
        restyled_edges: set[str],
    ) -> Iterator[None]:
        document = self.document
        if structure:
            yield from document.find_analysis()  # layers, a part at a time (once per revision)
            try:
                self._layers = document.analysis.layers
            except CycleError:
                self._layers = []
            bands = True
            yield
        if annotations:  # found once per revision (validation uses them too), a part at a time
            yield from document.find_ordering_only()
            dashed = document.ordering_only
            for i, (edge_id, item) in enumerate(list(self.edges.items()), 1):
                if item.ordering_only != (edge_id in dashed):
                    item.set_ordering_only(edge_id in dashed)
                    self.overview.geometry.touch_edge(edge_id)  # (dashed edges are drawn apart)
                if i % EDGES_PER_PART == 0:
                    yield
        if bands:
            self.edge_layer.recount(len(self.edges), document.graph.nodes.values())
            yield from self._bands_parts()
        if overview and self.overview.active:
            yield from self.overview.rebuild_parts()
        elif restyle:
            yield from self.overview.restyle_parts(restyled, restyled_edges)  # (many cards: in parts)

    def _bands_parts(self) -> Iterator[None]:
        groups = self._layers if self.show_layers else []
        while len(self.bands) > len(groups):
            self.removeItem(self.bands.pop())
        while len(self.bands) < len(groups):
            band = LayerBandItem(len(self.bands))
            self.bands.append(band)
            self.addItem(band)
            if band.index % BANDS_PER_PART == BANDS_PER_PART - 1:
                yield
        for band, group in zip(list(self.bands), groups, strict=False):
            rects = [self.nodes[n].box() for n in group if n in self.nodes]
            band.set_band(geo.band_rect(rects), geo.band_label(band.index, len(group)))
            if band.index % BANDS_PER_PART == BANDS_PER_PART - 1:
                yield
        self.band_layer.set_bands(self.bands)
        if self.overview.active:
            repaint_views(self)

    def set_show_layers(self, on: bool) -> None:
        self.show_layers = on
        self._bands_dirty = True
        self.flush()

    # --- selection ------------------------------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        return [item.node_id for item in self.selectedItems() if isinstance(item, NodeItem)]

    def selected_edge_ids(self) -> list[str]:
        return [item.edge_id for item in self.selectedItems() if isinstance(item, EdgeItem)]

    def select_nodes(self, node_ids: list[str]) -> None:
        wanted = set(node_ids)
        self.blockSignals(True)
        try:
            self.clearSelection()
            for node_id in wanted & set(self.nodes):
                self.nodes[node_id].setSelected(True)
        finally:
            self.blockSignals(False)
        self.selectionChanged.emit()  # once, not once per item

    def _selection_to_layer(self) -> None:
        self.edge_layer.selection_changed()  # (a slot of the scene: not called once the scene is gone)

    def _announce_selection(self) -> None:
        ids = self.selected_node_ids()
        if ids != self._last_selection:
            self._last_selection = ids
            self.selectedNodesChanged.emit(ids)

    # --- feedback -------------------------------------------------------------------------------
    def flash(self, node_ids: Sequence[str] = (), edge_ids: Sequence[str] = ()) -> None:
        """Outline nodes and edges in red for a moment (a refused gesture)."""
        self._end_flash()
        self._flashed = [(self.nodes, n) for n in node_ids] + [(self.edges, e) for e in edge_ids]
        self._set_flashing(True)
        self._flash_timer.start(FLASH_MS)

    def _set_flashing(self, on: bool) -> None:
        for items, item_id in self._flashed:
            if item_id in items:
                items[item_id].flashing = on
                items[item_id].update()
                if items is self.edges:
                    self.edge_layer.touch(self.edges[item_id])

    def _end_flash(self) -> None:
        self._set_flashing(False)
        self._flashed = []

    # --- gestures -------------------------------------------------------------------------------
    def node_at(self, pos: QPointF, ignore: object = None) -> NodeItem | None:
        for item in self.items(pos):
            if item is ignore or (ignore is not None and item.parentItem() is ignore):
                continue
            while item is not None and not isinstance(item, NodeItem):
                item = item.parentItem()
            if item is not None:
                return item
        return None

    def port_near(self, pos: QPointF) -> PortItem | None:
        """The port within a few screen pixels of ``pos`` (closest first), at any zoom; its item is made if
        it was not yet (``NodeItem.port``: the view asks at each move of the pointer)."""
        reach = min(geo.PORT_HIT_MAX, max(geo.PORT_RADIUS + 4, geo.PORT_HIT_PIXELS / self.zoom))
        best: tuple[NodeItem, str] | None = None
        best_distance = reach
        around = reach + 1  # a port's centre is on its card's edge: the card is in any square around it
        for item in self.items(QRectF(pos.x() - around, pos.y() - around, 2 * around, 2 * around)):
            if isinstance(item, NodeItem):
                for side in item.sides:
                    distance = QLineF(item.port_scene_pos(side), pos).length()
                    if distance <= best_distance:
                        best, best_distance = (item, side), distance
        return best[0].port(best[1]) if best is not None else None

    def edge_near(self, pos: QPointF) -> EdgeItem | None:
        """The edge within a few screen pixels of ``pos`` (not counting cards), at any zoom."""
        reach = max(2.0, geo.EDGE_HIT_PIXELS / self.zoom)
        for item in self.items(QRectF(pos.x() - reach, pos.y() - reach, 2 * reach, 2 * reach)):
            if isinstance(item, EdgeItem):
                return item
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        port = self.port_near(event.scenePos()) if event.button() == Qt.MouseButton.LeftButton else None
        if port is not None:
            self._drag = ConnectDrag(self, port.node_id, port.side, event.scenePos())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is not None:
            self._drag.move_to(event.scenePos())
            event.accept()
            return
        if self.panning or (self.zooming and event.buttons() == Qt.MouseButton.NoButton):
            event.accept()  # the view replays the last move at each zoom or pan step: no hover hit tests then
            return  # (over the biggest graph they took 0.1-0.3 s a step, stroking edges' shapes)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is not None:
            drag, self._drag = self._drag, None
            pos = event.scenePos()
            pair = drag.finish(pos)
            if pair is not None:
                self.connectRequested.emit(*pair)
            elif self.node_at(pos) is None and drag.travelled(pos) * self.zoom >= NEW_STEP_DRAG_PIXELS:
                self.connectToNewRequested.emit(drag.node_id, drag.side, pos)  # dropped on nothing: a new step?
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self._finish_move()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            pos = event.scenePos()
            card = self.node_at(pos)
            if card is not None:
                self.cardActivated.emit(card.node_id)
                event.accept()
                return
            if self.edge_near(pos) is None and self.port_near(pos) is None:
                self.quickAddRequested.emit(pos)
                event.accept()
                return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        """A right-click: on a card (selected first, unless it is part of the selection), an edge or the canvas."""
        pos, screen = event.scenePos(), event.screenPos()
        card = self.node_at(pos)
        if card is not None:
            if not card.isSelected():
                self.select_nodes([card.node_id])
            self.contextMenuRequested.emit("node", card.node_id, pos, screen)
        elif (edge := self.edge_near(pos)) is not None:
            self.clearSelection()
            edge.setSelected(True)
            self.contextMenuRequested.emit("edge", edge.edge_id, pos, screen)
        else:
            self.contextMenuRequested.emit("canvas", "", pos, screen)
        event.accept()

    def _finish_move(self) -> None:
        graph = self.document.graph
        moved = {}
        for node_id, item in self.nodes.items():
            node = graph.nodes.get(node_id)
            if node is not None and item.isSelected() and (item.pos().x(), item.pos().y()) != node.position:
                moved[node_id] = (item.pos().x(), item.pos().y())
        if moved:
            self.moveFinished.emit(moved)
