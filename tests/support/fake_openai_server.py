"""A small OpenAI-compatible server for tests: real HTTP on 127.0.0.1, an ephemeral port, scripted faults.
(Over 400 lines: one server with the behaviours of the real ones it stands in for, kept in one place.)

It serves ``POST /v1/chat/completions`` (streamed and not, with ``usage``, ``x-request-id`` and
``stream_options.include_usage``) and ``GET /v1/models``. It counts the tokens it reports (with the same
offline tokenizer the app uses) and tracks the most requests it ever had in flight (``stats.max_in_flight``)
and each request's latency (the log's ``latency``, seconds from arrival to the last byte).

Faults are scripted by directives inside the last message, so concurrent requests cannot mix them up
(a directive with ``*N`` applies to the first N requests carrying the same prompt):

    [[fail=429*2]]        answer HTTP 429 twice (with [[retry_after_ms=150]] or [[retry_after=1]])
    [[fail=500*1]]        answer HTTP 500 once, then succeed
    [[drop*1]]            stream half of the answer, then cut the connection
    [[hang]]              never answer (until the client goes away)
    [[stall=2]]           stream 2 words of the answer, then send nothing more (until the client goes away)
    [[delay=0.2]]         wait before the first token;  [[tokens=40]]  answer 40 words
    [[echo]]              answer with the prompt's own words (its directives left out)
    [[say=WORD]]          answer with WORD (and a full stop)
    [[hostile=MODE]]      a broken or malicious answer (tests/support/hostile.py lists the modes)

    [[usage=100000]]      report this many completion tokens (a server whose usage is not to be believed)
    [[ignore_max*1]]      ignore max_tokens: answer ``tokens`` words anyway
    [[answer=WORD]]       answer exactly WORD (a known answer for exact-match checks)

A judge's prompt (ChainStudio's LLM-as-judge asks ``Answer with JSON only: {"score"`` ...) gets a JSON
verdict that depends only on the prompt's length (``scripted_answer``).

Scripted answers: ``FakeOpenAIServer(answers=[...])`` answers the chat requests with these texts, in order
(then with words); an answer given as ``CutOff(text)`` is sent with ``finish_reason`` "length" (an answer
the server cut off at the request's max_tokens). ``Mode.response_format`` is the most a server takes: a
request asking for more gets 400 naming ``response_format`` (as servers without structured output do). The
log keeps each request's messages and response format.

A wrong API key gets 401 (when the server has one); a model outside ``known_models`` gets 404. With
``echo_auth=True`` every error body repeats the request's ``Authorization`` header, as a careless proxy does;
``models_status=N`` answers ``GET /v1/models`` with that error status.

``Mode`` gives the server the behaviours of real ones (see ../shared/design/REAL_SERVERS.md):
``stream_usage=False`` never sends usage in a stream (llama-cpp-python's server); ``tokenizer`` serves a
tokenize endpoint ("llama.cpp": ``/tokenize`` + ``/apply-template``, and ``/props`` with ``slots``; "llama-cpp-python":
``/extras/tokenize`` + ``/extras/tokenize/count``; ``tokenize_says=N`` makes it answer N, or N tokens, for any
real text) and counts prompts through a chat template of its own
(BOS + per-message framing; ``drop_system`` leaves system messages out, as the gemma format does);
``cached_tokens`` reports that many prompt tokens as read from the cache; ``answer_model`` names another
model in its answers; ``one_at_a_time`` serves one request at a time (the others queue), and with
``interrupt`` a request arriving while another streams cuts that stream off ([DONE], no finish reason, no
usage; ``[[late=S]]`` makes a request queue S seconds after it arrived, so a request sent earlier can cut one
sent later); ``rpm_limit=(N, W)`` answers 429 without Retry-After to a request that would make more than N in
any W seconds (a hidden rate limit); ``prefix_cache`` caches each prompt once its prefill is done and
reports the tokens a later prompt shares with it as ``cached_tokens`` (``prefix_cache.py``), with
``prefill_per_token`` seconds of prefill per uncached prompt token. Every request is logged with its arrival
time and usage. The Batch API's endpoints (``/v1/files``, ``/v1/batches``) are served by ``fake_batch_api``.

It runs on its own event loop in a background thread, so sync tests, CLI subprocesses and (later) qasync
GUI tests can all use it::

    with FakeOpenAIServer() as server:
        ... server.url ...            # http://127.0.0.1:PORT/v1
        server.stats.completion_tokens

Standalone: ``python -m tests.support.fake_openai_server --port 0`` prints its URL and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from chainstudio.core.tokens import count_tokens
from tests.support import fake_batch_api, hostile
from tests.support.prefix_cache import PrefixCache

DIRECTIVE = re.compile(r"\[\[(\w+)(?:=([\w.]+))?(?:\*(\d+))?\]\]")
WORDS = (
    "quantum",
    "qubit",
    "error",
    "correction",
    "logical",
    "physical",
    "gate",
    "fidelity",
    "vendor",
    "roadmap",
    "funding",
    "lattice",
    "algorithm",
    "benchmark",
    "coherence",
    "photonic",
)


class CutOff(str):
    """A scripted answer the server sends as cut off at max_tokens (``finish_reason`` "length")."""


@dataclass(frozen=True)
class Mode:
    stream_usage: bool = True
    tokenizer: str | None = None  # None | "llama.cpp" | "llama-cpp-python"
    drop_system: bool = False
    cached_tokens: int = 0
    answer_model: str | None = None
    one_at_a_time: bool = False
    interrupt: bool = False
    rpm_limit: tuple[int, float] | None = None  # (requests, seconds)
    slots: int = 4  # llama.cpp: the ``total_slots`` its ``GET /props`` reports
    prefix_cache: bool = False
    prefill_per_token: float = 0.0  # seconds per prompt token not read from the cache
    response_format: str = "json_schema"  # the most it takes: "json_schema" | "json_object" | "none" (400 past it)
    tokenize_says: int | None = None  # a hostile tokenizer: every count it answers is this (negative, absurd, 0)


FRAME_TOKENS = 4  # the fake chat template's tokens around each message it keeps
TAIL_TOKENS = 3  # and after the last one (the assistant's turn)


def template_text(messages: list[dict[str, Any]], drop_system: bool) -> str:
    """The fake chat template, as ``/apply-template`` shows it."""
    kept = [m for m in messages if not (drop_system and m.get("role") == "system")]
    body = "".join(f"<|{m.get('role', 'user')}|>\n{m.get('content', '')}<|end|>\n" for m in kept)
    return body + "<|assistant|>\n"


def template_tokens(messages: list[dict[str, Any]], drop_system: bool) -> int:
    """The prompt tokens this server reports: BOS + framing + each kept message's content tokens."""
    kept = [m for m in messages if not (drop_system and m.get("role") == "system")]
    return 1 + sum(FRAME_TOKENS + count_tokens(str(m.get("content", ""))) for m in kept) + TAIL_TOKENS


