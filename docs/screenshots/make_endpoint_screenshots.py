"""Regenerate the endpoint-profile screenshots (docs/screenshots/endpoints-*.png) in the real window.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_endpoint_screenshots.py

The real app on its qasync loop at its default size (1400x900), with two endpoint profiles in a throwaway
settings file (``local``: an Ollama server with a known capacity; ``cloud``: OpenAI's API, its key kept in
the credentials file — a dummy). Open mixed-local-cloud, select ``brief`` and list the profiles from its
Endpoint field (``endpoints-inspector.png``); run it on the simulated provider (every endpoint simulated,
labelled; the Gantt rows say ``@local`` / ``@cloud``: ``endpoints-run.png``); then Settings → Endpoint
profiles with ``cloud`` selected (``endpoints-settings.png``); last, headline-pick-best with its pick-best
step's judge sent to ``cloud`` through the same field (``endpoints-pick-best.png``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(OUT))
CONFIG = Path(tempfile.mkdtemp(prefix="screenshots-config-"))
os.environ["CHAINSTUDIO_CONFIG_DIR"] = str(CONFIG)
os.environ["CHAINSTUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="screenshots-data-")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")  # the dummy key: a file
(CONFIG / "settings.json").write_text(
    json.dumps(
        {
            "endpoints": [
                {
                    "name": "local",
                    "base_url": "http://localhost:11434/v1",
                    "default_model": "llama3.1:8b",
                    "capacity": 1,
                },
                {
                    "name": "cloud",
                    "base_url": "https://api.openai.com/v1",
                    "key_ref": "stored",
                    "default_model": "gpt-4o",
                    "requests_per_minute": 500,
                    "tokens_per_minute": 30000,
                    "price_overrides": {"gpt-4o": {"input": 2.5, "output": 10.0}},
                },
            ]
        }
    )
)
(CONFIG / "credentials.json").write_text(json.dumps({"endpoints": {"cloud": "sk-dummy-screenshot-key"}}))
(CONFIG / "credentials.json").chmod(0o600)

from make_run_screenshots import grab, run_app, run_to_end  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QLineEdit  # noqa: E402

from chainstudio.paths import examples_dir  # noqa: E402
from chainstudio.ui.main_window import MainWindow  # noqa: E402

SIZE = (1400, 900)  # the window's default size


async def main(app) -> None:
    window = MainWindow(QSettings(str(Path(tempfile.mkdtemp()) / "ui.ini"), QSettings.Format.IniFormat))
    window.setGeometry(0, 0, *SIZE)
    window.show()
    await asyncio.sleep(0.3)
    window.open_path(examples_dir() / "mixed-local-cloud.chain.json")
    window.view.fit()
    toolbar = window.runs.toolbar
    toolbar.speed.setCurrentIndex(toolbar.speed.findData(20.0))
    window.select_node(window.document.graph.resolve("brief").id)
    await asyncio.sleep(0.4)
    field = window.findChild(QLineEdit, "field_endpoint")
    assert field is not None and field.text() == "cloud"
    choices = next(a for a in field.actions() if a.objectName() == "endpoint_choices")
    choices.trigger()  # the ▾ button: every profile in Settings
    await asyncio.sleep(0.4)
    grab(window, "inspector", "endpoints", SIZE)
    field.completer().popup().hide()

    await run_to_end(window)
    grab(window, "run", "endpoints", SIZE)

    window.runs.open_settings()
    await asyncio.sleep(0.3)
    dialog = window.runs._dialog
    dialog.move(260, 40)
    dialog.tabs.setCurrentWidget(dialog.profiles)
    dialog.profiles.names.setCurrentRow(1)
    await asyncio.sleep(0.4)
    grab(window, "settings", "endpoints", SIZE)
    dialog.reject()

    window.open_path(examples_dir() / "headline-pick-best.chain.json")  # a pick-best step's judge on "cloud"
    window.view.fit()
    window.select_node(window.document.graph.resolve("best").id)
    await asyncio.sleep(0.4)
    field = window.findChild(QLineEdit, "field_endpoint")
    assert field is not None
    field.setText("cloud")
    field.editingFinished.emit()
    await asyncio.sleep(0.4)
    assert window.document.graph.resolve("best").param("endpoint") == "cloud"
    grab(window, "pick-best", "endpoints", SIZE)
    window.close()


if __name__ == "__main__":
    run_app(main)
