"""The dependency hop: from a parent's last streamed byte to its child's request, ChainStudio vs plain asyncio.

    .venv/bin/python benchmarks/hop_bench.py                  # prints the table; rewrites nothing
    .venv/bin/python benchmarks/hop_bench.py --write after    # also stores the row "after" in docs/performance.md

A local OpenAI-compatible server (aiohttp, streaming, in its own process on 127.0.0.1, so its work does not
share the client's interpreter) logs, per request, when the request arrived and when it wrote the final
``data: [DONE]`` chunk, both on the machine's monotonic clock. A chain of ``--steps`` dependent LLM steps
(each prompt quotes the previous step's whole answer) runs two ways with the same ``openai`` AsyncOpenAI
client and the same request parameters:

* **ChainStudio**: the graph ``input -> s0 -> s1 -> ... -> output`` run by ``Run`` with the
  OpenAI-compatible provider (default context: no cap, no budget, no rate limit);
* **plain asyncio**: the same chain written by hand: a loop that streams one completion, joins the text
  and formats the next prompt with an f-string.

A hop is ``arrival(child) - done(parent)`` as the server saw it; a chain of N steps gives N-1 hops. The two
ways alternate (A/B, then B/A) over ``--repeats`` rounds after one untimed warm-up chain each, so a noisy,
shared machine hurts both alike. Medians and p90s are over all hops of all rounds of each way.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import platform
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADING = "## Dependency hop"
MODEL = "gpt-4o-mini"
WORDS = ("qubit", "lattice", "gate", "fidelity", "coherence", "photonic", "roadmap", "benchmark")


# --- the server (runs in a child process: ``hop_bench.py --serve``) ----------------------------------------
def serve(chunks: int, chunk_delay: float, usage: bool) -> None:
    from aiohttp import web

    log: list[dict[str, float]] = []

    async def chat(request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        body = await request.json()
        prompt = str(body["messages"][-1]["content"])
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "x-request-id": "hop"})
        await response.prepare(request)
        base = {"id": "chatcmpl-hop", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}

        async def send(data: str) -> None:
            await response.write(f"data: {data}\n\n".encode())

        await send(json.dumps({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}))
        for i in range(chunks):  # three words a chunk, a line of four chunks
            words = [WORDS[(3 * i + k + len(prompt)) % len(WORDS)] for k in range(3)]
            piece = " ".join(words) + (".\n" if i % 4 == 3 or i == chunks - 1 else " ")
            await send(json.dumps({**base, "choices": [{"index": 0, "delta": {"content": piece}}]}))
            await asyncio.sleep(chunk_delay)
        await send(json.dumps({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        if usage:
            counts = {"prompt_tokens": len(prompt.split()), "completion_tokens": 3 * chunks, "total_tokens": 0}
            await send(json.dumps({**base, "choices": [], "usage": counts}))
        await send("[DONE]")
        done = time.monotonic()
        await response.write_eof()
        log.append({"arrived": arrived, "done": done})
        return response

    async def take_log(request: web.Request) -> web.Response:
        entries = list(log)
        log.clear()
        return web.json_response(entries)

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        app.router.add_get("/_log", take_log)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent goes away
        await runner.cleanup()

    asyncio.run(main())


class Server:
    def __init__(self, chunks: int, chunk_delay: float, usage: bool):
        command = [sys.executable, __file__, "--serve", "--chunks", str(chunks), "--chunk-delay", str(chunk_delay)]
        self._process = subprocess.Popen(
            command + ([] if usage else ["--no-usage"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self.port = int(self._process.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def take_log(self) -> list[dict[str, float]]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_log", timeout=10) as reply:
            entries: list[dict[str, float]] = json.loads(reply.read())
        return sorted(entries, key=lambda e: e["arrived"])

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()


# --- the two ways to run the chain ----------------------------------------------------------------------------
def prompt_for(chain: int, i: int) -> str:
    """Step ``i``'s prompt template in chain number ``chain`` (new text per chain, as after an edit)."""
    if i == 0:
        return f"Chain {chain}: write about {{{{ inputs.topic }}}}."
    return f"Chain {chain}, step {i}: continue from: {{{{ s{i - 1} }}}}"


def chain_graph(chain: int, steps: int) -> Any:
    from chainstudio.core.graph.model import Graph, GraphInput

    g = Graph("hop-chain", inputs=[GraphInput("topic", "quantum computing")])
    g.add("input", "topic", input="topic")
    previous = "topic"
    for i in range(steps):
        g.add("llm", f"s{i}", model=MODEL, prompt=prompt_for(chain, i), max_tokens=64, retries=0, timeout=60.0)
        g.connect(previous, f"s{i}")
        previous = f"s{i}"
    g.add("output", "out")
    g.connect(previous, "out")
    return g