JUDGE_FIELDS = ("score", "winner", "contradiction")


def scripted_answer(prompt: str, directives: dict[str, tuple[str | None, int | None]]) -> str | None:
    """``[[answer=WORD]]``: exactly WORD. A judge's prompt (it asks for ``Answer with JSON only: {"score"``,
    ``{"winner"`` or ``{"contradiction"``): a JSON verdict that depends only on the prompt's length."""
    for field_name in JUDGE_FIELDS:  # a judge's prompt first: it quotes the row's input, directives and all
        if f'Answer with JSON only: {{"{field_name}"' in prompt:
            n = len(prompt)
            value: object = {"score": 1 + n % 5, "winner": "AB"[n % 2], "contradiction": n % 3 == 0}[field_name]
            return json.dumps({field_name: value, "reason": f"scripted verdict for a prompt of {n} characters"})
    if "answer" in directives:
        return str(directives["answer"][0] or "")
    return None


@dataclass
class Stats:
    requests: int = 0
    completed: int = 0  # requests answered in full, with usage
    prompt_tokens: int = 0  # summed over completed requests: exactly what the server reported
    completion_tokens: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    dropped: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    cut: int = 0  # streams cut off by a newer request (``interrupt``)
    processed_prompt_tokens: int = 0  # prompts of streams that ended early after their first token
    processed_completion_tokens: int = 0  # and what they had generated
    http_requests: int = 0  # every HTTP request of any kind (chat, models, anything else)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class FakeOpenAIServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        chunk_delay: float = 0.002,
        default_tokens: int = 24,
        known_models: set[str] | None = None,
        mode: Mode | None = None,
        echo_auth: bool = False,
        answers: list[str] | None = None,
        models_status: int | None = None,
    ):
        self.mode = mode or Mode()
        self.host, self.port = host, port
        self.api_key = api_key
        self.chunk_delay = chunk_delay
        self.default_tokens = default_tokens
        self.known_models = known_models
        self.echo_auth = echo_auth
        self.models_status = models_status  # GET /v1/models answers this error status (None: the list)
        self.answers = list(answers or [])  # scripted answer texts, one per chat request in order, then words
        self._lock = threading.Lock()
        self._stats = Stats()
        self._seen: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._busy: asyncio.Lock | None = None  # one_at_a_time: held by the request being served
        self._waiting = 0  # requests queued behind it
        self._arrivals: list[float] = []  # rpm_limit: arrival times of the requests let through
        self._request: web.Request | None = None  # the one being answered (for echo_auth)
        self.prefixes = PrefixCache()
        self.batches = fake_batch_api.BatchStore(self)

    # --- lifecycle ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._serve, name="fake-openai-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"fake OpenAI server did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _startup(self) -> None:
        count_tokens("load the tokenizer now")  # as a real server loads its model before it listens

        @web.middleware
        async def count(request: web.Request, handler: Any) -> web.StreamResponse:
            with self._lock:
                self._stats.http_requests += 1
            return await handler(request)

        app = web.Application(middlewares=[count])
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self.batches.add_routes(app)
        if self.mode.tokenizer == "llama.cpp":
            app.router.add_post("/tokenize", self._tokenize)
            app.router.add_post("/apply-template", self._apply_template)
            app.router.add_get("/props", self._props)
        elif self.mode.tokenizer == "llama-cpp-python":
            app.router.add_post("/extras/tokenize", self._tokenize)
            app.router.add_post("/extras/tokenize/count", self._tokenize)
        self._busy = asyncio.Lock()
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- stats ------------------------------------------------------------------------------------------
    @property
    def stats(self) -> Stats:
        """A snapshot (safe to read from any thread)."""
        with self._lock:
            s = self._stats
            return Stats(
                s.requests,
                s.completed,
                s.prompt_tokens,
                s.completion_tokens,
                dict(s.statuses),
                s.dropped,
                s.in_flight,
                s.max_in_flight,
                [dict(e) for e in s.log],
                s.cut,
                s.processed_prompt_tokens,
                s.processed_completion_tokens,
                s.http_requests,
            )

    def reset(self) -> None:
        with self._lock:
            self._stats = Stats()
            self._seen.clear()
            self._arrivals.clear()
        self.prefixes.clear()

    def windows(self, seconds: float) -> tuple[int, int]:
        """The most requests, and the most tokens (prompt + completion, of requests answered with usage),
        whose arrivals fall in any window of ``seconds`` (from the request log)."""
        log = sorted((e for e in self.stats.log), key=lambda e: e["start"])
        most_requests = most_tokens = 0
        for i, first in enumerate(log):
            inside = [e for e in log[i:] if e["start"] < first["start"] + seconds]
            most_requests = max(most_requests, len(inside))
            most_tokens = max(most_tokens, sum(e.get("tokens", 0) for e in inside))
        return most_requests, most_tokens

    # --- handlers -----------------------------------------------------------------------------------------
    async def _tokenize(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.mode.tokenize_says is not None and body.get("input", body.get("content")) not in ("", "a"):
            said = self.mode.tokenize_says  # the detection's probes ("" and "a") are answered truly
            tokens_said = list(range(max(0, min(said, 100_000))))
            return web.json_response({"count": said} if request.path.endswith("/count") else {"tokens": tokens_said})
        if self.mode.tokenizer == "llama.cpp":
            text = str(body.get("content", ""))
            if body.get("parse_special") and text.startswith("<|") and text.endswith("<|assistant|>\n"):
                tokens = self._prompt_tokens_of_template(text)
            else:
                tokens = count_tokens(text)
            bos = 1 if body.get("add_special", True) else 0
            return web.json_response({"tokens": list(range(bos + tokens))})
        tokens = 1 + count_tokens(str(body.get("input", "")))  # llama-cpp-python counts its BOS
        if request.path.endswith("/count"):
            return web.json_response({"count": tokens})
        return web.json_response({"tokens": list(range(tokens))})

    def _prompt_tokens_of_template(self, text: str) -> int:
        """The tokens of an applied template (without BOS): the same figure as the usage of the prompt."""
        found = re.findall(r"<\|(\w+)\|>\n(.*?)<\|end\|>\n", text, flags=re.S)
        return sum(FRAME_TOKENS + count_tokens(content) for _, content in found) + TAIL_TOKENS

    async def _props(self, request: web.Request) -> web.Response:
        return web.json_response({"total_slots": self.mode.slots, "endpoint_slots": True})

    async def _apply_template(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"prompt": template_text(list(body.get("messages") or []), self.mode.drop_system)})

    def _over_rpm(self) -> bool:
        """Whether a request arriving now breaks the hidden limit (it is then not counted)."""
        if self.mode.rpm_limit is None:
            return False
        limit, seconds = self.mode.rpm_limit
        now = time.monotonic()
        with self._lock:
            self._arrivals[:] = [t for t in self._arrivals if t > now - seconds]
            if len(self._arrivals) >= limit:
                return True
            self._arrivals.append(now)
        return False

    async def _models(self, request: web.Request) -> web.Response:
        self._request = request
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._reject({}, 401, "Incorrect API key provided.", "invalid_request_error")
        if self.models_status is not None:
            return self._reject({}, self.models_status, "the model list is unavailable", "server_error")
        models = sorted(self.known_models or {"gpt-4o", "gpt-4o-mini"})
        return web.json_response({"object": "list", "data": [{"id": m, "object": "model"} for m in models]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        number = next(self._ids)
        request_id = f"req_{number:06d}"
        entry: dict[str, Any] = {"id": request_id, "start": time.monotonic(), "status": None}
        with self._lock:
            self._stats.requests += 1
            self._stats.in_flight += 1
            self._stats.max_in_flight = max(self._stats.max_in_flight, self._stats.in_flight)
            self._stats.log.append(entry)
        try:
            return await self._answer(request, request_id, entry)
        finally:
            entry["end"] = time.monotonic()
            entry["latency"] = entry["end"] - entry["start"]  # seconds from arrival to the last byte
            with self._lock:
                self._stats.in_flight -= 1
                if entry["status"] is not None:
                    self._stats.statuses[entry["status"]] = self._stats.statuses.get(entry["status"], 0) + 1

    def _reject(
        self,
        entry: dict[str, Any],
        status: int,
        message: str,
        kind: str,
        headers: dict[str, str] | None = None,
        request_id: str = "",
    ) -> web.Response:
        entry["status"] = status
        if self.echo_auth and self._request is not None:
            message += f" (you sent {hostile.echo(self._request)})"
        return web.json_response(
            {"error": {"message": message, "type": kind, "code": None}},
            status=status,
            headers={"x-request-id": request_id, **(headers or {})},
        )

    async def _answer(self, request: web.Request, request_id: str, entry: dict[str, Any]) -> web.StreamResponse:
        self._request = request
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._reject(
                entry, 401, "Incorrect API key provided.", "invalid_request_error", request_id=request_id
            )
        try:
            body = await request.json()
            messages = body["messages"]
            model = entry["model"] = str(body["model"])  # logged: which model each request asked for
        except (ValueError, KeyError, TypeError):
            return self._reject(
                entry,
                400,
                "Request body must be JSON with model and messages.",
                "invalid_request_error",
                request_id=request_id,
            )
        if self.known_models is not None and model not in self.known_models:
            return self._reject(
                entry, 404, f"The model `{model}` does not exist.", "invalid_request_error", request_id=request_id
            )
        if self._over_rpm():
            return self._reject(entry, 429, "Rate limit reached for requests.", "requests", request_id=request_id)
        prompt = str(messages[-1].get("content", "")) if messages else ""
        entry["prompt"] = prompt
        entry["messages"] = messages
        entry["response_format"] = body.get("response_format")
        refused = _refused_format(self.mode.response_format, body.get("response_format"))
        if refused:
            return self._reject(entry, 400, refused, "invalid_request_error", request_id=request_id)
        directives = {
            m.group(1): (m.group(2), int(m.group(3)) if m.group(3) else None) for m in DIRECTIVE.finditer(prompt)
        }
        with self._lock:
            seen = self._seen.get(prompt, 0)
            self._seen[prompt] = seen + 1

        def active(name: str) -> bool:
            if name not in directives:
                return False
            count = directives[name][1]
            return count is None or seen < count

        if "hostile" in directives:
            return await hostile.answer(str(directives["hostile"][0]), self, request, entry, model)
        if active("hang"):
            while request.transport is not None and not request.transport.is_closing():
                await asyncio.sleep(0.01)
            entry["status"] = 499
            return web.Response(status=499)
        if active("fail"):
            status = int(directives["fail"][0] or 500)
            headers = {}
            if "retry_after_ms" in directives:
                headers["retry-after-ms"] = directives["retry_after_ms"][0] or "100"
            if "retry_after" in directives:
                headers["retry-after"] = directives["retry_after"][0] or "1"
            return self._reject(entry, status, f"scripted HTTP {status}", "server_error", headers, request_id)
        delay = float(directives.get("delay", ("0", None))[0] or 0)
        n_words = int(directives.get("tokens", (str(self.default_tokens), None))[0] or self.default_tokens)
        max_tokens = body.get("max_tokens")
        finish = "stop"
        if isinstance(max_tokens, int) and 0 < max_tokens < n_words and not active("ignore_max"):
            n_words, finish = max_tokens, "length"  # each word is one token of the offline tokenizer
        words = [f"{WORDS[(i * 7 + len(prompt)) % len(WORDS)]}" for i in range(n_words)]
        if "echo" in directives:  # answer with the prompt itself (its directives left out)
            words = DIRECTIVE.sub("", prompt).split() or ["empty"]
            n_words = len(words)
        if "say" in directives:  # answer with this one word
            words, n_words = [str(directives["say"][0])], 1
        pieces = [w + (" " if i < n_words - 1 else ".") for i, w in enumerate(words)]
        with self._lock:
            scripted = self.answers.pop(0) if self.answers else None
        if scripted is None:  # [[answer=WORD]] or a judge's verdict
            scripted = scripted_answer(prompt, directives)
            finish = "stop" if scripted is not None else finish
        if isinstance(scripted, CutOff):
            finish = "length"
        if scripted is not None:  # a scripted answer, streamed in pieces of about one word
            pieces = re.findall(r"\S+\s*|\s+", scripted) or [scripted]
        text = "".join(pieces)
        if self.mode.tokenizer is not None:
            prompt_tokens = template_tokens(list(messages), self.mode.drop_system)
        else:
            prompt_tokens = sum(count_tokens(str(m.get("content", ""))) for m in messages)
        completion_tokens = count_tokens(text)
        if "usage" in directives:
            completion_tokens = int(directives["usage"][0] or 0)
        usage: dict[str, Any] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if self.mode.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": min(self.mode.cached_tokens, prompt_tokens)}
        entry.update(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        answer_model = self.mode.answer_model or model
        if "late" in directives:  # reaches the queue late (its connection came after a later-sent one's)
            await asyncio.sleep(float(directives["late"][0] or 0.2))
        if self.mode.one_at_a_time:
            assert self._busy is not None
            self._waiting += 1
            try:
                await self._busy.acquire()
            finally:
                self._waiting -= 1
        try:
            entry["served"] = time.monotonic()
            if delay:
                await asyncio.sleep(delay)
            if self.mode.prefix_cache or self.mode.prefill_per_token:
                await self._prefill(messages, usage, entry)
            if not body.get("stream"):
                self._count(entry, 200, usage)
                return web.json_response(
                    {
                        "id": f"chatcmpl-{request_id}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": answer_model,
                        "usage": usage,
                        "choices": [
                            {"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": text}}
                        ],
                    },
                    headers={"x-request-id": request_id},
                )
            include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and self.mode.stream_usage
            stall = int(directives["stall"][0] or 0) if active("stall") else None
            return await self._stream(
                request, request_id, entry, answer_model, pieces, usage, active("drop"), include_usage, finish, stall
            )
        finally:
            if self.mode.one_at_a_time and self._busy is not None:
                self._busy.release()

    async def _prefill(self, messages: list[dict[str, Any]], usage: dict[str, Any], entry: dict[str, Any]) -> None:
        """Read what the prompt cache holds of this prompt, take the prefill time of the rest, cache it."""
        text = template_text(list(messages), self.mode.drop_system)
        cached = min(self.prefixes.lookup(text), int(usage["prompt_tokens"])) if self.mode.prefix_cache else 0
        if self.mode.prefix_cache:
            usage["prompt_tokens_details"] = {"cached_tokens": cached}
        entry["cached_tokens"] = cached
        if self.mode.prefill_per_token:
            await asyncio.sleep(self.mode.prefill_per_token * (int(usage["prompt_tokens"]) - cached))
        if self.mode.prefix_cache:
            self.prefixes.store(text)

    async def _stream(
        self,
        request: web.Request,
        request_id: str,
        entry: dict[str, Any],
        model: str,
        pieces: list[str],
        usage: dict[str, Any],
        drop: bool,
        include_usage: bool,
        finish: str,
        stall: int | None = None,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "x-request-id": request_id, "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        base = {
            "id": f"chatcmpl-{request_id}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

        async def send(payload: dict[str, Any] | str) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            await response.write(f"data: {data}\n\n".encode())

        await send(
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
        )
        for i, piece in enumerate(pieces):
            if i == stall:  # the model makes no more progress; the connection stays open
                while request.transport is not None and not request.transport.is_closing():
                    await asyncio.sleep(0.01)
                entry["status"] = 499
                return response
            if drop and i == len(pieces) // 2:
                entry["status"] = 200
                self._processed(usage, "".join(pieces[:i]), dropped=True)
                if request.transport is not None:
                    request.transport.abort()
                return response
            await send({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
            if self.mode.interrupt and self._waiting:  # as llama-cpp-python: a newer request cuts this one
                entry["status"] = 200
                self._processed(usage, "".join(pieces[: i + 1]), cut=True)
                await send("[DONE]")
                await response.write_eof()
                return response
        await send({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if include_usage:
            await send({**base, "choices": [], "usage": usage})
        await send("[DONE]")
        await response.write_eof()
        self._count(entry, 200, usage if include_usage else None, served=usage)
        return response

    def _processed(self, usage: dict[str, Any], sent: str, *, dropped: bool = False, cut: bool = False) -> None:
        with self._lock:
            self._stats.dropped += int(dropped)
            self._stats.cut += int(cut)
            self._stats.processed_prompt_tokens += int(usage["prompt_tokens"])
            self._stats.processed_completion_tokens += count_tokens(sent)

    def _count(
        self,
        entry: dict[str, Any],
        status: int,
        usage: dict[str, Any] | None,
        served: dict[str, Any] | None = None,
    ) -> None:
        """A request answered in full; ``usage`` as reported (None: not sent), ``served`` as generated."""
        entry["status"] = status
        counted = usage or served
        if counted is not None:
            entry["tokens"] = int(counted["prompt_tokens"]) + int(counted["completion_tokens"])
        with self._lock:
            self._stats.completed += 1
            if counted is not None:
                self._stats.prompt_tokens += int(counted["prompt_tokens"])
                self._stats.completion_tokens += int(counted["completion_tokens"])


def _refused_format(takes: str, asked: Any) -> str | None:
    """The 400 message of a server that does not take the ``response_format`` asked for, or None."""
    if not isinstance(asked, dict):
        return None
    levels = ("none", "json_object", "json_schema")
    kind = str(asked.get("type", ""))
    if kind in levels and levels.index(kind) > levels.index(takes):
        return f"response_format type '{kind}' is not supported by this server"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A local OpenAI-compatible server for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--chunk-delay", type=float, default=0.002)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeOpenAIServer(args.host, args.port, api_key=args.api_key, chunk_delay=args.chunk_delay) as server:
        print(server.url, flush=True)
        try:
            while not stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
