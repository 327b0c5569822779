"""The fake server's prompt cache (``Mode(prefix_cache=True)``), as llama-server's and OpenAI's work.

A prompt is cached once its prefill is done (its first token is out); a later prompt that begins with the
same text reads that part from the cache: ``usage.prompt_tokens_details.cached_tokens`` reports its tokens,
and with ``Mode.prefill_per_token`` only the uncached tokens take prefill time. Prompts that arrive while
the first one is still in prefill find nothing cached (why warming the prefix first pays).
"""

from __future__ import annotations

import os
import threading

from chainstudio.core.tokens import count_tokens


class PrefixCache:
    def __init__(self, min_tokens: int = 0):
        self.min_tokens = min_tokens  # a shared prefix shorter than this is not served from the cache
        self._texts: list[str] = []
        self._lock = threading.Lock()

    def lookup(self, text: str) -> int:
        """The tokens at the start of ``text`` already in the cache."""
        with self._lock:
            longest = max((len(os.path.commonprefix([text, seen])) for seen in self._texts), default=0)
        if not longest:
            return 0
        cut = text[:longest]
        if longest < len(text):  # a prefix ending mid-word: only whole tokens are reused
            cut = cut[: cut.rfind(" ") + 1] if " " in cut else ""
        tokens = count_tokens(cut)
        return tokens if tokens >= self.min_tokens else 0

    def store(self, text: str) -> None:
        with self._lock:
            if text not in self._texts:
                self._texts.append(text)

    def clear(self) -> None:
        with self._lock:
            self._texts.clear()
