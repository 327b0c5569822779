"""Screenshots of structured output, checked steps and pick-best (docs/screenshots/structured-*.png), in the
real window at its default size (1400x900) under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_structured_screenshots.py

sql-check-repair with generate_sql selected (the inspector's schema, judge and repairs); then run on the
simulated provider (default seed: the judge rejects the first answer, a repair follows; the Gantt shows the
rejected attempt, the judge's bands and the repair; the output panel the checks); then headline-pick-best
run, with its pick-best step selected (the scores under its output).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_run_screenshots import grab, new_window, run_app, run_to_end

from chainstudio.paths import examples_dir

SIZE = (1400, 900)


async def open_example(window, name: str, speed: float) -> None:
    window.open_path(examples_dir() / f"{name}.chain.json")
    window.view.fit()
    await asyncio.sleep(0.3)
    toolbar = window.runs.toolbar
    toolbar.speed.setCurrentIndex(toolbar.speed.findData(speed))


def show_field(window, name: str) -> None:
    """Scroll the inspector to a field of the selected step (the check fields are below the prompt)."""
    from PySide6.QtWidgets import QScrollArea, QWidget

    editor = window.findChild(QWidget, name)
    area = editor.parentWidget()
    while area is not None and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    area.ensureWidgetVisible(editor, 0, 250)


async def main(app) -> None:
    window = new_window()
    window.setGeometry(0, 0, *SIZE)
    await asyncio.sleep(0.3)
    await open_example(window, "sql-check-repair", 5.0)
    window.select_node(window.document.graph.resolve("generate_sql").id)
    await asyncio.sleep(0.4)
    show_field(window, "field_output_schema")
    await asyncio.sleep(0.3)
    grab(window, "inspector", "structured", SIZE)
    await run_to_end(window)
    window.select_node(window.document.graph.resolve("generate_sql").id)
    await asyncio.sleep(0.4)
    grab(window, "repair-run", "structured", SIZE)
    window.output_dock.raise_()
    await asyncio.sleep(0.3)
    grab(window, "repair-output", "structured", SIZE)
    window.gantt_dock.raise_()
    await open_example(window, "headline-pick-best", 5.0)
    await run_to_end(window)
    window.select_node(window.document.graph.resolve("best").id)
    window.output_dock.raise_()
    await asyncio.sleep(0.4)
    grab(window, "pick-best", "structured", SIZE)
    window.close()


if __name__ == "__main__":
    run_app(main)
