"""An asyncio event loop on virtual time, for simulations, benchmarks and timing-exact tests.

``loop.time()`` starts at 0 and jumps straight to the next timer whenever nothing is ready, so a run on a
simulated or scripted provider with minutes of latency finishes in milliseconds while every timestamp is
exact. Real I/O still works (it is polled), but nothing waits for real time: use it only with providers
that do not talk to a network.

    state = run_virtual(Run(graph, RunContext(provider, clock=Clock(monotonic=...))).execute())

Inside the loop, pass ``Clock(monotonic=asyncio.get_running_loop().time)`` to the context and provider.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

T = TypeVar("T")


class _VirtualSelector(selectors.BaseSelector):
    """The loop's selector: polls real I/O, and when nothing is ready moves virtual time to the next timer."""

    def __init__(self, inner: selectors.BaseSelector):
        self._inner = inner
        self._loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = self._inner.select(0)
        if events:
            return events
        if timeout is None:
            return self._inner.select(None)  # nothing scheduled: only I/O can wake us
        if timeout > 0 and self._loop is not None:
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

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        self._virtual_now += seconds


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh virtual-time loop."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro)
