"""Servers that send no usage: tokens are counted offline, and from the second such answer on, counted
while the answer streams (prompt and finished paragraphs), with exactly the same result."""

import asyncio
import random
from types import SimpleNamespace

from chainstudio.core.providers.base import ChatRequest
from chainstudio.core.providers.openai_compat import _PARAGRAPH_CUT, OpenAICompatProvider, OpenAISettings, _Counts
from chainstudio.core.tokens import count_tokens

PIECES = [
    "Qubit",
    " lattice",
    "s",
    "\n",
    "\n\n",
    "3",
    "42",
    " \n",
    "é",
    "日本",
    "'s",
    "!",
    ".\n",
    "-",
    "\r\n",
    " ",
    "  ",
    "/",
]


def random_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(n))


def test_text_cut_after_a_newline_before_a_letter_or_digit_counts_as_its_parts():
    rng = random.Random(5)
    cuts = 0
    for _ in range(3000):
        text = random_text(rng, rng.randint(1, 40))
        for match in _PARAGRAPH_CUT.finditer(text):
            cuts += 1
            head, tail = text[: match.end()], text[match.end() :]
            assert count_tokens(head) + count_tokens(tail) == count_tokens(text), (head, tail)
    assert cuts > 1000


def test_counting_while_streaming_gives_the_count_of_the_whole():
    rng = random.Random(9)
    request = ChatRequest("m", ({"role": "user", "content": "prompt"},))

    async def main() -> None:
        for _ in range(300):
            text = random_text(rng, rng.randint(0, 80))
            counts = _Counts(request)
            i = 0
            while i < len(text):  # chunks of random sizes, cutting anywhere (inside "\r\n" too)
                size = rng.randint(1, 6)
                counts.add(text[i : i + size])
                i += size
            await asyncio.sleep(0)  # the callbacks that counted paragraphs ahead run
            assert await counts.output_tokens() == count_tokens(text)

    asyncio.run(main())


class UsagelessClient:
    """An AsyncOpenAI stand-in whose streams never carry usage (like llama-cpp-python's server)."""

    def __init__(self, answer: list[str]):
        self.answer = answer
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    async def create(self, **kwargs):
        return Stream(self.answer)

    async def close(self) -> None:
        return None


class Stream:
    def __init__(self, pieces: list[str]):
        chunks = [SimpleNamespace(id="r1", model="m", usage=None, choices=[choice(p, None)]) for p in pieces]
        chunks.append(SimpleNamespace(id="r1", model="m", usage=None, choices=[choice(None, "stop")]))
        self._chunks = iter(chunks)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return None

    def __aiter__(self):
        return self

    async def __anext__(self):
        await asyncio.sleep(0)
        try:
            return next(self._chunks)
        except StopIteration:
            raise StopAsyncIteration from None


def choice(text, finish):
    return SimpleNamespace(delta=SimpleNamespace(content=text), finish_reason=finish)


def test_a_server_without_usage_is_counted_offline_the_same_way_every_time():
    answer = ["First para", "graph.\n", "Second one, 12", "3 items;\n\n", "third", "."]
    prompt = "Summarise:\nquantum error correction, 2026."
    request = ChatRequest("m", ({"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}))

    async def main():
        provider = OpenAICompatProvider(OpenAISettings(base_url="http://127.0.0.1:9/v1", api_key="k"))
        provider._client = UsagelessClient(answer)
        first = await provider.stream_chat(request, lambda text, t: None)
        assert provider._usage_missing  # from now on it counts while the answer streams
        second = await provider.stream_chat(request, lambda text, t: None)
        return first, second

    first, second = asyncio.run(main())
    expected = (count_tokens("Be brief.") + count_tokens(prompt), count_tokens("".join(answer)))
    assert (first.input_tokens, first.output_tokens) == expected
    assert (second.input_tokens, second.output_tokens) == expected
    assert second.text == "".join(answer)