async def chainstudio_chain(url: str, chain: int, steps: int) -> None:
    from chainstudio.core.providers.openai_compat import OpenAICompatProvider, OpenAISettings
    from chainstudio.core.run.executor import Run, RunContext

    provider = OpenAICompatProvider(OpenAISettings(base_url=url, api_key="hop-bench"))
    try:
        run = Run(chain_graph(chain, steps), RunContext(provider=provider))
        state = await run.execute()
        if state.status != "succeeded":
            raise RuntimeError(f"the ChainStudio chain ended {state.status}: {state.message}")
    finally:
        await provider.aclose()


async def plain_chain(url: str, chain: int, steps: int) -> None:
    from openai import AsyncOpenAI, Timeout

    client = AsyncOpenAI(api_key="hop-bench", base_url=url, max_retries=0)
    try:
        previous = "quantum computing"
        for i in range(steps):
            if i == 0:
                prompt = f"Chain {chain}: write about {previous}."
            else:
                prompt = f"Chain {chain}, step {i}: continue from: {previous}"
            stream = await client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": prompt}],
                temperature=0.3,
                max_tokens=64,
                stream=True,
                stream_options={"include_usage": True},
                timeout=Timeout(60.0, connect=10.0),
            )
            parts: list[str] = []
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        parts.append(choice.delta.content)
            previous = "".join(parts)
    finally:
        await client.close()


WAYS = {"ChainStudio": chainstudio_chain, "plain asyncio": plain_chain}


