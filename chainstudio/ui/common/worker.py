"""CPU-bound core calls (estimate, advise) off the UI thread, awaited from the qasync loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def run_in_worker(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` on the running loop's default executor (a worker thread). Pass copies of
    anything the UI may change meanwhile (e.g. ``graph.copy()``)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(func, *args, **kwargs))
