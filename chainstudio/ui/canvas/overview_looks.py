"""The overview's blocks as drawn (fills per colour, names, critical and problem marks), kept per card.

A run restyles the cards it changed several times a second. Gathering the blocks again by colour, with
their names and marks, over all 10,000 cards of the limits' biggest graph took 10-25 ms of each of those
turns; ``BlockLooks.update`` moves only the cards named, and ``rebuild`` gathers them all (new geometry,
another theme, every card restyled).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor

Style = tuple[QColor, str, bool, str]  # fill, name as drawn, name drawn dark, the step's name
PART = 1_000  # cards gathered between two yields of ``rebuild_parts`` (10,000 at once: 10-25 ms)


class Card(Protocol):
    node_id: str
    critical: bool
    problem: str | None


class BlockLooks:
    def __init__(self) -> None:
        self.fills: dict[int, tuple[QColor, dict[str, QRectF]]] = {}  # rgba -> (colour, node id -> block)
        self.names: dict[str, tuple[QRectF, str, bool]] = {}  # node id -> (block, name, drawn dark)
        self.critical: dict[str, QRectF] = {}
        self.problems: dict[str, tuple[QPointF, str]] = {}  # node id -> (block's top right, severity)
        self._fill_of: dict[str, int] = {}  # node id -> its fill's rgba

    def rebuild(self, rects: Mapping[str, QRectF], styles: Mapping[str, Style], cards: Mapping[str, Card]) -> None:
        """Every card's block again, in the blocks' order."""
        for _ in self.rebuild_parts(rects, styles, cards):
            pass

    def rebuild_parts(
        self, rects: Mapping[str, QRectF], styles: Mapping[str, Style], cards: Mapping[str, Card]
    ) -> Iterator[None]:
        """``rebuild``, yielding every ``PART`` cards (build a fresh one: a part shows what it has so far)."""
        self.fills, self.names, self.critical, self.problems, self._fill_of = {}, {}, {}, {}, {}
        for i, (node_id, rect) in enumerate(rects.items(), 1):
            style = styles.get(node_id)
            if style is not None:
                self._style(node_id, rect, style)
            if i % PART == 0:
                yield
        for card in list(cards.values()):
            if card.critical or card.problem is not None:
                self._marks(card, rects)

    def update(
        self,
        node_ids: Iterable[str],
        rects: Mapping[str, QRectF],
        styles: Mapping[str, Style],
        cards: Mapping[str, Card],
    ) -> None:
        """The blocks of ``node_ids`` alone (their styles or marks changed; the geometry did not)."""
        for node_id in node_ids:
            rgba = self._fill_of.pop(node_id, None)
            if rgba is not None:
                blocks = self.fills[rgba][1]
                del blocks[node_id]
                if not blocks:
                    del self.fills[rgba]
            self.names.pop(node_id, None)
            self.critical.pop(node_id, None)
            self.problems.pop(node_id, None)
            rect, style, card = rects.get(node_id), styles.get(node_id), cards.get(node_id)
            if rect is None:
                continue
            if style is not None:
                self._style(node_id, rect, style)
            if card is not None:
                self._marks(card, rects)

    def _style(self, node_id: str, rect: QRectF, style: Style) -> None:
        color, name, dark, _ = style
        rgba = color.rgba()
        self.fills.setdefault(rgba, (color, {}))[1][node_id] = rect
        self._fill_of[node_id] = rgba
        self.names[node_id] = (rect, name, dark)

    def _marks(self, card: Card, rects: Mapping[str, QRectF]) -> None:
        rect = rects.get(card.node_id)
        if rect is None:
            return
        if card.critical:
            self.critical[card.node_id] = rect
        if card.problem is not None:
            self.problems[card.node_id] = (rect.topRight(), card.problem)

    def fill_lists(self) -> dict[int, tuple[QColor, list[QRectF]]]:
        """The fills as ``drawRects`` takes them (a copy of each colour's blocks: 10,000 in 0.1 ms)."""
        return {rgba: (color, list(blocks.values())) for rgba, (color, blocks) in self.fills.items()}
