"""Regenerate the README's canvas screenshots (docs/screenshots/canvas-*.png) in a real 1600x1000 window.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_screenshots.py

Each shot opens a shipped example in the real main window (xcb platform under Xvfb), sets up the view the
way a person would (fit, select a step; Tab for the quick-add list and typing; Delete) and grabs the screen,
so the quick-add popup is in the picture.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CHAINSTUDIO_CONFIG_DIR", tempfile.mkdtemp(prefix="screenshots-"))  # default layout

from collections.abc import Callable  # noqa: E402

from PySide6.QtCore import QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from chainstudio.paths import examples_dir  # noqa: E402
from chainstudio.ui.app import create_application  # noqa: E402
from chainstudio.ui.main_window import MainWindow  # noqa: E402

SIZE = (1600, 1000)


def settle(app: QApplication, rounds: int = 20) -> None:
    for _ in range(rounds):
        app.processEvents()


def shot(
    app: QApplication,
    name: str,
    example: str,
    select: str | None = None,
    zoom: float | None = None,
    centre_on: str | None = None,
    then: Callable[[MainWindow], None] | None = None,
) -> Path:
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.setGeometry(0, 0, *SIZE)
    window.show()
    settle(app)
    window.files.open_example(examples_dir() / f"{example}.chain.json")
    settle(app)
    window.view.fit()
    if zoom is not None:
        window.view.zoom_by(zoom / window.view.zoom())
    if centre_on:
        window.view.centerOn(
            window.scene.nodes[window.document.graph.resolve(centre_on).id].sceneBoundingRect().center()
            + QPointF(0, -40)
        )
    if select:
        window.scene.select_nodes([window.document.graph.resolve(select).id])
    window.scene.set_zooming(False)
    window.scene.flush()
    window.inspector.update_problems()
    settle(app)
    if then is not None:
        then(window)
        QTest.qWait(400)  # the problem badges follow an edit after a moment
        window.scene.flush()
        settle(app)
    path = OUT / f"canvas-{name}.png"
    screen = window.screen().grabWindow(0, 0, 0, *SIZE) if os.environ.get("DISPLAY") else window.grab()
    screen.save(str(path))
    window.gestures.quick_add.hide()
    window.document.replace(window.document.graph)
    window.close()
    return path


def quick_add_after(window: MainWindow) -> None:
    """Tab on the canvas with a step selected, then 'jo' typed: the list for the step to add after it."""
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Tab)
    QTest.keyClicks(window.gestures.quick_add.search, "jo")


def delete_hardware(window: MainWindow) -> None:
    """Delete a step the later prompts use: the warning over the canvas and the badges on those steps."""
    window.delete_selection()  # what Delete does (a shortcut needs an active window, which Xvfb may not give)


def main() -> int:
    app = create_application()
    made = [
        shot(app, "research-hybrid", "research-hybrid", select="security"),
        shot(app, "research-sequential", "research-sequential", select="academic", zoom=0.85, centre_on="security"),
        shot(app, "code-review", "code-review"),
        shot(app, "quick-add", "research-hybrid", select="aggregate", then=quick_add_after),
        shot(app, "problems", "research-hybrid", select="hardware", then=delete_hardware),
    ]
    for path in made:
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
