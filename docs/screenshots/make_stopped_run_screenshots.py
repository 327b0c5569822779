"""A stopped run's critical path (docs/screenshots/run-hybrid-stopped.png), in the real window at its default
size (1400x900):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/make_stopped_run_screenshots.py

research-hybrid on the simulated provider (5x), stopped once its first steps are done and others run: the
critical path is outlined over the steps that ran (the steps that never started are on none) and the Gantt's
header says so ("· over the steps that ran").
"""

from __future__ import annotations

import asyncio

from make_run_screenshots import grab, hybrid_window, run_app

SIZE = (1400, 900)


async def main(app) -> None:
    window = await hybrid_window(5.0)
    window.setGeometry(0, 0, *SIZE)
    await asyncio.sleep(0.3)
    window.view.fit()
    window.runs.request_run()
    graph = window.document.graph
    security = graph.resolve("security").id
    while True:
        await asyncio.sleep(0.05)
        state = window.runs.state
        if state is not None and security in state.spans and state.spans[security].status == "running":
            break
    await asyncio.sleep(0.5)
    window.runs.stop_action.trigger()
    while window.runs.controller.running:
        await asyncio.sleep(0.1)
    window.select_node(security)
    await asyncio.sleep(0.5)
    grab(window, "hybrid-stopped", size=SIZE)
    window.close()


if __name__ == "__main__":
    run_app(main)
