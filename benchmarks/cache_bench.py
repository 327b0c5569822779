"""The step cache and partial runs against a real OpenAI-compatible server: which requests reach it.

    .venv/bin/python benchmarks/cache_bench.py --base-url http://127.0.0.1:8560/v1 --model gemma
    .venv/bin/python benchmarks/cache_bench.py ... --write      # also stores the table in docs/performance.md

A logging reverse proxy (aiohttp, on 127.0.0.1, in a thread of this process) stands between
``chainstudio run`` (the real CLI, in a child process, with ``--provider openai``) and the server, and
records every chat-completion request; each request is put down to the step whose prompt's longest literal
fragment it contains. The run history and the step cache live in a fresh temporary data directory
(``CHAINSTUDIO_DATA_DIR``). The runs, in order, on a copy of ``research-hybrid`` with every step's ``max_tokens`` set to
``--max-tokens``:

1. ``--cache``, cold: every model step is requested;
2. ``--cache`` again, the same file: no request; the "saved" figures must equal what run 1 recorded for the
   replayed steps (tokens, cost, and latency = each step's recorded duration);
3. ``--cache`` after editing ``software``'s prompt: exactly ``software`` and its descendants;
4. ``--from security`` (cache off): exactly ``security`` and its descendants; the steps above them come
   from the newest recorded run;
5. ``--from security --cache``: ``security`` is called (the user asked for it); its descendants replay the
   cache only if the new answer is word for word the old one (a sampling model seldom repeats itself).

The model is given a price (``--price-in``/``--price-out`` $/M tokens, gpt-4o-mini's by default) so that
the dollars saved can be compared too. Exits non-zero when an expectation fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADING = "## Step cache and partial runs"
EXAMPLE = ROOT / "resources" / "examples" / "research-hybrid.chain.json"
EDITED_STEP = "software"
EDIT = "\n\nAlso name one open problem."


# --- the logging proxy ------------------------------------------------------------------------------------
class Proxy:
    """A reverse proxy that forwards everything unchanged and keeps each chat request's body."""

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.requests: list[dict[str, Any]] = []
        self.port = 0
        self._ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        self._ready.wait(10)

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        import aiohttp
        from aiohttp import web

        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        hop = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}

        async def forward(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            if request.path.endswith("/chat/completions"):
                self.requests.append(json.loads(body))
            headers = {k: v for k, v in request.headers.items() if k.lower() not in hop}
            url = self.upstream + request.path_qs.removeprefix("/v1")
            async with session.request(request.method, url, data=body, headers=headers) as upstream:
                response = web.StreamResponse(
                    status=upstream.status,
                    headers={k: v for k, v in upstream.headers.items() if k.lower() not in hop},
                )
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
                return response

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # aiohttp: untyped server
        self._ready.set()
        await asyncio.Event().wait()


def fragment(prompt: str) -> str:
    """The longest literal piece of a prompt template (what identifies the step in a rendered request)."""
    return max(re.split(r"\{\{.*?\}\}", prompt), key=len).strip()


def attribute(requests: list[dict[str, Any]], graph: dict[str, Any]) -> list[str]:
    marks = {n["name"]: fragment(n["prompt"]) for n in graph["nodes"] if n.get("kind") == "llm"}
    names = []
    for body in requests:
        text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        # a request quotes its parents' answers (which may echo their prompts): its own fragment comes first
        found = sorted((text.find(mark), name) for name, mark in marks.items() if mark and mark in text)
        names.append(found[0][1] if found else "?")
    return names


# --- the runs ---------------------------------------------------------------------------------------------
def run_cli(args: argparse.Namespace, proxy: Proxy, path: Path, extra: list[str], env: dict[str, str]) -> dict:
    out = Path(env["CHAINSTUDIO_DATA_DIR"]) / "record.json"
    command = [
        sys.executable,
        "-m",
        "chainstudio",
        "run",
        str(path),
        "--provider",
        "openai",
        "--base-url",
        f"http://127.0.0.1:{proxy.port}/v1",
        "--model",
        args.model,
        "--prices",
        env["PRICES"],
        "--no-output",
        "--json",
        str(out),
        *extra,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0,):
        sys.exit(f"chainstudio run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(out.read_text(encoding="utf-8"))


def recorded(record: dict, names: set[str]) -> dict[str, float]:
    """What ``record`` says the steps ``names`` cost: tokens, dollars and seconds (their durations)."""
    nodes = [n for n in record["nodes"] if n["name"] in names]
    return {
        "tokens": sum(n["input_tokens"] + n["output_tokens"] for n in nodes),
        "cost": sum(n["cost_usd"] or 0.0 for n in nodes),
        "seconds": sum((n["end_ms"] - n["start_ms"]) / 1000 for n in nodes),
    }


def saved_matches(record: dict, reference: dict[str, float]) -> bool:
    saved = record["saved"]
    return (
        saved["total_tokens"] == reference["tokens"]
        and abs((saved["cost_usd"] or 0.0) - reference["cost"]) < 1e-7
        and abs(saved["seconds"] - reference["seconds"]) < 0.002  # the record's ms are rounded
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="the real server, e.g. http://127.0.0.1:8560/v1")
    parser.add_argument("--model", default="gemma")
    parser.add_argument("--price-in", type=float, default=0.15, help="$/M input tokens given to the model")
    parser.add_argument("--price-out", type=float, default=0.60, help="$/M output tokens given to the model")
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=64,
        help="every step's max_tokens in the copy run (what is requested "
        "does not depend on it; a small CPU model needs minutes for the example's 400)",
    )
    parser.add_argument("--write", action="store_true", help="store the table in docs/performance.md")
    args = parser.parse_args()

    proxy = Proxy(args.base_url)
    work = Path(tempfile.mkdtemp(prefix="cache-bench-"))
    prices = work / "prices.json"
    prices.write_text(json.dumps({args.model: {"input": args.price_in, "output": args.price_out}}))
    env = dict(os.environ, CHAINSTUDIO_DATA_DIR=str(work / "data"), PRICES=str(prices))
    original = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    for node in original["nodes"]:
        if node.get("kind") == "llm":
            node["max_tokens"] = args.max_tokens
    original_path = work / "research-hybrid.chain.json"
    original_path.write_text(json.dumps(original), encoding="utf-8")
    edited = json.loads(json.dumps(original))
    next(n for n in edited["nodes"] if n["name"] == EDITED_STEP)["prompt"] += EDIT
    edited_path = work / "research-hybrid-edited.chain.json"
    edited_path.write_text(json.dumps(edited), encoding="utf-8")
    llm = {n["name"] for n in original["nodes"] if n.get("kind") == "llm"}
    below = {"software": {"software", "academic", "aggregate"}, "security": {"security", "academic", "aggregate"}}

    phases: list[tuple[str, Path, dict, list[str], Any]] = [
        ("1. --cache, cold", original_path, original, ["--cache"], llm),
        ("2. --cache, same file", original_path, original, ["--cache"], set()),
        (f"3. --cache, {EDITED_STEP}'s prompt edited", edited_path, edited, ["--cache"], below["software"]),
        ("4. --from security (cache off)", edited_path, edited, ["--from", "security"], below["security"]),
        ("5. --from security --cache", edited_path, edited, ["--from", "security", "--cache"], None),
    ]
    rows, failures, records = [], [], []
    for label, path, graph, extra, expected in phases:
        before = len(proxy.requests)
        record = run_cli(args, proxy, path, extra, env)
        records.append(record)
        called = attribute(proxy.requests[before:], graph)
        if expected is not None:
            ok = set(called) == expected and len(called) == len(expected)
        else:  # security, and its descendants only when its new answer differs from the cached one
            ok = called[:1] == ["security"] and set(called) <= below["security"] and len(set(called)) == len(called)
        saved = record["saved"]
        check = ""
        if label.startswith("2."):
            check = "= run 1" if saved_matches(record, recorded(records[0], llm)) else "≠ run 1"
        elif label.startswith("3."):
            same = saved_matches(record, recorded(records[0], llm - below["software"]))
            check = "= run 1's" if same else "≠ run 1's"
        if not ok or check.startswith("≠"):
            failures.append(label)
        rows.append(
            f"| {label} | {len(called)} | {', '.join(called) or '—'} | {record['status']} | "
            f"{record['wall_ms'] / 1000:.1f} s | {saved['steps']} | {saved['total_tokens']:,} | "
            f"${saved['cost_usd'] or 0:.6f} | {saved['seconds']:.2f} s {check} | {'yes' if ok else 'NO'} |"
        )

    fifth = (
        "and its answer was word for word the cached one, so its descendants' requests were unchanged and replayed"
        if len(called) == 1
        else "and its answer differed from the cached one, so its descendants were called too"
    )
    header = (
        "| run | requests | steps requested | status | wall | replayed | saved tok | saved $ | saved s | "
        "as expected |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    text = (
        f"{HEADING}\n\n"
        "`.venv/bin/python benchmarks/cache_bench.py --base-url URL --model M` (research-hybrid, 6 model steps, "
        f"max_tokens {args.max_tokens} each; "
        "requests counted by a logging proxy in front of the server; a fresh data directory). "
        f"Server: {args.base_url} model `{args.model}`, priced at ${args.price_in}/M in, ${args.price_out}/M out "
        f"for the dollar columns. Machine: {platform.machine()}, Python {platform.python_version()}.\n\n"
        f"{header}\n" + "\n".join(rows) + "\n\n"
        '"= run 1" means the saved tokens, dollars and seconds equal, to the record\'s millisecond, what run 1 '
        "recorded for the steps replayed (their recorded durations, summed). Run 5 calls `security` again "
        f"{fifth}.\n"
    )
    print(text)
    if args.write:
        from benchmarks.perfdoc import write_section

        write_section(HEADING, text)
    if failures:
        print("NOT as expected:", ", ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
