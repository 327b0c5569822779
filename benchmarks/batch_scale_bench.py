"""One process driving a 10,000-row batch of a 3-step chain at concurrency 1,000 against a zero-latency
local server (issue 17): sustained requests per second, peak memory, and the resume time after a kill.

    .venv/bin/python benchmarks/batch_scale_bench.py              # rewrites "## Dataset batches at scale"
    .venv/bin/python benchmarks/batch_scale_bench.py --rows 2000 --no-write

The server is a minimal OpenAI-compatible chat endpoint on aiohttp in its own process (``--serve``): every
request is answered at once with a fixed two-word stream and usage; it counts the requests and the time of
the first and last. The batch is ``chainstudio batch`` in a fresh process, as a user runs it (interpreter
start-up, imports, the estimate and the result files included in its wall time). Peak RSS is the batch
process's maximum resident memory (``getrusage(RUSAGE_CHILDREN)`` after it exits).

The kill: a second, fresh batch is SIGKILLed once half its rows are kept in its state; the same command
then resumes it. *Resume to first request* is the time from starting the resumed process to the server's
next request (start-up + reading the state + the estimate); the rest of the figures are the resumed run's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

HEADING = "## Dataset batches at scale"


# --- the zero-latency server (its own process) ------------------------------------------------------------
def serve(port: int) -> None:
    from aiohttp import web

    stats = {"requests": 0, "first": None, "last": None}
    chunk = 'data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[%s]%s}\n\n'
    body = (
        chunk % ('{"index":0,"delta":{"role":"assistant","content":"ok "},"finish_reason":null}', "")
        + chunk % ('{"index":0,"delta":{"content":"done."},"finish_reason":"stop"}', "")
        + chunk % ("", ',"usage":{"prompt_tokens":20,"completion_tokens":2,"total_tokens":22}')
        + "data: [DONE]\n\n"
    ).encode()

    async def chat(request: web.Request) -> web.Response:
        await request.read()
        now = time.monotonic()
        stats["requests"] += 1
        stats["first"] = stats["first"] or now
        stats["last"] = now
        return web.Response(body=body, content_type="text/event-stream")

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats)

    async def reset(request: web.Request) -> web.Response:
        stats.update(requests=0, first=None, last=None)
        return web.json_response(stats)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/stats", get_stats)
    app.router.add_post("/reset", reset)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=4096)


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_stats(port: int, reset: bool = False) -> dict:
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/{'reset' if reset else 'stats'}", method="POST" if reset else "GET"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# --- the batch ----------------------------------------------------------------------------------------------
def write_inputs(folder: Path, rows: int) -> tuple[Path, Path]:
    from chainstudio.core.graph.model import Graph, GraphInput
    from chainstudio.core.storage.fileformat import save

    graph = Graph("three-step", inputs=[GraphInput("question")])
    graph.add("input", "question")
    graph.add("llm", "draft", prompt="Answer: {{ question }}", max_tokens=16)
    graph.add("llm", "critique", prompt="Critique: {{ draft }}", max_tokens=16)
    graph.add("llm", "final", prompt="Improve {{ draft }} given {{ critique }}", max_tokens=16)
    graph.add("output", "answer")
    for a, b in (("question", "draft"), ("draft", "critique"), ("critique", "final"), ("final", "answer")):
        graph.connect(a, b)
    graph_file = folder / "three-step.chain.json"
    save(graph, graph_file)
    dataset = folder / "rows.jsonl"
    with dataset.open("w") as handle:
        for i in range(rows):
            handle.write(json.dumps({"question": f"question number {i}"}) + "\n")
    return graph_file, dataset


def batch_command(folder: Path, graph_file: Path, dataset: Path, port: int, concurrency: int, out: str) -> list[str]:
    return [
        sys.executable, "-m", "chainstudio", "batch", str(graph_file), "--dataset", str(dataset),
        "--out", str(folder / out), "--provider", "openai", "--base-url", f"http://127.0.0.1:{port}/v1",
        "--concurrency", str(concurrency), "--no-history",
    ]  # fmt: skip


def kept(state: Path) -> int:
    try:
        with closing(sqlite3.connect(state)) as db:
            return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    except sqlite3.Error:
        return 0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def measure(rows: int, concurrency: int) -> dict:
    env = {**os.environ, "OPENAI_API_KEY": "sk-local"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env["CHAINSTUDIO_DATA_DIR"] = str(folder / "data")
        env["CHAINSTUDIO_CONFIG_DIR"] = str(folder / "config")
        graph_file, dataset = write_inputs(folder, rows)
        port = free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=env)
        try:
            for _ in range(200):
                try:
                    server_stats(port)
                    break
                except OSError:
                    time.sleep(0.05)
            # 1. the whole batch in one go
            load_at_start = os.getloadavg()[0]  # the other sessions' work on the shared cores, and ours
            started = time.monotonic()
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            full = subprocess.run(batch_command(folder, graph_file, dataset, port, concurrency, "full.jsonl"),
                                  env=env, capture_output=True, text=True)  # fmt: skip
            wall = time.monotonic() - started
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            stats = server_stats(port)
            rss = peak_rss_mb()
            rows_out = (
                [json.loads(x) for x in (folder / "full.jsonl").read_text().splitlines()]
                if (folder / "full.jsonl").exists()
                else []
            )
            lines = len(rows_out)
            errors = Counter((r.get("error") or "")[:100] for r in rows_out if r.get("status") != "succeeded")
            result = {
                "rows": rows,
                "concurrency": concurrency,
                "exit": full.returncode,
                "results": lines,
                "requests": stats["requests"],
                "wall_s": wall,
                "cpu_s": (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime),
                "sustained_rps": stats["requests"] / max(1e-9, stats["last"] - stats["first"]),
                "overall_rps": stats["requests"] / wall,
                "peak_rss_mb": rss,
                "stderr": full.stderr.strip().splitlines()[-1:] if full.returncode else [],
                "load": (load_at_start, os.getloadavg()[0]),
                "failed_rows": sum(errors.values()),
                "errors": errors.most_common(3),
            }
            # 2. a fresh batch killed halfway, then resumed
            server_stats(port, reset=True)
            command = batch_command(folder, graph_file, dataset, port, concurrency, "killed.jsonl")
            state = folder / "killed.jsonl.state.sqlite"
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while proc.poll() is None and kept(state) < rows // 2:
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            at_kill = kept(state)
            before = server_stats(port)["requests"]
            started = time.monotonic()
            resumed = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            first_request = None
            while resumed.poll() is None:
                if first_request is None and server_stats(port)["requests"] > before:
                    first_request = time.monotonic() - started
                time.sleep(0.02)
            resume_wall = time.monotonic() - started
            after = server_stats(port)["requests"]
            result.update(
                kept_at_kill=at_kill,
                resume_exit=resumed.returncode,
                resume_first_request_s=first_request,
                resume_wall_s=resume_wall,
                resume_requests=after - before,
                resume_expected_requests=3 * (rows - at_kill),
                resume_results=kept(state),
            )
            return result
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)


PROVIDER_LIMITS = (
    ("OpenAI, gpt-4o-mini, usage tier 5 (the highest self-serve tier)", 30_000,
     "OpenAI's tier table (platform.openai.com/docs/guides/rate-limits), as transcribed at "
     "www.ai-buzz.com/ai-openai-rate-limits"),
    ("OpenAI, gpt-4o, usage tier 5", 10_000, "the same table"),
    ("Anthropic, Messages API, tier 4 (the highest self-serve tier)", 4_000,
     "Anthropic's tier table (docs.anthropic.com/en/api/rate-limits), as transcribed in a public rate-limit "
     "skill page (skills.sh, clade-rate-limits)"),
)  # fmt: skip


def table(rows: list[tuple[str, str]]) -> str:
    return "\n".join(["| figure | value |", "|---|---:|", *(f"| {a} | {b} |" for a, b in rows)])


def limits_table() -> str:
    lines = ["| provider, model, tier | requests per minute | per second | where the figure comes from |"]
    lines.append("|---|---:|---:|---|")
    lines += [f"| {name} | {rpm:,} | {rpm / 60:,.0f} | {source} |" for name, rpm, source in PROVIDER_LIMITS]
    return "\n".join(lines)


def failed_text(r: dict) -> str:
    if "failed_rows" not in r:
        return "not counted in this run"
    if not r["failed_rows"]:
        return "0"
    return f"{r['failed_rows']:,}: " + "; ".join(f"{n:,} × {error!r}" for error, n in r["errors"])


def load_text(r: dict) -> str:
    return "not recorded in this run" if "load" not in r else f"{r['load'][0]:.1f}, {r['load'][1]:.1f}"


def report(r: dict) -> str:
    ok = r["exit"] == 0 and r["results"] == r["rows"]
    first = "—" if r["resume_first_request_s"] is None else f"{r['resume_first_request_s']:.1f} s"
    cpu_ms = 1000.0 * r["cpu_s"] / max(1, r["requests"])
    resume_rps = r["resume_requests"] / max(1e-9, r["resume_wall_s"])
    per_core = 1000.0 / cpu_ms if cpu_ms else 0.0
    limits = (("OpenAI's gpt-4o-mini at tier 5", 500), ("OpenAI's gpt-4o at tier 5", 167), ("Anthropic's tier 4", 67))
    figures = table(
        [
            (
                "batch exit, results written",
                f"{r['exit']}, {r['results']:,} of {r['rows']:,} rows"
                + ("" if ok else " (incomplete)" if r["results"] < r["rows"] else " (some rows failed)"),
            ),
            ("load average (1 min) at the start and the end of the batch", load_text(r)),
            ("requests the server answered", f"{r['requests']:,} (3 × rows = {3 * r['rows']:,})"),
            ("rows that failed, and why", failed_text(r)),
            (
                "sustained rate (server: requests / time from first to last)",
                f"**{r['sustained_rps']:,.0f} requests/s**",
            ),
            (
                "whole command (start-up, estimate, results files included)",
                f"{r['wall_s']:.1f} s, {r['overall_rps']:,.0f} requests/s, CPU {r['cpu_s']:.1f} s",
            ),
            ("peak memory of the batch process", f"**{r['peak_rss_mb']:,.0f} MB**"),
            ("killed (SIGKILL) with rows kept in the state", f"{r['kept_at_kill']:,}"),
            ("resume: start to the first new request", f"**{first}**"),
            (
                "resume: the rest of the batch",
                f"{r['resume_wall_s']:.1f} s, {r['resume_requests']:,} requests "
                f"(3 × rows left = {r['resume_expected_requests']:,}), {resume_rps:,.0f} requests/s",
            ),
        ]
    )
    best = max(r["sustained_rps"], resume_rps)
    over = [name for name, rps in limits if best >= rps]
    under = [name for name, rps in limits if best < rps]
    verdict = (
        f"Measured here, one process sends more requests per second than {', '.join(over)} permit"
        + (f", but not as fast as {', '.join(under)}" if under else "")
        + ": against a hosted provider the batch's rate limits (`--rpm`/`--tpm`, or Settings), not its concurrency,"
        " set the pace."
        if over
        else f"Measured here (a busy machine), one process stays under all of them ({best:,.0f} requests/s at best)."
    )
    return f"""{HEADING}