def hops_ms(log: list[dict[str, float]], steps: int) -> list[float]:
    if len(log) != steps:
        raise RuntimeError(f"the server saw {len(log)} requests for a chain of {steps}")
    return [(child["arrived"] - parent["done"]) * 1000.0 for parent, child in zip(log, log[1:], strict=False)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


SENT: list[float] = []  # when each request of the current chain was handed to the openai client


def record_sends() -> None:
    """Note the moment each chat-completion request is handed to the client (both ways go through it)."""
    from openai.resources.chat.completions import AsyncCompletions

    create = AsyncCompletions.create

    async def noted(self: Any, *args: Any, **kwargs: Any) -> Any:
        SENT.append(time.monotonic())
        return await create(self, *args, **kwargs)

    AsyncCompletions.create = noted  # type: ignore[method-assign]


async def measure(server: Server, steps: int, repeats: int) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {way: {"hops": [], "round_medians": [], "client": []} for way in WAYS}
    record_sends()
    chains = itertools.count()  # every chain has prompts of its own, as a graph has after an edit
    for chain in WAYS.values():  # warm-up: imports, the tokenizer, the price table, connections
        await chain(server.url, next(chains), steps)
        server.take_log()
    for round_number in range(repeats):
        order = list(WAYS) if round_number % 2 == 0 else list(reversed(WAYS))
        for way in order:
            SENT.clear()
            await WAYS[way](server.url, next(chains), steps)
            log = server.take_log()
            hops = hops_ms(log, steps)
            results[way]["hops"].extend(hops)
            results[way]["client"].extend(
                (sent - parent["done"]) * 1000.0 for parent, sent in zip(log[:-1], SENT[1:], strict=True)
            )
            results[way]["round_medians"].append(statistics.median(hops))
    for result in results.values():
        result["median"] = statistics.median(result["hops"])
        result["p90"] = percentile(result["hops"], 0.9)
        result["client_median"] = statistics.median(result["client"])
    return results


# --- reporting ------------------------------------------------------------------------------------------------
def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| way | hops | median | p90 | in the client (median) | per-round medians |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for way, r in results.items():
        rounds = ", ".join(f"{m:.1f}" for m in r["round_medians"])
        lines.append(
            f"| {way} | {len(r['hops'])} | {r['median']:.2f} ms | {r['p90']:.2f} ms | {r['client_median']:.2f} ms "
            f"| {rounds} |"
        )
    return "\n".join(lines)


def paired_difference(results: dict[str, dict[str, Any]]) -> float:
    """The median over rounds of (ChainStudio's round median - plain asyncio's): each pair ran back to back."""
    ours, plain = results["ChainStudio"]["round_medians"], results["plain asyncio"]["round_medians"]
    return statistics.median(a - b for a, b in zip(ours, plain, strict=True))


def row(label: str, results: dict[str, dict[str, Any]]) -> str:
    cs, plain = results["ChainStudio"], results["plain asyncio"]
    return (
        f"| {label} | {cs['median']:.2f} ms | {cs['p90']:.2f} ms | {plain['median']:.2f} ms | {plain['p90']:.2f} ms "
        f"| {cs['median'] - plain['median']:+.2f} ms | {paired_difference(results):+.2f} ms "
        f"| {cs['client_median']:.2f} / {plain['client_median']:.2f} ms |"
    )


def write_doc(label: str, results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    from perfdoc import DOC, write_section

    rows: dict[str, str] = {}
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    section = re.search(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", current, re.S | re.M)
    if section is not None:  # keep the rows measured earlier (e.g. "before", on main) under their labels
        for line in section.group(0).splitlines():
            match = re.match(r"^\| ([^|]+?) \| [\d.]+ ms \|", line)
            if match:
                rows[match.group(1)] = line
    rows[label] = row(label, results)
    text = f"""{HEADING}

How long a dependent step waits for its parent, end to end through the real HTTP client: from the moment
the server wrote a parent's final `data: [DONE]` chunk to the moment the child's request arrived at the
server. Reproduce with one command (about 40 s; `--write LABEL` stores the result as a row of this table):

```
.venv/bin/python benchmarks/hop_bench.py
```

A local OpenAI-compatible aiohttp server in its own process on 127.0.0.1 streams each answer in
{args.chunks} chunks of three words, {args.chunk_delay * 1000:g} ms apart, four chunks a line, and logs both
instants on the machine's monotonic clock. A chain of {args.steps} dependent LLM steps (each prompt quotes
the previous answer; every chain has prompts of its own, as a graph has after an edit) runs as a ChainStudio
graph through `Run` with the OpenAI-compatible provider, and as the same chain written by hand in plain
asyncio with the same `openai` AsyncOpenAI client and request parameters. The two alternate (A/B, then
B/A) over {args.repeats} rounds after a warm-up chain each, {args.steps - 1} hops per chain.

*Difference* is ChainStudio's median minus plain asyncio's; *per-round difference* is the median over
rounds of that difference between two chains run back to back. *In the client* is the client's share of
the hop, ChainStudio / plain: from the parent's `[DONE]` to the child's request being handed to the
`openai` client (reading the end of the stream, then the engine and the prompt), leaving out the HTTP
client, the kernel and the server, the noisiest part on a busy machine. Rows *without usage* use
`--no-usage`: the server leaves token usage out, as llama-cpp-python's does, and the app counts tokens
itself. `--root CHECKOUT` measures another checkout's engine with the same script (the *before* rows).
CPython {platform.python_version()}, {platform.system()}, 2 cores shared with other work: compare the
columns of a row, measured side by side, more than rows with each other. Target: ChainStudio's median
within 2 ms of plain asyncio's.

What was on the way, and where it went: compiling the child's prompt template (~1.4 ms for a template not
seen before, as after any edit) now happens while the parent streams (`StepInputs.precompile_after`, on
the parent's first token); pricing the parent's call (~0.35 ms a call through genai-prices, and it was
done twice, once for an unset budget) is now one lookup of the model's exact affine rates per model and a
few Decimal operations, and no pricing at all for the budget when none is set; with a server that sends no
usage, the prompt and the finished paragraphs of the answer are counted while it streams, leaving only the
last paragraph to count. What remains in the engine (~0.3-0.5 ms on this machine) is its events, the
scheduler's bookkeeping, rendering the compiled prompt and starting the child's task.

| measured on | ChainStudio median | p90 | plain median | p90 | difference | per-round difference | in the client |
|---|---:|---:|---:|---:|---:|---:|---:|
""" + "\n".join(rows.values())
    write_section(HEADING, text + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="dependent LLM steps per chain (default 30)")
    parser.add_argument("--repeats", type=int, default=8, help="A/B rounds (default 8)")
    parser.add_argument("--chunks", type=int, default=16, help="streamed chunks of 3 words per answer (default 16)")
    parser.add_argument("--chunk-delay", type=float, default=0.002, help="seconds between chunks (default 0.002)")
    parser.add_argument(
        "--no-usage", action="store_true", help="the server sends no usage (like llama-cpp-python): count offline"
    )
    parser.add_argument(
        "--root", metavar="CHECKOUT", help="measure the chainstudio of another checkout (e.g. main, for a before)"
    )
    parser.add_argument("--write", metavar="LABEL", help="store this result as the row LABEL in docs/performance.md")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.chunks, args.chunk_delay, not args.no_usage)
        return 0
    if args.root:
        sys.path.insert(0, str(Path(args.root).resolve()))
    import chainstudio

    print(f"measuring {Path(chainstudio.__file__).parent}")
    server = Server(args.chunks, args.chunk_delay, not args.no_usage)
    try:
        started = time.perf_counter()
        results = asyncio.run(measure(server, args.steps, args.repeats))
        seconds = time.perf_counter() - started
    finally:
        server.close()
    print(f"{args.steps}-step chain, {args.repeats} A/B rounds, {args.chunks} chunks per answer, {seconds:.0f} s")
    print(table(results))
    gap = results["ChainStudio"]["median"] - results["plain asyncio"]["median"]
    print(f"difference of medians: {gap:+.2f} ms; per-round difference: {paired_difference(results):+.2f} ms")
    client_gap = results["ChainStudio"]["client_median"] - results["plain asyncio"]["client_median"]
    print(f"in the client: {client_gap:+.2f} ms")
    if args.write:
        write_doc(args.write, results, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
