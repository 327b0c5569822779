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
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _VirtualSelector:
    def __init__(self, inner: selectors.BaseSelector, loop: VirtualTimeLoop):
        self._inner = inner
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        events = self._inner.select(0)
        if events:
            return events
        if timeout is None:
            return self._inner.select(None)  # nothing scheduled: only I/O can wake us
        if timeout > 0:
            self._loop.advance(timeout)
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        super().__init__()
        self._virtual_now = 0.0
        self._selector = _VirtualSelector(self._selector, self)  # type: ignore[assignment]

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        self._virtual_now += seconds


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh virtual-time loop."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro)
