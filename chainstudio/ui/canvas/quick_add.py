"""Quick-add: a searchable list of what can be added, opened where the step should go (a double-click on
empty canvas, Tab, a connection dropped on nothing, a context menu). Type to filter, Up/Down to choose,
Return to add, Esc to close. It lists the node kinds, and while searching also the examples' steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from chainstudio.ui import theme

CHOICE_ROLE = Qt.ItemDataRole.UserRole
MAX_ROWS = 12
ROW_HEIGHT = 28


@dataclass(frozen=True)
class Choice:
    """Something to add: a node kind, or a copy of an example's step (its parameters and name)."""

    title: str
    detail: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    name: str | None = None  # the new step's name (made unique); None: the kind's usual name
    example: bool = False  # listed only while searching

    def matches(self, words: list[str]) -> bool:
        text = f"{self.title} {self.detail} {self.kind}".lower()
        return all(word in text for word in words)

    def rank(self, words: list[str]) -> int:
        """How well it matches (lower is better): by its title's start, its title, its kind, its detail."""
        title = self.title.lower()
        if not words or title.startswith(words[0]):
            return 0
        if all(word in title for word in words):
            return 1
        return 2 if all(word in f"{title} {self.kind}" for word in words) else 3


class QuickAdd(QFrame):
    chosen = Signal(object)  # the Choice picked
    closed = Signal()  # closed, whether or not something was picked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("quick_add")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.heading = QLabel()
        self.search = QLineEdit()
        self.search.setObjectName("quick_add_search")
        self.search.setPlaceholderText("Search steps and the examples' steps…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.search.installEventFilter(self)
        self.list = QListWidget()
        self.list.setObjectName("quick_add_list")
        self.list.setIconSize(QSize(22, 22))
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setUniformItemSizes(True)
        self.list.itemActivated.connect(self._pick)
        self.list.itemClicked.connect(self._pick)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.setFixedWidth(380)
        self._choices: list[Choice] = []

    def open_at(self, global_pos: QPoint, choices: list[Choice], heading: str = "Add a step") -> None:
        """Show the list at ``global_pos`` (screen), the search field focused and empty."""
        self._choices = list(choices)
        self.heading.setText(f"<b>{heading}</b>")
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._filter("")
        self.adjustSize()
        screen = QGuiApplication.screenAt(global_pos) or QGuiApplication.primaryScreen()
        room = screen.availableGeometry()
        x = min(global_pos.x(), room.right() - self.width())
        y = global_pos.y() if global_pos.y() + self.height() <= room.bottom() else global_pos.y() - self.height() - 16
        self.move(max(room.left(), x), max(room.top(), y))
        self.show()
        self.raise_()
        self.activateWindow()
        self.search.setFocus()

    def visible_choices(self) -> list[Choice]:
        items = [self.list.item(i) for i in range(self.list.count())]
        return [item.data(CHOICE_ROLE) for item in items if item.data(CHOICE_ROLE) is not None]

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        self.list.clear()
        found = [c for c in self._choices if (words or not c.example) and c.matches(words)]
        for choice in sorted(found, key=lambda c: c.rank(words)):  # stable: kinds before the examples' steps
            item = QListWidgetItem(theme.kind_icon(choice.kind, 22), f"{choice.title}  —  {choice.detail}")
            item.setData(CHOICE_ROLE, choice)
            item.setToolTip(choice.detail)
            item.setSizeHint(QSize(0, ROW_HEIGHT))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            empty = QListWidgetItem(f"Nothing matches “{text}”")
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(empty)
        rows = min(max(self.list.count(), 1), MAX_ROWS)
        self.list.setFixedHeight(rows * ROW_HEIGHT + 2 * self.list.frameWidth() + 2)
        self.adjustSize()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.search and isinstance(event, QKeyEvent) and event.type() == QKeyEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                step = 1 if key == Qt.Key.Key_Down else -1
                if self.list.count():
                    self.list.setCurrentRow((self.list.currentRow() + step) % self.list.count())
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                current = self.list.currentItem()
                if current is not None:
                    self._pick(current)
                return True
        return super().eventFilter(watched, event)

    def _pick(self, item: QListWidgetItem) -> None:
        choice = item.data(CHOICE_ROLE)
        if choice is None:
            return
        self.hide()
        self.chosen.emit(choice)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.closed.emit()
