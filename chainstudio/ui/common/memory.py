"""Giving freed memory back to the system after a big piece of work, where the C library allows it.

glibc keeps memory freed by C code (Qt's items, Python's larger objects) for reuse instead of returning it,
notably in the arenas of worker threads: after the 10,000-step graph's cards and edges are made and its
estimate (a simulated run on a worker thread) ends, 25-35 MB of the window's resident memory was free but
kept. ``malloc_trim(0)`` returns it (a few milliseconds). Elsewhere (macOS, Windows, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _trim() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def give_back() -> None:
    """Return the memory the C library keeps free to the system (glibc), else nothing."""
    trim = _trim()
    if trim is not None:
        trim(0)
