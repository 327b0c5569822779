"""The OpenAI Batch API: submit many chat requests at once, for half the price, answered within 24 h.

``BatchClient.run(requests)`` writes the requests as JSONL (one ``{"custom_id", "method", "url", "body"}``
line each), uploads it (``POST /v1/files``, purpose ``batch``), creates the batch (``POST /v1/batches`` on
``/v1/chat/completions``, window ``24h``), polls it (``GET /v1/batches/{id}``) every ``poll_seconds``,
telling ``on_progress`` its status and request counts, then downloads the output and error files and
returns one ``BatchAnswer`` per request, in the order given, with the server's usage (prompt, completion
and cached tokens) or the error. A batch that fails, expires or is cancelled raises ``ProviderError`` with
the server's reason; requests it never answered come back as errors. ``cancel`` asks the server to stop.

It uses the official ``openai`` client (built like the chat provider's, ``max_retries=0`` off: here the
client's own retries are on, as nothing else retries a file upload or a poll). All server text goes
through ``text_safety.scrub`` (the key never shows).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from chainstudio.core.providers.base import ChatRequest, ProviderError
from chainstudio.core.providers.openai_compat import OpenAISettings
from chainstudio.core.text_safety import redact_url, register_secret, register_url_secrets, scrub

if TYPE_CHECKING:
    from openai import AsyncOpenAI

ENDPOINT: Final = "/v1/chat/completions"
WINDOW: Final = "24h"
DONE = frozenset({"completed", "failed", "expired", "cancelled"})
MAX_LINE_BYTES = 1_000_000  # a downloaded line longer than this is refused, not parsed


@dataclass(frozen=True)
class BatchAnswer:
    """One request's result: ``text`` and the server's usage, or ``error`` (then ``text`` is '')."""

    custom_id: str
    text: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    model: str = ""
    request_id: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class BatchProgress:
    batch_id: str
    status: str  # validating, in_progress, finalizing, completed, failed, expired, cancelling, cancelled
    completed: int
    failed: int
    total: int
    elapsed: float  # seconds since the batch was submitted

    def text(self) -> str:
        counts = f"{self.completed + self.failed}/{self.total}" if self.total else "-"
        failed = f", {self.failed} failed" if self.failed else ""
        return f"batch {self.batch_id}: {self.status} ({counts} requests{failed}, {self.elapsed:.0f} s)"


Progress = Callable[[BatchProgress], None]


def request_line(custom_id: str, request: ChatRequest) -> dict[str, Any]:
    """The Batch API's JSONL line for one chat request."""
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": ENDPOINT,
        "body": {
            "model": request.model,
            "messages": [dict(m) for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        },
    }


