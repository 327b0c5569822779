"""Regenerate the Datasets panel's Batch API screenshots (docs/screenshots/datasets-batch-api-*.png).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_batch_api_screenshots.py

The real app at its default size (1400x900) on its qasync loop, with a throwaway settings file pointing at
the project's fake OpenAI-compatible server (``tests/support/fake_openai_server.py``, on 127.0.0.1, with its
``/v1/files`` and ``/v1/batches``; gpt-4o priced so the local server is not free). On the simulated
provider the panel's Batch API box is disabled (``datasets-batch-api-simulated.png``); on the
OpenAI-compatible provider, a 12-row dataset through research-parallel under eager and the Batch API: the
trade-off table and chart when it ends (``datasets-batch-api.png``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")  # no saved key to send
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_dataset_screenshots import SIZE, finished, write_dataset  # throwaway config and data folders
from make_run_screenshots import grab, run_app
from PySide6.QtCore import QSettings, Qt

from chainstudio.core.storage.settings import Settings
from chainstudio.paths import examples_dir
from chainstudio.ui.main_window import MainWindow
from tests.support.fake_openai_server import FakeOpenAIServer

ROWS = 12


async def main(app) -> None:
    with FakeOpenAIServer(chunk_delay=0.002) as server:
        server.batches.step_delay = 0.3
        window = MainWindow(QSettings(str(Path(tempfile.mkdtemp()) / "ui.ini"), QSettings.Format.IniFormat))
        window.setGeometry(0, 0, *SIZE)
        window.show()
        await asyncio.sleep(0.3)
        prices = {"gpt-4o": {"input": 2.5, "output": 10.0}}
        window.services.settings.save(Settings(base_url=server.url, price_overrides=prices))
        window.open_path(examples_dir() / "research-parallel.chain.json")
        window.view.fit()
        window.resizeDocks([window.gantt_dock], [520], Qt.Orientation.Vertical)
        datasets = window.datasets
        rows = write_dataset(Path(tempfile.mkdtemp()))
        rows.write_text("".join(rows.read_text().splitlines(keepends=True)[:ROWS]))
        datasets.open_dataset(str(rows))
        datasets.panel.check.setCurrentText("contains")
        await asyncio.sleep(0.4)
        grab(window, "batch-api-simulated", "datasets", SIZE)
        window.runs.toolbar.set_options(provider="openai", concurrency=8)
        datasets.panel.batch_api.setChecked(True)
        datasets.batch_poll = 0.2
        datasets.start()
        await finished(datasets)
        grab(window, "batch-api", "datasets", SIZE)
        window.close()


if __name__ == "__main__":
    run_app(main)
