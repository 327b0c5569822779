"""The OpenAI Batch API on the fake server: ``POST /v1/files`` (multipart, purpose "batch"),
``GET /v1/files/{id}`` and ``/v1/files/{id}/content``, ``POST /v1/batches``, ``GET /v1/batches/{id}`` and
``POST /v1/batches/{id}/cancel``, with OpenAI's objects and status names.

A batch goes ``validating`` → ``in_progress`` → ``finalizing`` → ``completed`` (``step_delay`` seconds at
each status, so a client polls through them). Each line of the input file is sent as a real HTTP request to
the same server's ``/v1/chat/completions`` (its directives, modes and usage apply), ``concurrency`` at a
time, ``request_counts`` counting them as they end. Answers go to the output file, failures (an HTTP error,
a line that is not a valid request) to the error file, one JSON line per request with its ``custom_id``.
An input file that is not JSONL, or names an endpoint other than ``/v1/chat/completions``, fails the batch
(``status: failed`` with ``errors``). ``cancel`` stops sending lines (``cancelling`` → ``cancelled``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from tests.support.fake_openai_server import FakeOpenAIServer

ENDPOINT = "/v1/chat/completions"


@dataclass
class Batch:
    id: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, Any] | None
    status: str = "validating"
    created_at: int = field(default_factory=lambda: int(time.time()))
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    times: dict[str, int] = field(default_factory=dict)  # in_progress_at, finalizing_at, completed_at, ...

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": ENDPOINT,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "errors": None if self.errors is None else {"object": "list", "data": self.errors},
            "request_counts": {"total": self.total, "completed": self.completed, "failed": self.failed},
            "metadata": self.metadata,
            **self.times,
        }


class BatchStore:
    """The files and batches of one fake server."""

    def __init__(self, server: FakeOpenAIServer, *, step_delay: float = 0.05, concurrency: int = 8):
        self.server = server
        self.step_delay = step_delay
        self.concurrency = concurrency
        self.files: dict[str, tuple[str, str, bytes]] = {}  # id -> (filename, purpose, content)
        self.batches: dict[str, Batch] = {}
        self.polls = 0  # GET /v1/batches/{id} answered
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files/{id}", self._file)
        app.router.add_get("/v1/files/{id}/content", self._content)
        app.router.add_post("/v1/batches", self._create)
        app.router.add_get("/v1/batches/{id}", self._retrieve)
        app.router.add_post("/v1/batches/{id}/cancel", self._cancel)

    # --- helpers ------------------------------------------------------------------------------------
    def _denied(self, request: web.Request) -> web.Response | None:
        key = self.server.api_key
        if key is not None and request.headers.get("Authorization") != f"Bearer {key}":
            return _error(401, "Incorrect API key provided.")
        return None

    def _new_file(self, filename: str, purpose: str, content: bytes) -> dict[str, Any]:
        file_id = f"file-{next(self._ids):06d}"
        self.files[file_id] = (filename, purpose, content)
        return _file_object(file_id, filename, purpose, content)

    # --- files --------------------------------------------------------------------------------------
    async def _upload(self, request: web.Request) -> web.Response:
        denied = self._denied(request)
        if denied is not None:
            return denied
        form = await request.post()
        upload, purpose = form.get("file"), str(form.get("purpose", ""))
        if not isinstance(upload, web.FileField) or purpose != "batch":
            return _error(400, "Expected a multipart upload with a file and purpose 'batch'.")
        return web.json_response(self._new_file(upload.filename, purpose, upload.file.read()))

    async def _file(self, request: web.Request) -> web.Response:
        found = self.files.get(request.match_info["id"])
        if found is None:
            return _error(404, "No such File object.")
        return web.json_response(_file_object(request.match_info["id"], *found))

    async def _content(self, request: web.Request) -> web.Response:
        denied = self._denied(request)
        found = self.files.get(request.match_info["id"])
        if denied is not None:
            return denied
        if found is None:
            return _error(404, "No such File object.")
        return web.Response(body=found[2], content_type="application/octet-stream")

    # --- batches ------------------------------------------------------------------------------------
    async def _create(self, request: web.Request) -> web.Response:
        denied = self._denied(request)
        if denied is not None:
            return denied
        body = await request.json()
        file_id = str(body.get("input_file_id", ""))
        if file_id not in self.files:
            return _error(400, f"Invalid input_file_id {file_id!r}.")
        if body.get("endpoint") != ENDPOINT:
            return _error(400, f"Only {ENDPOINT} is supported by this server.")
        batch = Batch(
            f"batch_{next(self._ids):06d}", file_id, str(body.get("completion_window", "")), body.get("metadata")
        )
        self.batches[batch.id] = batch
        task = asyncio.get_running_loop().create_task(self._process(batch, request.headers.get("Authorization")))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response(batch.to_json())

    async def _retrieve(self, request: web.Request) -> web.Response:
        denied = self._denied(request)
        if denied is not None:
            return denied
        batch = self.batches.get(request.match_info["id"])
        if batch is None:
            return _error(404, "No such Batch object.")
        self.polls += 1
        return web.json_response(batch.to_json())

    async def _cancel(self, request: web.Request) -> web.Response:
        batch = self.batches.get(request.match_info["id"])
        if batch is None:
            return _error(404, "No such Batch object.")
        if batch.status in ("validating", "in_progress"):
            batch.status = "cancelling"
            batch.times["cancelling_at"] = int(time.time())
        return web.json_response(batch.to_json())

    async def _process(self, batch: Batch, auth: str | None) -> None:
        await asyncio.sleep(self.step_delay)
        lines = self.files[batch.input_file_id][2].decode("utf-8", "replace").splitlines()
        requests: list[dict[str, Any]] = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str):
                    raise ValueError("each line needs a custom_id")
            except ValueError as exc:
                batch.status, batch.errors = (
                    "failed",
                    [{"code": "invalid_json_line", "message": str(exc), "line": number}],
                )
                batch.times["failed_at"] = int(time.time())
                return
            requests.append(item)
        if batch.status == "cancelling":
            batch.status = "cancelled"
            return
        batch.total, batch.status = len(requests), "in_progress"
        batch.times["in_progress_at"] = int(time.time())
        results: list[tuple[dict[str, Any], int, Any]] = []
        gate = asyncio.Semaphore(self.concurrency)
        headers = {"Authorization": auth} if auth else {}
        async with aiohttp.ClientSession(headers=headers) as session:

            async def one(item: dict[str, Any]) -> None:
                async with gate:
                    if batch.status == "cancelling":
                        return
                    status, body = await self._send(session, item)
                    results.append((item, status, body))
                    if status == 200:
                        batch.completed += 1
                    else:
                        batch.failed += 1

            await asyncio.gather(*(one(item) for item in requests))
        await asyncio.sleep(self.step_delay)
        if batch.status == "cancelling":
            batch.status = "cancelled"
            batch.times["cancelled_at"] = int(time.time())
        else:
            batch.status = "finalizing"
            batch.times["finalizing_at"] = int(time.time())
            await asyncio.sleep(self.step_delay)
        self._write_files(batch, results)
        if batch.status == "finalizing":
            batch.status = "completed"
            batch.times["completed_at"] = int(time.time())

    async def _send(self, session: aiohttp.ClientSession, item: dict[str, Any]) -> tuple[int, Any]:
        if (
            item.get("url") != ENDPOINT
            or item.get("method", "POST") != "POST"
            or not isinstance(item.get("body"), dict)
        ):
            return 400, {"error": {"message": f"url must be {ENDPOINT}, method POST, with a body", "code": None}}
        body = {**item["body"], "stream": False}
        async with session.post(f"{self.server.url}/chat/completions", json=body) as response:
            return response.status, await response.json(content_type=None)

    def _write_files(self, batch: Batch, results: list[tuple[dict[str, Any], int, Any]]) -> None:
        output, errors = [], []
        for number, (item, status, body) in enumerate(results, 1):
            line = {"id": f"batch_req_{batch.id}_{number}", "custom_id": item["custom_id"]}
            response = {"status_code": status, "request_id": f"req_{batch.id}_{number}", "body": body}
            if status == 200:
                output.append({**line, "response": response, "error": None})
            else:
                message = str(((body or {}).get("error") or {}).get("message", f"HTTP {status}"))
                errors.append({**line, "response": response, "error": {"code": str(status), "message": message}})
        if output:
            batch.output_file_id = self._new_file(f"{batch.id}_output.jsonl", "batch_output", _jsonl(output))["id"]
        if errors:
            batch.error_file_id = self._new_file(f"{batch.id}_error.jsonl", "batch_output", _jsonl(errors))["id"]


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def _file_object(file_id: str, filename: str, purpose: str, content: bytes) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": len(content),
        "created_at": int(time.time()),
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "invalid_request_error", "code": None}}, status=status
    )
