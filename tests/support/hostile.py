"""Hostile answers for the fake OpenAI server: what a broken or malicious server sends.

A prompt carrying ``[[hostile=MODE]]`` gets the answer MODE below instead of a normal completion (the
server's ``echo_auth=True`` also makes every error body repeat the request's ``Authorization`` header):

    echo_key_500     HTTP 500 whose message repeats the Authorization header (and the URL's query)
    echo_key_400     the same as a 400 (not retryable)
    echo_key_stream  a 200 stream whose answer repeats the header, split across chunks
    markup_error     HTTP 400 whose message has rich markup [/], ANSI escapes and a lone surrogate
    markup_stream    an answer with the same characters in it
    content_int      a chunk with "content": 12345
    huge_usage       a normal answer whose usage says 10**30 tokens
    invalid_json     a chunk that is not JSON
    flood            FLOOD_CHUNKS chunks of one character, as fast as the socket takes them
    endless          chunks forever, one every 10 ms (never a finish_reason)
    slowloris        the first event one byte every 0.2 s, forever
    huge_headers     a response with a 200 KB header
    long_no_usage    a 30,000-character answer in one paragraph, without usage

and the held-out modes of the second round (``heldout.py``) and of the third (``redteam.py``).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.support import heldout, redteam

if TYPE_CHECKING:
    from tests.support.fake_openai_server import FakeOpenAIServer

FLOOD_CHUNKS = 5_000  # the openai client parses ~1,000-2,000 chunks a second here
LONG_ANSWER_CHARS = 30_000
HOSTILE_TEXT = "[/] [bold red]x[/] \x1b[2J\x1b]0;pwned\x07\x1b[31m \ud800 \u202e done"


def echo(request: web.Request) -> str:
    return f"Authorization: {request.headers.get('Authorization', '')} url: {request.path_qs}"


async def answer(mode: str, server: FakeOpenAIServer, request: web.Request, entry: dict[str, Any], model: str) -> Any:
    entry["hostile"] = mode
    if mode in heldout.MODES:  # the second round's modes
        return await heldout.answer(mode, server, request, entry, model)
    if mode in redteam.MODES:  # the third round's modes
        return await redteam.answer(mode, server, request, entry, model)
    if mode in ("echo_key_500", "echo_key_400", "markup_error"):
        status = 400 if mode != "echo_key_500" else 500
        message = HOSTILE_TEXT if mode == "markup_error" else f"bad request, you sent {echo(request)}"
        entry["status"] = status
        body = json.dumps({"error": {"message": message, "type": "server_error"}}, ensure_ascii=True)
        return web.Response(status=status, text=body, content_type="application/json")
    if mode == "huge_headers":
        entry["status"] = 200
        return web.Response(status=200, text="{}", headers={"x-junk": "x" * 200_000})
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    base = {"id": "chatcmpl-hostile", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    async def send(payload: Any) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=True)
        await response.write(f"data: {data}\n\n".encode())

    def chunk(content: Any, finish: str | None = None) -> dict[str, Any]:
        delta = {"content": content} if content is not None else {}
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    async def finish(usage: dict[str, Any] | None = None) -> web.StreamResponse:
        await send(chunk(None, "stop"))
        if usage is not None:
            await send({**base, "choices": [], "usage": usage})
        await send("[DONE]")
        await response.write_eof()
        entry["status"] = 200
        return response

    small_usage = {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}
    if mode == "echo_key_stream":
        text = f"here it is: {echo(request)} ok"
        for i in range(0, len(text), 7):  # 7-character chunks: the key is split across several
            await send(chunk(text[i : i + 7]))
        return await finish(small_usage)
    if mode == "markup_stream":
        await send(chunk(HOSTILE_TEXT))
        return await finish(small_usage)
    if mode == "content_int":
        await send(chunk("fine so far "))
        await send(chunk(12345))
        return await finish(small_usage)
    if mode == "huge_usage":
        await send(chunk("a short answer"))
        return await finish({"prompt_tokens": 10**30, "completion_tokens": 10**30, "total_tokens": 2 * 10**30})
    if mode == "invalid_json":
        await send(chunk("fine so far "))
        await send("{this is not json")
        return await finish(small_usage)
    if mode == "flood":
        payload = "".join(f"data: {json.dumps(chunk('x'))}\n\n" for _ in range(1000)).encode()
        for _ in range(FLOOD_CHUNKS // 1000):  # FLOOD_CHUNKS is a multiple of 1,000
            await response.write(payload)
        return await finish(small_usage)
    if mode == "long_no_usage":
        await send(chunk("y" * LONG_ANSWER_CHARS))
        return await finish(None)
    if mode == "endless":
        while request.transport is not None and not request.transport.is_closing():
            await send(chunk("more "))
            await asyncio.sleep(0.01)
        entry["status"] = 499
        return response
    if mode == "slowloris":
        event = f"data: {json.dumps(chunk('slow'))}\n\n".encode()
        i = 0
        while request.transport is not None and not request.transport.is_closing():
            await response.write(event[i % len(event) : i % len(event) + 1])
            i += 1
            await asyncio.sleep(0.2)
        entry["status"] = 499
        return response
    raise ValueError(f"unknown hostile mode {mode!r}")