Reproduce with one command (it rewrites this section):

```
.venv/bin/python benchmarks/batch_scale_bench.py --rows {r["rows"]} --concurrency {r["concurrency"]}
```

Measured on CPython {platform.python_version()}, {platform.system()}, {os.cpu_count()} cores shared with other
work (the server and the batch share them too): one `chainstudio batch` process driving {r["rows"]:,} rows of a
3-step chain (draft → critique → final: {3 * r["rows"]:,} calls) at `--concurrency {r["concurrency"]}` against a
zero-latency aiohttp server in another process (each request answered at once with a two-token stream and usage).
The server injects no faults: a row that fails is the client's doing (or the machine's).

{figures}

**Why rows failed before.** An earlier run (load about 10) lost 249 of 10,000 rows (141 at draft, 54 at
critique, 54 at final), each after 4 attempts failing with "no response from http://127.0.0.1:…/v1 in
time". That was the 10 s *connect* timeout, timed on the batch's own event loop: with 1,000 rows in flight
on cores shared with other work, the loop was held for seconds at a time, and a handshake the kernel had
long finished was noticed only after the timer had fired (the attempt's retries, backed off alike in every
row, met the same stall). Pinned to one core at `nice 19`
(`taskset -c 1 nice -n 19 … --rows 4000 --no-write`, stopped part-way), 394 of the first 711 rows failed
so before the change, and none of the first 1,149 after it. Since then
(`core/providers/loop_lag.py`) a connect timeout during which the loop was held for half the timeout or
more is ours, not the server's: the request connects again, and the step's timeout (which already tells a
held loop from a slow server) still bounds the attempt. `tests/core/providers/test_connect_stall.py` holds
the loop while 40 calls connect: without the change all 40 fail.

