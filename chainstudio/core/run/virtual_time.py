"""An asyncio event loop on virtual time, for simulations, benchmarks and timing-exact tests.

``loop.time()`` starts at 0 and jumps straight to the next timer whenever nothing is ready, so a run on a
simulated or scripted provider with minutes of latency finishes in milliseconds while every timestamp is
exact. Real I/O still works (it is polled), but nothing waits for real time: use it only with providers
that do not talk to a network. Work handed to a worker thread (``run_in_executor``, ``asyncio.to_thread``)
takes no virtual time: while any is in progress, time stands still.

    state = run_virtual(Run(graph, RunContext(provider, clock=Clock(monotonic=...))).execute())

Inside the loop, pass ``Clock(monotonic=asyncio.get_running_loop().time)`` to the context and provider.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class _VirtualSelector(selectors.BaseSelector):
    """The loop's selector: polls real I/O, and when nothing is ready moves virtual time to the next timer."""

    def __init__(self, inner: selectors.BaseSelector):
        self._inner = inner
        self._loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = self._inner.select(0)
        if events:
            return events
        if timeout == 0:
            return events  # callbacks are ready
        if timeout is None or (self._loop is not None and self._loop.working):
            return self._inner.select(None)  # nothing scheduled, or a thread at work: only I/O can wake us
        if self._loop is not None:
            self._loop.advance(timeout)
        return events

    def register(self, fileobj: FileDescriptorLike, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: FileDescriptorLike, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def get_key(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Mapping[FileDescriptorLike, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._virtual_now = 0.0
        selector = _VirtualSelector(selectors.DefaultSelector())
        super().__init__(selector)
        selector._loop = self

        self.working = 0  # jobs in worker threads: virtual time stands still until they are done

    def time(self) -> float:
        return self._virtual_now

    def run_in_executor(self, executor: Executor | None, func: Callable[[*Ts], T], *args: *Ts) -> asyncio.Future[T]:
        """Work in a thread takes no virtual time: timers wait for it (a long count or render off the loop
        would otherwise let a step's timeout fire while it computes)."""
        future = super().run_in_executor(executor, func, *args)
        self.working += 1
        future.add_done_callback(self._job_done)
        return future

    def _job_done(self, _future: asyncio.Future[Any]) -> None:
        self.working -= 1

    def advance(self, seconds: float) -> None:
        self._virtual_now += seconds


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh virtual-time loop."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro)
