"""Regenerate the Datasets panel's screenshots (docs/screenshots/datasets-*.png) in the real window.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_dataset_screenshots.py

The real app at its default size (1400x900) on its qasync loop: open research-parallel, open a 40-row
dataset in the Datasets dock (its columns mapped to the graph's input by name), preview it; run it under
eager and sequential on the simulated provider with a contains check, grab the window mid-run (progress,
spend, ETA) and when finished (the trade-off table and chart).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_run_screenshots import OUT, run_app
from PySide6.QtCore import QSettings, Qt

from chainstudio.paths import examples_dir
from chainstudio.ui.main_window import MainWindow

SIZE = (1400, 900)
TOPICS = ("quantum networking", "fusion energy", "battery chemistry", "gene therapy", "exoplanet surveys")


def write_dataset(folder: Path) -> Path:
    path = folder / "topics.jsonl"
    with path.open("w") as handle:
        for i in range(40):
            topic = f"{TOPICS[i % len(TOPICS)]} in {2020 + i % 7}"
            handle.write(json.dumps({"topic": topic, "expected": "findings" if i % 3 else "qubit"}) + "\n")
    return path


def grab(window: MainWindow, name: str) -> None:
    path = OUT / f"datasets-{name}.png"
    window.grab().save(str(path))
    print("wrote", path)


async def main(app) -> None:
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.setGeometry(0, 0, *SIZE)
    window.show()
    await asyncio.sleep(0.3)
    window.open_path(examples_dir() / "research-parallel.chain.json")
    window.view.fit()
    window.resizeDocks([window.gantt_dock], [520], Qt.Orientation.Vertical)
    datasets = window.datasets
    datasets.open_dataset(str(write_dataset(Path(tempfile.mkdtemp()))))
    panel = datasets.panel
    panel.strategies["sequential"].setChecked(True)
    panel.check.setCurrentText("contains")
    toolbar = window.runs.toolbar
    toolbar.speed.setCurrentIndex(toolbar.speed.findData(20.0))
    await asyncio.sleep(0.4)
    grab(window, "preview")
    datasets.start()
    await asyncio.sleep(2.5)
    grab(window, "running")
    await finished(datasets)
    grab(window, "tradeoff")
    window.close()


async def finished(datasets) -> None:
    """Until the batch is over and its trade-off tab is drawn."""
    while datasets._task.running:
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.4)


if __name__ == "__main__":
    run_app(main)