class BatchClient:
    def __init__(
        self,
        settings: OpenAISettings | None = None,
        *,
        client: AsyncOpenAI | None = None,
        env: Mapping[str, str] | None = None,
        poll_seconds: float = 10.0,
    ):
        self.settings = settings or OpenAISettings()
        self.base_url = self.settings.resolved_base_url(env)
        api_key = self.settings.resolved_api_key(env)
        register_secret(api_key)
        register_url_secrets(self.base_url)
        self.shown_url = redact_url(self.base_url)
        self.poll_seconds = poll_seconds
        if client is None:
            import openai

            client = openai.AsyncOpenAI(
                api_key=api_key or "not-needed", base_url=self.base_url, organization=self.settings.organization
            )
        self._client = client

    async def run(
        self, requests: Sequence[tuple[str, ChatRequest]], on_progress: Progress | None = None
    ) -> list[BatchAnswer]:
        """Submit ``(custom_id, request)`` pairs as one batch, wait for it, and return their answers in order."""
        ids = [custom_id for custom_id, _ in requests]
        if len(set(ids)) != len(ids):
            raise ProviderError("every request of a batch needs its own custom_id", retryable=False)
        if not requests:
            return []
        batch_id = await self.submit(requests)
        batch = await self.wait(batch_id, on_progress)
        answers = await self.answers(batch)
        missing = "the batch ended ({}) without answering this request".format(_field(batch, "status"))
        return [answers.get(custom_id) or BatchAnswer(custom_id, error=missing) for custom_id in ids]

    async def submit(self, requests: Sequence[tuple[str, ChatRequest]]) -> str:
        """Upload the requests and create the batch; its id."""
        content = "".join(json.dumps(request_line(i, r), ensure_ascii=False) + "\n" for i, r in requests)
        uploaded = await self._call(
            "upload the batch file",
            self._client.files.create(file=("chainstudio-batch.jsonl", content.encode("utf-8")), purpose="batch"),
        )
        batch = await self._call(
            "create the batch",
            self._client.batches.create(
                input_file_id=uploaded.id,
                endpoint=ENDPOINT,
                completion_window=WINDOW,
                metadata={"created_by": "chainstudio"},
            ),
        )
        return str(batch.id)

    async def wait(self, batch_id: str, on_progress: Progress | None = None) -> Any:
        """Poll the batch until it ends; the final batch object. Raises for a batch that failed or expired
        with nothing answered."""
        started = time.monotonic()
        while True:
            batch = await self._call("poll the batch", self._client.batches.retrieve(batch_id))
            status = str(_field(batch, "status"))
            counts = _field(batch, "request_counts")
            if on_progress is not None:
                on_progress(
                    BatchProgress(
                        batch_id,
                        status,
                        int(_field(counts, "completed") or 0),
                        int(_field(counts, "failed") or 0),
                        int(_field(counts, "total") or 0),
                        time.monotonic() - started,
                    )
                )
            if status in DONE:
                break
            await asyncio.sleep(self.poll_seconds)
        if status == "failed" or (status in DONE - {"completed"} and not _field(batch, "output_file_id")):
            raise ProviderError(scrub(f"batch {batch_id} {status}: {_errors_text(batch)}"), retryable=False)
        return batch

    async def cancel(self, batch_id: str) -> None:
        await self._call("cancel the batch", self._client.batches.cancel(batch_id))

    async def answers(self, batch: Any) -> dict[str, BatchAnswer]:
        """The answers in the batch's output and error files, by custom_id."""
        found: dict[str, BatchAnswer] = {}
        for file_id in (_field(batch, "error_file_id"), _field(batch, "output_file_id")):  # answers win
            if not file_id:
                continue
            content = await self._call("download the batch results", self._client.files.content(str(file_id)))
            for line in content.text.splitlines():
                if line.strip() and len(line) <= MAX_LINE_BYTES:
                    answer = parse_line(line)
                    if answer is not None:
                        found[answer.custom_id] = answer
        return found

    async def _call(self, what: str, call: Any) -> Any:
        import openai

        try:
            return await call
        except openai.APIStatusError as exc:
            message = _first_line(str(getattr(exc, "message", exc)))
            raise ProviderError(
                scrub(f"cannot {what} at {self.shown_url}: HTTP {exc.status_code}: {message}"),
                kind="http",
                status=int(exc.status_code),
                retryable=False,
            ) from None
        except openai.APIConnectionError:
            raise ProviderError(f"cannot {what}: {self.shown_url} is unreachable", kind="connection") from None
        except openai.APIError as exc:
            raise ProviderError(scrub(f"cannot {what}: {_first_line(str(exc))}"), retryable=False) from None

    async def aclose(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> BatchClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def parse_line(line: str) -> BatchAnswer | None:
    """One line of an output or error file; None for a line that is not one (no custom_id)."""
    try:
        item = json.loads(line)
    except ValueError:
        return None
    if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str):
        return None
    custom_id = item["custom_id"]
    response = _object(item.get("response"))
    body = _object(response.get("body"))
    status = response.get("status_code")
    if item.get("error") or status != 200:
        error = _object(item.get("error")) or _object(body.get("error"))
        return BatchAnswer(custom_id, error=scrub(_first_line(str(error.get("message") or f"HTTP {status}"))))
    usage = _object(body.get("usage"))
    details = _object(usage.get("prompt_tokens_details"))
    choices = body.get("choices") if isinstance(body.get("choices"), list) else []
    message = _object(choices[0]).get("message") if choices else None
    text = _object(message).get("content")
    return BatchAnswer(
        custom_id,
        text=scrub(str(text or "")),
        input_tokens=_count(usage.get("prompt_tokens")),
        output_tokens=_count(usage.get("completion_tokens")),
        cached_tokens=_count(details.get("cached_tokens")),
        model=scrub(str(body.get("model") or ""))[:200],
        request_id=scrub(str(response.get("request_id") or ""))[:200] or None,
    )


def _object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 100_000_000 else 0


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _errors_text(batch: Any) -> str:
    errors = _field(batch, "errors")
    data = _field(errors, "data") if errors is not None else None
    messages = [str(_field(e, "message") or "") for e in (data or [])]
    return "; ".join(m for m in messages if m)[:500] or "the server gave no reason"


def _first_line(text: str, limit: int = 300) -> str:
    lines = text.strip().splitlines()
    return lines[0][:limit] if lines else ""
