"""CPU-bound core calls (estimate, advise) off the UI thread, awaited from the qasync loop — and kept out of
a live run's way.

A worker thread shares the interpreter with the UI: while it computes, the UI thread waits for the GIL at
every Qt call (and, on a busy machine, for as long as the OS keeps the worker off the CPU while it holds the
GIL). Measured on a 300-step graph: pressing Run while the estimate computed took 300-700 ms instead of
~60 ms. So background work is cooperative: ``run_in_worker`` gives the function a ``checkpoint`` it calls
between steps (the estimate calls it before each simulated model call). ``pause_background()`` (a live run
starts) makes every checkpoint wait until ``resume_background()`` (the run ended); a task cancelled by its
owner stops at its next checkpoint instead of running to the end for nothing.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from chainstudio.core.providers.base import ProviderError

T = TypeVar("T")
MAX_PAUSE_S = 120.0  # a checkpoint never waits longer than this (a run left paused cannot hang a worker)
PAUSE_POLL_S = 0.05  # a paused checkpoint looks this often whether its task was cancelled (e.g. on quit)

_quiet = threading.Event()  # set: background work may go on; clear: a live run wants the interpreter
_quiet.set()


class WorkerStopped(ProviderError):
    """Raised at a checkpoint of work whose awaiting task was cancelled: in an estimate's simulated call it
    fails that call for good (not retried, no traceback), so the discarded simulation ends at once."""

    def __init__(self) -> None:
        super().__init__("stopped: the estimate is no longer wanted", retryable=False)


def pause_background() -> None:
    """A live run starts: background work waits at its next checkpoint."""
    _quiet.clear()


def resume_background() -> None:
    """The live run ended: background work goes on."""
    _quiet.set()


def background_paused() -> bool:
    return not _quiet.is_set()


async def run_in_thread(func: Callable[..., T], /, *args: Any) -> T:
    """``func(*args)`` on a thread of its own (not the shared executor, whose workers may be waiting at a
    checkpoint while a run is live), awaited from the running loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def fail(error: BaseException) -> None:
        if not future.cancelled():
            future.set_exception(error)

    def succeed(result: T) -> None:
        if not future.cancelled():
            future.set_result(result)

    def target() -> None:
        try:
            result = func(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            loop.call_soon_threadsafe(fail, exc)
        else:
            loop.call_soon_threadsafe(succeed, result)

    threading.Thread(target=target, name=f"chainstudio-{getattr(func, '__name__', 'work')}", daemon=True).start()
    return await future


async def run_in_worker(func: Callable[..., T], /, *args: Any, checkpointed: bool = False, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` on the running loop's default executor (a worker thread). Pass copies of
    anything the UI may change meanwhile (e.g. ``graph.copy()``). ``checkpointed``: ``func`` takes a
    ``checkpoint`` keyword and calls it between steps (pauses while a run is live; stops a cancelled task)."""
    loop = asyncio.get_running_loop()
    stopped = threading.Event()
    if checkpointed:

        def checkpoint() -> None:
            waited = 0.0  # while paused, a cancellation stops the thread at once (not when the run ends)
            while not stopped.is_set() and waited < MAX_PAUSE_S and not _quiet.wait(PAUSE_POLL_S):
                waited += PAUSE_POLL_S
            if stopped.is_set():
                raise WorkerStopped

        kwargs["checkpoint"] = checkpoint
    try:
        return await loop.run_in_executor(None, functools.partial(func, *args, **kwargs))
    except asyncio.CancelledError:
        stopped.set()  # the thread stops at its next checkpoint
        raise
