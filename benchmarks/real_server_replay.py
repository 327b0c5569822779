"""Re-estimate every run of a real-server benchmark history from the runs recorded before it, with the code
as it is now: how the latency model would have done on the same record (the benchmark keeps its histories
with ``--keep DIR``).

    .venv/bin/python benchmarks/real_server_replay.py HISTORY.sqlite3 ENDPOINT [--max-tokens N]

ENDPOINT is the base URL the runs were recorded against (e.g. http://127.0.0.1:8541/v1); --max-tokens the
cap the benchmark ran with.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from real_server_bench import load_graph  # noqa: E402

from chainstudio.core.planning.calibration import calibrate  # noqa: E402
from chainstudio.core.planning.estimate import estimate  # noqa: E402
from chainstudio.core.run.state import RunState  # noqa: E402
from chainstudio.core.storage.history import RunHistory, RunSummary  # noqa: E402


class Before:
    """The history as it was before a run: only the runs named."""

    def __init__(self, history: RunHistory, runs: Sequence[RunSummary]):
        self.history, self.keep = history, {r.run_id for r in runs}

    def runs(self, *, graph_name: str | None = None, limit: int = 200) -> Sequence[RunSummary]:
        return [r for r in self.history.runs(graph_name=graph_name, limit=limit) if r.run_id in self.keep]

    def state(self, run_id: str) -> RunState:
        return self.history.state(run_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("history")
    parser.add_argument("endpoint")
    parser.add_argument("--max-tokens", type=int, default=None)
    args = parser.parse_args()
    history = RunHistory(Path(args.history))
    runs = list(reversed(history.runs(limit=200)))
    for k, run in enumerate(runs):
        graph = load_graph(run.graph_name.removeprefix("research-"), args.max_tokens)
        started = history.state(run.run_id).started
        strategy = getattr(started, "strategy", None) or "eager"
        before = estimate(
            graph, strategy=strategy, model="gemma", latency=calibrate(Before(history, runs[:k]), graph, args.endpoint)
        )
        error = (before.wall_ms - run.wall_ms) / run.wall_ms
        print(
            f"{run.graph_name:20s} {strategy:10s} actual {run.wall_ms / 1000:6.1f} s, estimate from the "
            f"{k} run(s) before it {before.wall_ms / 1000:6.1f} s: {error:+.0%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
