"""The held-out hostile answers (issue 14's second round): modes of the fake server beyond ``hostile.py``'s,
for key leaks, usage that lies, values of the wrong shape and floods. Selected the same way, by
``[[hostile=MODE]]`` in a prompt; ``[[size=N]]`` sets the size where a mode has one (characters, chunks
or bytes, as it says). Every mode that echoes the key takes it from the request's ``Authorization`` header.

Class 1, the key:
    key_in_headers      a normal answer whose x-request-id header, chunk id and model name are the header
    key_nested_error    HTTP 500 whose error message is an object nesting the header (no string message)
    key_fastapi_422     HTTP 422 in FastAPI's shape: ``{"detail": [{"msg": ..., "input": HEADER}]}``
    key_b64             HTTP 401 whose message has the key and the header base64- and base64url-encoded
    key_urlenc          HTTP 400 whose message has the key percent-encoded (upper and lower case hex)
    key_escaped         HTTP 400 whose message has the key JSON-escaped character by character (\\uXXXX)
    key_error_event     a stream that sends a few words, then an SSE ``error`` event quoting the header
    key_1char_stream    an answer quoting the header, one character a chunk
    key_in_finish       an answer whose finish_reason is the header
    key_redirect        a 307 to a closed port whose URL carries the key as user:password and in the query

Class 5, usage that lies:
    usage_every_chunk   usage in every chunk, growing, the last one right
    usage_decreasing    usage in every chunk, falling to 1 + 1 for a [[size]]-word answer (default 400)
    usage_strings       usage figures as strings ("12");  usage_floats: as 12.0;  usage_bools: as true
    cached_huge         more cached prompt tokens than prompt tokens;  cached_negative: -50 cached tokens
    reasoning_lie       100,000 completion tokens, 99,990 of them "reasoning", for a short answer
    endless_spaces      chunks of one space forever, never a finish_reason (under a token cap)

Class 6, values of the wrong shape:
    content_list, content_dict, content_true, content_float   a chunk's content of that type
    choices_many        each chunk carries [[size]] choices (default 2,000), indexes 0..N-1
    index_far           the answer's chunks carry index 7 as well as index 0
    finish_int          finish_reason 12345;  finish_list: ["stop"]
    json_1e400          1e400 and a 400-digit integer in the chunk's created, usage and index fields
    deep_chunk          a chunk nested 100,000 lists deep;  deep_error: an HTTP 400 body nested so

Class 11, floods:
    many_tiny           [[size]] chunks of one character (default 100,000), then usage
    one_huge_chunk      one chunk of [[size]] characters (default 50,000,000); [[kind=cjk]] (marks, zwj,
                        mixed): of that pathological text instead of one repeated letter
    ping_forever        three words, then ``: ping`` comments every 10 ms, forever
    ping_flood          ``: ping`` comments as fast as the socket takes them, forever, from the start
    done_then_ping      a whole answer (finish_reason and usage) with no [DONE], then ``: ping`` forever
    finish_then_ping    a whole answer's finish_reason, then ``: ping`` forever (no usage, no [DONE])
    done_then_chunks    a whole answer with usage, then empty chunks forever (no [DONE])
    huge_line           an SSE line of [[size]] bytes (default 100,000,000) that never ends
    data_no_blank       ``data:`` lines forever without the blank line that ends an event
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from chainstudio.core.tokens import count_tokens

if TYPE_CHECKING:
    from tests.support.fake_openai_server import FakeOpenAIServer

SIZE = re.compile(r"\[\[size=(\d+)\]\]")
KEY_MODES = (  # class 1: each quotes the key back in its own way
    "key_in_headers",
    "key_nested_error",
    "key_fastapi_422",
    "key_b64",
    "key_urlenc",
    "key_escaped",
    "key_error_event",
    "key_1char_stream",
    "key_in_finish",
    "key_redirect",
)
MODES = frozenset(KEY_MODES) | frozenset(
    (
        "usage_every_chunk",
        "usage_decreasing",
        "usage_strings",
        "usage_floats",
        "usage_bools",
        "cached_huge",
        "cached_negative",
        "reasoning_lie",
        "endless_spaces",
        "content_list",
        "content_dict",
        "content_true",
        "content_float",
        "choices_many",
        "index_far",
        "finish_int",
        "finish_list",
        "json_1e400",
        "deep_chunk",
        "deep_error",
        "many_tiny",
        "one_huge_chunk",
        "ping_forever",
        "ping_flood",
        "huge_line",
        "data_no_blank",
        "done_then_ping",
        "finish_then_ping",
        "done_then_chunks",
    )
)
ERROR_MODES = ("key_nested_error", "key_fastapi_422", "key_b64", "key_urlenc", "key_escaped", "deep_error")


def header(request: web.Request) -> str:
    return request.headers.get("Authorization", "")


def key(request: web.Request) -> str:
    return header(request).removeprefix("Bearer ")


def request_messages(entry: dict[str, Any]) -> list[dict[str, Any]]:
    messages = entry.get("messages") or [{"content": entry.get("prompt", "")}]
    return [m for m in messages if isinstance(m, dict)]


def size(entry: dict[str, Any], default: int) -> int:
    found = SIZE.search(str(entry.get("prompt", "")))
    return int(found.group(1)) if found else default


KINDS = {
    "cjk": lambda n: "".join(chr(0x4E00 + (i * 7919) % 20_000) for i in range(n)),
    "marks": lambda n: ("a" + "\u0301" * 99) * (n // 100),
    "zwj": lambda n: "\U0001f468\u200d\U0001f469\u200d\U0001f467" * (n // 5),
    "mixed": lambda n: "".join(chr(48 + (i * 7919) % 75) for i in range(n)),  # no spaces, no repeats nearby
}


def text_of(entry: dict[str, Any], n: int) -> str:
    found = re.search(r"\[\[kind=(\w+)\]\]", str(entry.get("prompt", "")))
    return KINDS[found.group(1)](n) if found else "y" * n


def _error_body(mode: str, request: web.Request) -> tuple[int, str]:
    auth, secret = header(request), key(request)
    if mode == "key_nested_error":
        return 500, json.dumps({"error": {"message": {"cause": {"sent": [auth]}}, "type": "server_error"}})
    if mode == "key_fastapi_422":
        return 422, json.dumps({"detail": [{"loc": ["header", "authorization"], "msg": "bad", "input": auth}]})
    if mode == "key_b64":
        forms = [base64.b64encode(s.encode()).decode() for s in (secret, auth, f"user:{secret}")]
        forms.append(base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="))
        return 401, json.dumps({"error": {"message": "token " + " / ".join(forms) + " refused"}})
    if mode == "key_urlenc":
        upper = quote(secret, safe="")
        lower = re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), upper)
        everything = "".join(f"%{b:02X}" for b in secret.encode())
        return 400, json.dumps({"error": {"message": f"bad key {upper} {lower} {everything}"}})
    if mode == "key_escaped":
        escaped = "".join(f"\\u{ord(c):04x}" for c in auth)
        return 400, '{"error": {"message": "you sent ' + escaped + '"}}'
    # deep_error
    return 400, '{"error": ' + "[" * 100_000 + "]" * 100_000 + "}"


async def answer(mode: str, server: FakeOpenAIServer, request: web.Request, entry: dict[str, Any], model: str) -> Any:
    if mode in ERROR_MODES:
        status, body = _error_body(mode, request)
        entry["status"] = status
        return web.Response(status=status, text=body, content_type="application/json")
    if mode == "key_redirect":
        entry["status"] = 307
        location = f"http://u:{quote(key(request), safe='')}@127.0.0.1:9/v1/chat/completions?token={key(request)}"
        return web.Response(status=307, headers={"Location": location})
    headers = {"Content-Type": "text/event-stream"}
    if mode == "key_in_headers":
        headers["x-request-id"] = header(request)
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    base: dict[str, Any] = {"id": "chatcmpl-held", "object": "chat.completion.chunk", "created": int(time.time())}
    base["model"] = header(request) if mode == "key_in_headers" else model
    if mode == "key_in_headers":
        base["id"] = header(request)

    async def raw(data: bytes) -> None:
        await response.write(data)

    async def send(payload: Any) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=True)
        await raw(f"data: {data}\n\n".encode())

    def chunk(content: Any, finish: Any = None, index: Any = 0, **extra: Any) -> dict[str, Any]:
        delta = {"content": content} if content is not None else {}
        return {**base, "choices": [{"index": index, "delta": delta, "finish_reason": finish}], **extra}

    async def finish(usage: dict[str, Any] | None = None, reason: Any = "stop") -> web.StreamResponse:
        await send(chunk(None, reason))
        if usage is not None:
            await send({**base, "choices": [], "usage": usage})
        await send("[DONE]")
        await response.write_eof()
        entry["status"] = 200
        return response

    def usage(prompt: Any, completion: Any, **more: Any) -> dict[str, Any]:
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": 0, **more}

    def alive() -> bool:
        return request.transport is not None and not request.transport.is_closing()

    prompt = sum(count_tokens(str(m.get("content", ""))) for m in request_messages(entry))  # as a server counts
    small = usage(prompt, 5)
    if mode == "key_in_headers":
        await send(chunk("an answer with a hostile id"))
        return await finish(small)
    if mode == "key_error_event":
        await send(chunk("first words "))
        await raw(
            f"event: error\ndata: {json.dumps({'error': {'message': 'upstream saw ' + header(request)}})}\n\n".encode()
        )
        await send("[DONE]")
        await response.write_eof()
        entry["status"] = 200
        return response
    if mode == "key_1char_stream":
        for c in f"you sent {header(request)} ok":
            await send(chunk(c))
        return await finish(small)
    if mode == "key_in_finish":
        await send(chunk("an answer"))
        return await finish(small, reason=header(request))
    if mode in ("usage_every_chunk", "usage_decreasing"):
        words = [f"w{i} " for i in range(size(entry, 400))]
        n = len(words)
        for i, word in enumerate(words):
            figure = count_tokens("".join(words[: i + 1])) if mode == "usage_every_chunk" else max(1, n - i)
            await send({**chunk(word), "usage": usage(prompt, figure)})
        last = usage(prompt, count_tokens("".join(words))) if mode == "usage_every_chunk" else usage(1, 1)
        return await finish(last)
    lies = {
        "usage_strings": usage("12", "34"),
        "usage_floats": usage(12.0, 34.0),
        "usage_bools": usage(True, True),
        "cached_huge": usage(12, 3, prompt_tokens_details={"cached_tokens": 10**9}),
        "cached_negative": usage(12, 3, prompt_tokens_details={"cached_tokens": -50}),
        "reasoning_lie": usage(12, 100_000, completion_tokens_details={"reasoning_tokens": 99_990}),
    }
    if mode in lies:
        await send(chunk("a short answer of a few words"))
        return await finish(lies[mode])
    if mode == "endless_spaces":
        while alive():
            await send(chunk(" "))
            await asyncio.sleep(0.001)
        entry["status"] = 499
        return response
    odd_content = {"content_list": [{"type": "text", "text": "x"}], "content_dict": {"text": "x"}, "content_true": True}
    if mode in odd_content or mode == "content_float":
        await send(chunk("fine so far "))
        if mode == "content_float":
            await raw(b'data: {"id": "c", "choices": [{"index": 0, "delta": {"content": 1e400}}]}\n\n')
        else:
            await send(chunk(odd_content[mode]))
        return await finish(small)
    if mode == "choices_many":
        n = size(entry, 2000)
        for word in ("many ", "choices "):
            await send({**base, "choices": [{"index": i, "delta": {"content": word}} for i in range(n)]})
        return await finish(small)
    if mode == "index_far":
        for word in ("index ", "zero "):
            await send(chunk(word))
            await send(chunk("SEVEN ", index=7))
        return await finish(small)
    if mode in ("finish_int", "finish_list"):
        await send(chunk("an answer"))
        return await finish(small, reason=12345 if mode == "finish_int" else ["stop"])
    if mode == "json_1e400":
        big = "1" + "0" * 400
        await raw(
            b'data: {"id": "c", "created": 1e400, "choices": [{"index": 0, "delta": {"content": "huge numbers"}}]}\n\n'
        )
        usage_text = f'{{"prompt_tokens": 1e400, "completion_tokens": {big}}}'
        await raw(f'data: {{"id": "c", "created": {big}, "choices": [], "usage": {usage_text}}}\n\n'.encode())
        return await finish(None)
    if mode == "deep_chunk":
        await send(chunk("before the deep one "))
        await raw(
            b'data: {"choices": [{"index": 0, "delta": {"content": "x"}, "junk": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}]}\n\n"
        )
        return await finish(small)
    if mode == "many_tiny":
        n = size(entry, 100_000)
        event = f"data: {json.dumps(chunk('x'))}\n\n".encode()
        for start in range(0, n, 1000):
            await raw(event * min(1000, n - start))
        return await finish(usage(prompt, n))
    if mode == "one_huge_chunk":  # [[kind=cjk|marks|zwj|mixed]]: of that text instead of "y"s
        await send(chunk(text_of(entry, size(entry, 50_000_000))))
        return await finish(small)
    if mode == "ping_forever":
        await send(chunk("three small words "))
        while alive():
            await raw(b": ping\n\n")
            await asyncio.sleep(0.01)
        entry["status"] = 499
        return response
    if mode in ("done_then_ping", "finish_then_ping", "done_then_chunks"):
        await send(chunk("a whole answer"))
        await send(chunk(None, "stop"))
        if mode != "finish_then_ping":
            await send({**base, "choices": [], "usage": small})
        while alive():
            if mode == "done_then_chunks":
                await send({**base, "choices": []})
            else:
                await raw(b": ping\n\n")
            await asyncio.sleep(0.01)
        entry["status"] = 499
        return response
    if mode == "ping_flood":
        block = b": ping\n\n" * 8192
        while alive():
            await raw(block)
        entry["status"] = 499
        return response
    if mode == "huge_line":
        await raw(b"data: ")
        total, block = size(entry, 100_000_000), b"z" * (1 << 20)
        entry["sent"] = 0  # bytes of the line written (the socket took them: the client read them, or buffers)
        while alive() and entry["sent"] < total:
            await raw(block)
            entry["sent"] += len(block)
        while alive():  # and the line never ends
            await asyncio.sleep(0.05)
        entry["status"] = 499
        return response
    if mode == "data_no_blank":
        line = f"data: {json.dumps(chunk('x' * 1000))}\n".encode() * 64
        entry["sent"] = 0
        while alive() and entry["sent"] < size(entry, 10**12):
            await raw(line)
            entry["sent"] += len(line)
        entry["status"] = 499
        return response
    raise ValueError(f"unknown hostile mode {mode!r}")