The single-machine ceiling is what the client's CPU (the executor, the openai client's HTTP and each row's
event fold) gets done on the cores this machine lends it, not the server: here between the whole batch's
sustained rate and the resumed part's ({r["sustained_rps"]:,.0f} and {resume_rps:,.0f} requests/s, as the
load of the other sessions changed). The batch spent {cpu_ms:.1f} ms of CPU per request, so one free core
would carry about **{per_core:,.0f} requests/s** (derived: 1 / CPU per request, not measured). Beside the
highest published limits of hosted providers:

{limits_table()}

{verdict} The provider figures are not measured here: they are the providers' published tier tables as the
pages cited transcribe them (read in the project's stored copies of public pages; tiers change, and an
account's own limits page is the authority). A resume repeats no finished row: its requests are exactly
3 × the rows left (rows in flight at the kill were not kept and run again).

Three changes came from this benchmark: the rows' calls are spread over one HTTP client per 100 slots (the
openai client's connection pool scans all its connections for each request: for 2,000 rows at concurrency
1,000, one client took 48.6 s of CPU, ten clients 31.9 s); a prompt's pre-compilation that overruns its CPU
allowance on a starved event loop no longer ends in a logged traceback (the first 10,000-row run printed
one); and the connect timeout above.
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=1_000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    result = measure(args.rows, args.concurrency)
    print(json.dumps(result, indent=2))
    if not args.no_write:
        from perfdoc import write_section

        write_section(HEADING, report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
