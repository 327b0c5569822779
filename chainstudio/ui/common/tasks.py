"""Background work owned by one UI feature: the latest task wins, the one before is cancelled.

``LatestTask`` keeps at most one asyncio task of the running (qasync) loop for its owner: ``start`` cancels
the task still running, if any, and starts the new one; ``cancel`` stops it; ``running`` says whether one
is going on. The coroutine is made inside the task, so a task cancelled before it began leaves no
coroutine behind.

``on_cancelled`` is called when the task is cancelled through ``cancel`` or ``start``, before it is done:
whoever sees ``task.done()`` has already seen the callback (inside the task when it had begun; in
``cancel`` when it had not, in which case its body never runs).
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

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self, make: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
        """Cancel the running task (if any) and run ``make()`` as the new one. Call inside the running loop."""
        self.cancel()
        holder: list[asyncio.Task[T]] = []
        task: asyncio.Task[T] = asyncio.get_running_loop().create_task(self._body(make, holder), name=self.name)
        holder.append(task)
        self.task = task
        return task

    def cancel(self) -> bool:
        """Cancel the running task; False when there is none. A task that has not begun never will (its body
        is not run, so nothing of it needs the loop any more: safe while the app shuts down); its
        cancellation is reported here, before it is done."""
        task = self.task
        if task is None or task.done():
            return False
        begun = task in self._begun
        task.cancel()
        if not begun and self.on_cancelled is not None:
            self.on_cancelled()
        return True

    async def _body(self, make: Callable[[], Awaitable[T]], holder: list[asyncio.Task[T]]) -> T:
        task = holder[0]  # not asyncio.current_task(): that needs a running loop, this does not
        self._begun.add(task)
        try:
            return await make()
        except asyncio.CancelledError:
            if self.on_cancelled is not None:
                self.on_cancelled()
            raise
        finally:
            self._begun.discard(task)


def loop_running() -> bool:
    """Background work needs the app's asyncio (qasync) loop; without one (a bare widget test) skip it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
