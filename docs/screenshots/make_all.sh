#!/bin/sh
# Regenerate every screenshot in docs/screenshots/ under Xvfb (1600x1000, 24-bit), from a checkout with
# its virtual environment in .venv:   sh docs/screenshots/make_all.sh
set -eu
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
XVFB='xvfb-run -a -s "-screen 0 1600x1000x24"'
run() { echo "== $*"; eval "$XVFB $PY $*"; }
run docs/screenshots/make_screenshots.py           # canvas-*.png
run docs/screenshots/make_run_screenshots.py       # run-*.png (live runs in the real window)
run docs/screenshots/make_stopped_run_screenshots.py  # run-hybrid-stopped.png (a stopped run: its critical path over the steps that ran)
run -m tests.ui.gantt_scripts docs/screenshots     # gantt-*.png
run docs/screenshots/make_panel_screenshots.py     # panel-*.png
run docs/screenshots/make_cache_screenshots.py     # cache-*.png (step cache, card menu, run from here)
run docs/screenshots/make_prefix_screenshots.py    # prefix-*.png (prompt-caching advice, Apply, a warmed run)
run docs/screenshots/make_structured_screenshots.py  # structured-*.png (schema, checks and repairs, pick-best)
run docs/screenshots/make_endpoint_screenshots.py  # endpoints-*.png (profiles in Settings, a step's endpoint)
run docs/screenshots/make_dataset_screenshots.py    # datasets-*.png (the Datasets panel, 1400x900)
run docs/screenshots/make_batch_api_screenshots.py  # datasets-batch-api*.png (the Batch API option, on the fake server)
run docs/screenshots/make_flow_screenshots.py      # flow-*.png (a route's branches not taken, a map opened in the Gantt)
run docs/screenshots/make_large_template_screenshots.py  # inspector-large-template*.png (a 640,000-character prompt, editable; keys typed at a cut), inspector-huge-template.png (over 1,000,000: read-only, Edit anyway)
run docs/screenshots/make_big_graph_screenshots.py  # canvas-big-graph-*.png (10,000 steps: opening in slices, the overview, a card and an edge clicked)
run docs/screenshots/make_zoom_screenshots.py  # canvas-zoom-*.png (real wheel events in and out of the overview; a card dragged while zoomed in)
run docs/screenshots/make_big_run_screenshots.py  # run-big-graph-*.png (10,000 steps running: the Gantt and the canvas mid-run, then stopped)
run docs/screenshots/make_problem_check_screenshots.py  # problems-*.png (the status bar's count; a big graph checked on a worker: checking…, then the count)
run docs/screenshots/make_memory_screenshots.py  # memory-*.png (the welcome graph and 10,000 steps at the opening zoom and at 100 %, a port hovered: its item made as the pointer came near)
run docs/screenshots/make_estimate_process_screenshots.py  # estimate-big-graph-*.png (10,000 steps estimated in a child process; the label when that child is killed)
