"""Regenerate the panel screenshots (docs/screenshots/panel-*.png) from real data.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_panel_screenshots.py

Everything shown is computed the way the app computes it, on the simulated provider (sped up 20x, as the
Compare panel does) and the shipped examples, with a throw-away config and data directory:

* panel-settings.png          the Settings dialog pointed at a local Ollama server
* panel-settings-test.png     Test connection against a real local server, only when one is given:
                              CHAINSTUDIO_SHOT_SERVER=http://127.0.0.1:PORT/v1 (e.g. llama.cpp's server
                              started by /work/shared/tools/realllm/start_server.sh); kept as it is otherwise
* panel-compare.png           Compare on research-hybrid: sequential, layered and eager
* panel-compare-advised.png   research-sequential against itself with the advisor's advice applied
* panel-advisor.png           the Advisor on research-sequential
* panel-estimate.png          the run toolbar's estimate (plain, over a budget, against the actual run) and
                              its two tooltips, calibrated on the runs recorded above
* panel-history.png           the History panel after those runs

Each widget is shown in its own top-level window on the app's qasync loop and grabbed with
``QWidget.grab()``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
_TMP = Path(tempfile.mkdtemp(prefix="panel-screenshots-"))
os.environ["CHAINSTUDIO_CONFIG_DIR"] = str(_TMP / "config")  # never the user's settings or history
os.environ["CHAINSTUDIO_DATA_DIR"] = str(_TMP / "data")

import qasync  # noqa: E402
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget  # noqa: E402

from chainstudio.core.clock import Clock  # noqa: E402
from chainstudio.core.editing.commands import Batch, MoveNodes  # noqa: E402
from chainstudio.core.editing.layout import auto_layout_positions  # noqa: E402
from chainstudio.core.planning.advisor import advise  # noqa: E402
from chainstudio.core.planning.calibration import calibrate  # noqa: E402
from chainstudio.core.planning.estimate import estimate  # noqa: E402
from chainstudio.core.providers.simulated import SimulatedProvider  # noqa: E402
from chainstudio.core.run.executor import Run, RunContext  # noqa: E402
from chainstudio.core.run.warm_up import warm_up  # noqa: E402
from chainstudio.core.storage import fileformat  # noqa: E402
from chainstudio.core.storage.history import RunHistory  # noqa: E402
from chainstudio.core.storage.settings import Settings  # noqa: E402
from chainstudio.paths import examples_dir  # noqa: E402
from chainstudio.ui.app import create_application  # noqa: E402
from chainstudio.ui.common.settings_store import SettingsStore  # noqa: E402
from chainstudio.ui.planning.advisor_panel import AdvisorPanel  # noqa: E402
from chainstudio.ui.planning.compare_view import CompareView  # noqa: E402
from chainstudio.ui.planning.estimate_label import EstimateLabel, comparison_tooltip, estimate_tooltip  # noqa: E402
from chainstudio.ui.planning.history_panel import HistoryPanel  # noqa: E402
from chainstudio.ui.run.settings_dialog import SettingsDialog  # noqa: E402

SPEED = 20.0  # the Compare panel's speed for simulated runs
CONCURRENCY = 2  # the estimate and the single run use a cap, so the estimate shows waiting for a slot


def context(index: int, concurrency: int | None = None) -> RunContext:
    """A fresh simulated run context, seed = index (what Compare's repeat runs use)."""
    clock = Clock(SPEED)
    return RunContext(
        provider=SimulatedProvider(seed=index, clock=clock), clock=clock, seed=index, concurrency=concurrency
    )


async def settle(seconds: float = 0.3) -> None:
    await asyncio.sleep(seconds)


def save(widget: QWidget, name: str) -> None:
    path = OUT / f"panel-{name}.png"
    widget.grab().save(str(path))
    print("wrote", path.relative_to(ROOT))


async def show(widget: QWidget, width: int, height: int | None = None) -> None:
    widget.resize(width, height or widget.sizeHint().height())
    widget.show()
    await settle()


async def compare(
    view: CompareView, graph, file: str, history: RunHistory, strategies: tuple[str, ...], others: list[str] = ()
) -> None:
    def on_run(run_file: str, strategy: str, index: int, run) -> None:
        history.add(
            run.events,
            run.graph,
            source="gui compare",
            file=run_file,
            state=run.state,
            settings={"strategy": strategy, "concurrency": run.context.concurrency},
        )

    for name, box in view.strategy_boxes.items():
        box.setChecked(name in strategies)
    view.add_graph_files(list(others))
    view.set_source(graph, context, file=file, on_run=on_run)
    task = view.run_comparison()
    assert task is not None, view.status.text()
    await task
    await settle()
    assert view.result is not None, view.status.text()


async def main() -> None:
    warm_up()  # load the tokenizer and prices first, as the app does: at 20x a 0.5 s stall would be 10 s
    examples = examples_dir()
    history = RunHistory()
    hybrid_file = examples / "research-hybrid.chain.json"
    hybrid = fileformat.load(hybrid_file)
    sequential_file = examples / "research-sequential.chain.json"
    sequential = fileformat.load(sequential_file)

    # --- Settings: an OpenAI-compatible local server (Ollama), no key needed ---------------------------
    dialog = SettingsDialog(
        SettingsStore(
            Settings(
                provider="openai",
                base_url="http://localhost:11434/v1",
                default_model="llama3.1:8b",
                concurrency=4,
                requests_per_minute=60,
                price_overrides={"llama3.1:8b": {"input": 0.0, "output": 0.0}},
            )
        )
    )
    await show(dialog, 600)
    save(dialog, "settings")
    dialog.close()

    # --- Settings: Test connection against a real local server, when one is given ---------------------
    server = os.environ.get("CHAINSTUDIO_SHOT_SERVER")
    if server:
        dialog = SettingsDialog(SettingsStore(Settings(provider="openai", base_url=server, concurrency=4)))
        await show(dialog, 600)
        dialog.test_connection()
        for _ in range(100):
            if dialog.test_result.text()[:1] in ("✓", "✗"):
                break
            await settle(0.1)
        if dialog.model_picker.count():
            dialog.model_picker.setCurrentIndex(0)
        await settle()
        save(dialog, "settings-test")
        dialog.close()

    # --- Compare: research-hybrid under the three strategies -----------------------------------------
    view = CompareView()
    await show(view, 1200, 860)
    await compare(view, hybrid, str(hybrid_file), history, ("sequential", "layered", "eager"))
    save(view, "compare")
    view.close()

    # --- Advisor on research-sequential, then its advice applied and compared -------------------------
    panel = AdvisorPanel()
    await show(panel, 440, 900)
    await panel.compute(sequential)
    await settle()
    save(panel, "advisor")
    panel.close()

    report = advise(sequential)
    (remove_all,) = [a for a in report.advice if a.kind == "ordering_edges"]
    advised = sequential.copy()
    Batch([remove_all.make_command()]).apply(advised)
    MoveNodes(auto_layout_positions(advised)).apply(advised)
    advised.name = "research-sequential-advised"
    advised_file = _TMP / "research-sequential-advised.chain.json"
    fileformat.save(advised, advised_file)
    view = CompareView()
    await show(view, 1200, 860)
    await compare(view, sequential, str(sequential_file), history, ("eager",), [str(advised_file)])
    save(view, "compare-advised")
    view.close()

    # --- Estimate: calibrated on the recorded runs, with a cap, then against a real run ----------------
    latency = calibrate(history, hybrid, "simulated")
    predicted = estimate(hybrid, concurrency=CONCURRENCY, latency=latency)
    run = Run(hybrid, context(0, CONCURRENCY), strategy="eager")
    state = await run.execute()
    history.add(
        run.events,
        run.graph,
        source="gui",
        file=str(hybrid_file),
        state=state,
        settings={"strategy": "eager", "concurrency": CONCURRENCY},
    )
    plain, capped, actual = EstimateLabel(), EstimateLabel(), EstimateLabel()
    plain.set_estimate(predicted)
    capped.set_estimate(predicted, cost_cap=0.01, token_cap=3000)
    actual.set_estimate(predicted)
    actual.set_actual(state)
    box = QWidget()
    layout = QVBoxLayout(box)
    for label in (plain, capped, actual):
        layout.addWidget(label)
    for html in (estimate_tooltip(predicted, capped.warnings), comparison_tooltip(predicted, state)):
        tip = QLabel(html)  # the tooltips, drawn the way Qt draws a tooltip
        tip.setFrameShape(QFrame.Shape.Box)
        tip.setStyleSheet("QLabel { background: #ffffe1; color: black; padding: 4px; }")
        layout.addWidget(tip)
    layout.addStretch(1)
    await show(box, 700)
    save(box, "estimate")
    box.close()

    # --- History: the runs above -----------------------------------------------------------------------
    panel = HistoryPanel(history)
    panel.set_graph_name(hybrid.name)
    panel.refresh()
    panel.table.selectRow(0)
    await show(panel, 980, 300)
    save(panel, "history")
    panel.close()


if __name__ == "__main__":
    application = create_application()
    application.setQuitOnLastWindowClosed(False)  # each panel is shown and closed in turn
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(application)) as runner:
        runner.run(main())
