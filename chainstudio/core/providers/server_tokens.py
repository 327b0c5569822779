"""Ask an OpenAI-compatible server to count tokens with its own tokenizer, for answers that came without
``usage`` (llama-cpp-python's server never sends usage in a stream).

What the servers offer, found by trying them (Gemma 3 270M, November 2026):

* llama.cpp's ``llama-server``: ``POST /tokenize {"content", "add_special", "parse_special"}`` and
  ``POST /apply-template {"messages"}`` (the prompt exactly as the server formats it). A prompt's count
  is the tokens of the applied template, with special tokens: the same number as its ``usage``.
* llama-cpp-python's server: ``POST /extras/tokenize/count {"input"}`` (with the model's BOS token), but
  no way to see the chat template. A short *probe* (a non-streamed request with ``max_tokens`` 1 and tiny
  contents, which returns usage) gives the template's own tokens for a shape of messages (their roles),
  and one more probe per non-user role tells whether the template keeps that role's content at all (the
  ``gemma`` format drops system messages). A prompt's count is then the template's tokens plus those of
  the contents it keeps.
* anything else (OpenAI, vLLM, Ollama, LM Studio send usage in streams anyway): no recount.

The same detection tells how many requests such a server runs at once (``capacity``): llama-cpp-python's
server one (it serialises generations), ``llama-server`` its ``total_slots`` (``GET /props``).

The server is asked only after a run's model calls (see ``core.run.executor``): on a server that runs one
request at a time, a count request would otherwise queue behind a stream, or cut it off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from chainstudio.core.providers.base import ChatRequest

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger(__name__)

Kind = Literal["llama.cpp", "llama-cpp-python", "none"]
PROBE_SHORT = "a"
PROBE_LONG = "a a a a a a a a"


@dataclass(frozen=True)
class Template:
    """A chat template's tokens for one shape of messages: ``overhead`` plus the contents of the messages
    ``kept`` (by position)."""

    overhead: int
    kept: tuple[bool, ...]


def api_root(base_url: str) -> str:
    """The server's root URL: the base URL without its trailing ``/v1``."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


class ServerTokenizer:
    def __init__(self, client: AsyncOpenAI, base_url: str):
        self._client = client
        self.root = api_root(base_url)
        self.kind: Kind | None = None  # found on first use
        self._templates: dict[tuple[str, tuple[str, ...]], Template | None] = {}
        self._empty = 0  # llama-cpp-python: the tokens of an empty text (its BOS)

    async def counts(self, request: ChatRequest, text: str) -> tuple[int, int] | None:
        """(prompt tokens, output tokens) as the server counts them, or None when it cannot tell."""
        try:
            kind = await self._kind()
            if kind == "none":
                return None
            output = await self.count_text(text)
            prompt = await self.count_prompt(request)
        except Exception as exc:  # noqa: BLE001 - a server that cannot count leaves the estimate standing
            log.info("the server at %s could not count tokens: %s", self.root, exc)
            return None
        if prompt is None or output is None:
            return None
        return prompt, output

    async def capacity(self) -> int | None:
        """How many requests the server runs at once, when its kind tells (None: unknown)."""
        kind = await self._kind()
        if kind == "llama-cpp-python":
            return 1
        if kind == "llama.cpp":
            props = await self._client.get(f"{self.root}/props", cast_to=object)
            slots = props.get("total_slots") if isinstance(props, dict) else None
            if isinstance(slots, int) and not isinstance(slots, bool) and slots >= 1:
                return slots
        return None

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return await self._client.post(f"{self.root}{path}", body=body, cast_to=object)

    async def _kind(self) -> Kind:
        if self.kind is None:
            self.kind = await self._detect()
        return self.kind

    async def _detect(self) -> Kind:
        """The server's kind from the endpoints it answers. A server that cannot be reached raises (and is
        asked again next time); one that answers neither endpoint is "none"."""
        import openai

        try:
            found = await self._post("/tokenize", {"content": PROBE_SHORT, "add_special": False})
            if isinstance(found, dict) and isinstance(found.get("tokens"), list):
                return "llama.cpp"
        except openai.APIConnectionError:
            raise
        except openai.APIError:
            pass
        try:
            found = await self._post("/extras/tokenize/count", {"input": ""})
            if isinstance(found, dict) and isinstance(found.get("count"), int):
                self._empty = int(found["count"])
                return "llama-cpp-python"
        except openai.APIConnectionError:
            raise
        except openai.APIError:
            pass
        return "none"

    async def count_text(self, text: str) -> int | None:
        """The tokens of ``text`` alone (no BOS, special-token names not parsed where the server allows)."""
        if not text:
            return 0
        if self.kind == "llama.cpp":
            found = await self._post("/tokenize", {"content": text, "add_special": False, "parse_special": False})
            return len(found["tokens"])
        if self.kind == "llama-cpp-python":
            found = await self._post("/extras/tokenize/count", {"input": text})
            return int(found["count"]) - self._empty
        return None

    async def count_prompt(self, request: ChatRequest) -> int | None:
        messages = [{"role": m.get("role", "user"), "content": m.get("content", "")} for m in request.messages]
        if self.kind == "llama.cpp":
            applied = await self._post("/apply-template", {"messages": messages})
            found = await self._post(
                "/tokenize", {"content": applied["prompt"], "add_special": True, "parse_special": True}
            )
            return len(found["tokens"])
        if self.kind == "llama-cpp-python":
            template = await self._template(request.model, tuple(m["role"] for m in messages))
            if template is None:
                return None
            total = template.overhead
            for keep, message in zip(template.kept, messages, strict=True):
                if keep:
                    count = await self.count_text(message["content"])
                    if count is None:
                        return None
                    total += count
            return total
        return None

    async def _template(self, model: str, roles: tuple[str, ...]) -> Template | None:
        key = (model, roles)
        if key not in self._templates:
            self._templates[key] = await self._probe_template(model, roles)
        return self._templates[key]

    async def _probe_template(self, model: str, roles: tuple[str, ...]) -> Template | None:
        short, long = await self.count_text(PROBE_SHORT), await self.count_text(PROBE_LONG)
        if short is None or long is None or long == short:
            return None
        base = await self._probe(model, roles, None)
        kept = []
        for i, role in enumerate(roles):
            if role == "user":
                kept.append(True)
                continue
            grown = await self._probe(model, roles, i) - base
            if grown == long - short:
                kept.append(True)
            elif grown == 0:
                kept.append(False)
            else:
                return None  # the template does something with the content that adding counts cannot follow
        return Template(base - short * sum(kept), tuple(kept))

    async def _probe(self, model: str, roles: tuple[str, ...], longer: int | None) -> int:
        """The prompt tokens of a request of these roles with tiny contents (message ``longer`` longer)."""
        messages = [
            {"role": role, "content": PROBE_LONG if i == longer else PROBE_SHORT} for i, role in enumerate(roles)
        ]
        answer = await self._client.chat.completions.create(
            model=model,
            messages=cast("list[ChatCompletionMessageParam]", messages),
            max_tokens=1,
            temperature=0.0,
            stream=False,
        )
        if answer.usage is None:
            raise ValueError("the probe's answer carries no usage")
        return int(answer.usage.prompt_tokens)
