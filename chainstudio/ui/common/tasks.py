"""Background work owned by one UI feature: the latest task wins, the one before is cancelled.

``LatestTask`` keeps at most one asyncio task of the running (qasync) loop for its owner: ``start`` cancels
the task still running, if any, and starts the new one; ``cancel`` stops it; ``running`` says whether one
is going on. The coroutine is made inside the task, so a task cancelled before it began leaves no
coroutine behind.

``on_cancelled`` is called when the task ends by cancellation, inside the task, before it is done: whoever
sees ``task.done()`` has already seen the callback. A task cancelled (through ``cancel`` or ``start``)
before its first step still runs that step, only to report the cancellation and stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class LatestTask:
    def __init__(self, *, name: str | None = None, on_cancelled: Callable[[], object] | None = None) -> None:
        self.name = name
        self.on_cancelled = on_cancelled
        self.task: asyncio.Task[Any] | None = None
        self._begun: set[asyncio.Task[Any]] = set()  # tasks whose body has started
        self._cancel_on_entry: set[asyncio.Task[Any]] = set()  # cancelled before their body started

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self, make: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
        """Cancel the running task (if any) and run ``make()`` as the new one. Call inside the running loop."""
        self.cancel()
        task: asyncio.Task[T] = asyncio.get_running_loop().create_task(self._body(make), name=self.name)
        self.task = task
        return task

    def cancel(self) -> bool:
        """Cancel the running task; False when there is none."""
        task = self.task
        if task is None or task.done():
            return False
        if task in self._begun:
            task.cancel()
        else:  # not started yet: it stops on entry, so the cancellation is reported like any other
            self._cancel_on_entry.add(task)
        return True

    async def _body(self, make: Callable[[], Awaitable[T]]) -> T:
        task = asyncio.current_task()
        assert task is not None
        self._begun.add(task)
        try:
            if task in self._cancel_on_entry:
                raise asyncio.CancelledError
            return await make()
        except asyncio.CancelledError:
            if self.on_cancelled is not None:
                self.on_cancelled()
            raise
        finally:
            self._begun.discard(task)
            self._cancel_on_entry.discard(task)


def loop_running() -> bool:
    """Background work needs the app's asyncio (qasync) loop; without one (a bare widget test) skip it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
