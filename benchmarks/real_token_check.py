"""ChainStudio's per-step tokens against a real server's own counts (issue 13: "exact or labelled tokens").

    python benchmarks/real_token_check.py --base-url http://127.0.0.1:8401/v1 [--max-tokens 48] [--label NAME]

Runs research-sequential, -parallel and -hybrid (copies at temperature 0, every step's ``max_tokens``
capped by ``--max-tokens`` to keep a CPU server's run short) through ChainStudio's OpenAI-compatible
provider, then replays every step's exact request non-streamed (``stream: false``, the same messages,
``max_tokens`` and temperature 0), whose ``usage`` is the server's own count, and prints one row per step:
what the stream gave (an offline estimate when the server sent no usage), ChainStudio's final figures (after
the server's recount) and whether they are labelled estimated, the server's counts, and
whether the replay produced the same text (greedy decoding: it should; when it does, the server's
completion count is the count of the very text ChainStudio received).

The functions are plain, for other scripts and test tiers: ``run_graph``, ``replay``, ``compare``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chainstudio.core.graph.model import Graph  # noqa: E402
from chainstudio.core.launch import RunOptions, build_context  # noqa: E402
from chainstudio.core.run import events as ev  # noqa: E402
from chainstudio.core.run.executor import Run, Strategy  # noqa: E402
from chainstudio.core.storage.fileformat import load  # noqa: E402
from chainstudio.core.storage.settings import Settings  # noqa: E402

GRAPHS = ("research-sequential", "research-parallel", "research-hybrid")


@dataclass
class Row:
    graph: str
    step: str
    streamed_in: int  # what the stream gave ChainStudio (an offline estimate when it carried no usage)
    streamed_out: int
    ours_in: int  # ChainStudio's final figures (after the server's recount)
    ours_out: int
    estimated: bool
    server_in: int
    server_out: int
    same_text: bool

    @property
    def exact(self) -> bool:
        return (self.ours_in, self.ours_out) == (self.server_in, self.server_out)


def prepared(name: str, max_tokens: int | None) -> Graph:
    graph = load(ROOT / "resources" / "examples" / f"{name}.chain.json")
    for node in graph.nodes.values():
        if node.kind == "llm":
            node.params["temperature"] = 0.0
            if max_tokens is not None:
                node.params["max_tokens"] = min(int(node.params["max_tokens"]), max_tokens)
    return graph


async def run_graph(graph: Graph, base_url: str, strategy: str = "eager", **options: Any) -> Run:
    """One ChainStudio run on the server (provider ``openai``), as the CLI would make it."""
    chosen = cast("Strategy", strategy)
    context = build_context(Settings(), RunOptions(provider="openai", base_url=base_url, strategy=chosen, **options))
    run = Run(graph, context, strategy=chosen)
    try:
        await run.execute()
    finally:
        await context.provider.aclose()
    return run


async def replay(base_url: str, model: str, system: str, prompt: str, max_tokens: int) -> tuple[int, int, str]:
    """The server's own (prompt, completion) count and text for one request, non-streamed."""
    import openai

    client = openai.AsyncOpenAI(api_key="not-needed", base_url=base_url, max_retries=0, timeout=900)
    messages = ([{"role": "system", "content": system}] if system.strip() else []) + [
        {"role": "user", "content": prompt}
    ]
    try:
        answer = await client.chat.completions.create(
            model=model,
            messages=messages,
            max_tokens=max_tokens,
            temperature=0.0,
            stream=False,  # type: ignore[arg-type]
        )
    finally:
        await client.close()
    assert answer.usage is not None
    return answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.choices[0].message.content or ""


async def compare(run: Run, base_url: str) -> list[Row]:
    """One row per model step of a finished run: ChainStudio's figures against a replay's usage."""
    state, rows = run.state, []
    last_start = {e.node_id: e for e in run.events if isinstance(e, ev.NodeStarted)}
    streamed = {e.node_id: e for e in run.events if isinstance(e, ev.NodeFinished)}
    for span in state.spans.values():
        if span.kind != "llm" or span.node_id not in last_start or span.api_calls != 1:
            continue
        started = last_start[span.node_id]
        node = run.graph.nodes[span.node_id]
        server_in, server_out, text = await replay(
            base_url, str(node.param("model")), started.system, started.prompt, int(node.param("max_tokens"))
        )
        rows.append(
            Row(
                state.started.graph_name if state.started else "",
                span.name,
                streamed[span.node_id].input_tokens,
                streamed[span.node_id].output_tokens,
                span.input_tokens,
                span.output_tokens,
                span.tokens_estimated,
                server_in,
                server_out,
                text == span.output,
            )
        )
    return rows


async def main_async(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for name in args.graphs.split(","):
        graph = prepared(name, args.max_tokens)
        started = time.monotonic()
        run = await run_graph(graph, args.base_url, concurrency=args.concurrency)
        wall = time.monotonic() - started
        counted = sum(isinstance(e, ev.NodeTokensCounted) for e in run.events)
        print(f"{name}: {run.state.status} in {wall:.1f} s; {counted} step(s) recounted by the server", flush=True)
        rows += await compare(run, args.base_url)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--graphs", default=",".join(GRAPHS))
    parser.add_argument("--max-tokens", type=int, default=48, help="cap every step's max_tokens (default 48)")
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--json", metavar="OUT", help="write the rows as JSON")
    args = parser.parse_args(argv)
    rows = asyncio.run(main_async(args))
    columns = ("graph", "step", "streamed in / out", "ChainStudio in / out", "labelled", "server in / out")
    print("\n| " + " | ".join(columns) + " | same text | exact |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.graph} | {r.step} | {r.streamed_in} / {r.streamed_out} | {r.ours_in} / {r.ours_out} | "
            f"{'estimated' if r.estimated else 'exact'} | {r.server_in} / {r.server_out} | "
            f"{'yes' if r.same_text else 'no'} | {'yes' if r.exact else 'NO'} |"
        )
    exact = sum(r.exact for r in rows)
    print(f"\n{exact}/{len(rows)} steps exact; {sum(r.estimated for r in rows)} labelled estimated")
    if args.json:
        Path(args.json).write_text(json.dumps([vars(r) for r in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
