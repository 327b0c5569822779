"""The palette: node kinds with an icon and a one-line description. Drag one onto the canvas (onto an edge:
it goes in between), or double-click it, or press Return or Space on it, to add one at the centre of the
view."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem

from chainstudio.core.graph.kinds import NODE_KINDS
from chainstudio.ui import theme
from chainstudio.ui.canvas.view import KIND_MIME

KIND_ROLE = Qt.ItemDataRole.UserRole


class Palette(QListWidget):
    kindActivated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("palette")
        self.setIconSize(QSize(28, 28))
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setWordWrap(True)
        self.setSpacing(2)
        self.setUniformItemSizes(False)
        for kind in NODE_KINDS.values():
            item = QListWidgetItem(theme.kind_icon(kind.name), f"{kind.title}\n{kind.description}")
            item.setData(KIND_ROLE, kind.name)
            item.setToolTip(kind.description)
            item.setSizeHint(QSize(200, 52))
            self.addItem(item)
        self.itemDoubleClicked.connect(lambda item: self.kindActivated.emit(item.data(KIND_ROLE)))

    def keyPressEvent(self, event) -> None:
        item = self.currentItem()
        if item is not None and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.kindActivated.emit(item.data(KIND_ROLE))
            event.accept()
            return
        super().keyPressEvent(event)

    def kinds(self) -> list[str]:
        return [self.item(i).data(KIND_ROLE) for i in range(self.count())]

    def mime_for(self, kind: str) -> QMimeData:
        mime = QMimeData()
        mime.setData(KIND_MIME, kind.encode())
        mime.setText(kind)
        return mime

    def startDrag(self, supported_actions) -> None:  # noqa: N802
        item = self.currentItem()
        if item is None:
            return
        drag = QDrag(self)
        drag.setMimeData(self.mime_for(item.data(KIND_ROLE)))
        drag.setPixmap(item.icon().pixmap(28, 28))
        drag.exec(Qt.DropAction.CopyAction)
