"""A step's timeout measures the model's progress, not the time its request spent queued at the server.

``ServerLoad`` keeps a run's requests in flight at its server, oldest first. With a known ``capacity``
(the server runs that many requests at once, e.g. 1 for llama-cpp-python's server), a request is
*accepted* when it is being served (its answer began) or when it is among the oldest of those waiting
that fit in the capacity left by the ones being served; with no known capacity, at once. Servers need not
take their queue in order (llama-cpp-python's does not): when a younger request's answer begins, an older
one thought accepted is not being served after all, and its timer stops until it is accepted again.
When the server was seen to cut a stream off because another request arrived (``exclusive``), the run's
requests go one at a time from then on (``turn``).

``Watchdog`` is one attempt's timeout: armed when its request is accepted, re-armed by every chunk of
the answer, it fails the attempt when the first token takes longer than the timeout after acceptance, or
when the answer stalls (no chunk) for that long, or when it goes on for that long after passing
``max_tokens`` (a server that does not stop: an endless stream must not run forever). It costs a few
numbers per chunk and one timer per attempt.
A check that runs late because the event loop was held (this process busy, e.g. loading the tokenizer on
a first run) does not fail the attempt: the answer may be waiting in the socket, so the check is put off by
as long as it was late, and fails only if no progress shows by then. Time a request waits in a queue of the
provider's own (``queued``: the simulated provider generates one answer at a time, on this process's CPU, so
9,997 calls started at once wait seconds for their turn) is not the model's either: the timer stops then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from chainstudio.core.clock import Clock
from chainstudio.core.providers.base import when_queued

LOOP_LAG = 0.05  # real seconds a check may run late before the lateness is put down to the loop, not the model


class Ticket:
    __slots__ = ("accepted", "on_accepted", "on_released", "served")

    def __init__(self, on_accepted: Callable[[], None], on_released: Callable[[], None] | None = None):
        self.accepted = False
        self.served = False  # its answer began: the server is certainly taking it
        self.on_accepted = on_accepted
        self.on_released = on_released


class ServerLoad:
    """Each change costs a few steps, not one per request in flight: with no known capacity a request is
    accepted as it enters, and with one the scan stops past the room and the last accepted request (a
    9,997-step fan-out rescanned every request at each one's start and end: 7 s of the loop at once)."""

    def __init__(self, capacity: int | None = None):
        self.capacity = capacity  # requests the server runs at once (None: unknown, treated as unlimited)
        self.exclusive = False  # the server cuts a running stream when another request arrives
        self._in_flight: dict[Ticket, None] = {}  # oldest first
        self._served = 0  # tickets in flight whose answer began
        self._waiting_accepted = 0  # tickets in flight accepted, their answer not begun
        self._idle: asyncio.Future[None] | None = None

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def enter(self, on_accepted: Callable[[], None], on_released: Callable[[], None] | None = None) -> Ticket:
        """A request is sent; ``on_accepted`` is called once the server is taking it (maybe at once), and
        ``on_released`` if it turns out the server is serving others instead (then maybe accepted again)."""
        ticket = Ticket(on_accepted, on_released)
        self._in_flight[ticket] = None
        if self._capacity() is None:  # every request is taken at once
            self._take(ticket)
        else:
            self._accept()
        return ticket

    def serving(self, ticket: Ticket) -> None:
        """The answer to ``ticket``'s request began."""
        if not ticket.served:
            ticket.served = True
            if ticket in self._in_flight:
                self._served += 1
                if ticket.accepted:
                    self._waiting_accepted -= 1
            self._accept()

    def leave(self, ticket: Ticket) -> None:
        if ticket in self._in_flight:
            del self._in_flight[ticket]
            if ticket.served:
                self._served -= 1
            elif ticket.accepted:
                self._waiting_accepted -= 1
        self._accept()
        if not self._in_flight and self._idle is not None and not self._idle.done():
            self._idle.set_result(None)

    def _capacity(self) -> int | None:
        return 1 if self.exclusive else self.capacity

    def _take(self, ticket: Ticket) -> None:
        ticket.accepted = True
        self._waiting_accepted += 1
        ticket.on_accepted()

    def _accept(self) -> None:
        """The oldest waiting requests that fit in the room the served ones leave are accepted, the others not."""
        capacity = self._capacity()
        if capacity is None:
            return  # each was accepted as it entered
        room = max(0, capacity - self._served)
        beyond = self._waiting_accepted  # accepted tickets not met yet in this scan
        i = 0
        for ticket in self._in_flight:
            if ticket.served:
                continue
            if i < room:
                if ticket.accepted:
                    beyond -= 1
                else:
                    self._take(ticket)
            elif ticket.accepted:
                beyond -= 1
                ticket.accepted = False
                self._waiting_accepted -= 1
                if ticket.on_released is not None:
                    ticket.on_released()
            elif beyond <= 0:
                break  # past the room, and no accepted ticket further on
            i += 1

    def must_wait(self) -> bool:
        """In exclusive mode, whether a new request has to wait for the server to be free."""
        return self.exclusive and bool(self._in_flight)

    async def turn(self) -> None:
        """Wait until no request of this run is in flight (used in exclusive mode)."""
        while self._in_flight:
            if self._idle is None or self._idle.done():
                self._idle = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._idle)


class Watchdog:
    """Cancels ``task`` when no progress was made for ``seconds`` (on ``clock``) since it was armed or
    since the last ``progress()``; ``fired`` says it did. Disarmed until ``arm()``."""

    def __init__(
        self,
        clock: Clock,
        seconds: float | None,
        task: asyncio.Task[Any] | None = None,
        max_chunks: int | None = None,
    ):
        self.clock = clock
        self.seconds = seconds
        # more chunks than this (``max_tokens``: a chunk carries at least one token) is a server that does not
        # stop at the limit: from then on the answer has ``seconds`` more to end, progress or not
        self.max_chunks = max_chunks
        self._chunks = 0
        self._overrun_at: float | None = None
        self.fired = False
        self.first_token = False  # a chunk arrived: the timeout now measures stalls
        self.on_first: Callable[[], None] | None = None  # called at the first chunk
        self._task = task or asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        self._last = 0.0
        self._scheduled = 0.0  # loop time the pending check is due
        self._handle: asyncio.TimerHandle | None = None
        self._closed = False
        self._accepted = False  # the server is thought to take the request (``arm``)
        self._queued = False  # the provider holds the request in a queue of its own (``queued``)
        when_queued(self.queued)  # the provider says so in this task (``request_queued``), until ``close``

    def arm(self) -> None:
        self._accepted = True
        if self.seconds is None or self._closed or self._handle is not None or self._queued:
            return
        self._last = self._loop.time()
        self._schedule(self._last + self.clock.real(self.seconds))

    def _schedule(self, at: float) -> None:
        self._scheduled = at
        self._handle = self._loop.call_at(at, self._check)

    def queued(self, waiting: bool) -> None:
        """The provider holds the request in a queue of its own (True: the timer stops) or has taken it up
        (False: the timer starts again, if the server is thought to take it)."""
        self._queued = waiting
        if waiting:
            self._stop()
        elif self._accepted:
            self.arm()

    def disarm(self) -> None:
        """Stop timing until ``arm()`` (the request is queued at the server after all)."""
        self._accepted = False
        self._stop()

    def _stop(self) -> None:
        if self._handle is not None and not self.first_token:
            self._handle.cancel()
            self._handle = None

    def progress(self) -> None:
        if not self.first_token and self.on_first is not None:
            self.on_first()
        self.first_token = True
        self._queued = False
        self._last = self._loop.time()
        self._chunks += 1
        if self._overrun_at is None and self.max_chunks is not None and self._chunks > self.max_chunks:
            self._overrun_at = self._last
        if self._handle is None and not self.fired:
            self.arm()  # the server answered before it was thought to take the request

    def _check(self) -> None:
        self._handle = None
        if self._closed or self.seconds is None:
            return
        now = self._loop.time()
        late = now - self._scheduled
        if late > LOOP_LAG:  # the loop was held: let what arrived meanwhile be read first
            self._schedule(now + late)
            return
        due = self._last + self.clock.real(self.seconds)
        if self._overrun_at is not None:
            due = min(due, self._overrun_at + self.clock.real(self.seconds))
        if now + 1e-9 >= due:
            self.fired = True
            if self._task is not None:
                self._task.cancel()
            return
        self._schedule(due)

    def close(self) -> None:
        self._closed = True
        self.on_first = None  # (it holds the load's ticket, which holds ``arm``: a cycle per request otherwise)
        when_queued(None)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def message(self) -> str:
        if self._overrun_at is not None:
            limit = self.max_chunks
            return f"the answer went on past max_tokens ({limit}) for {self.seconds:g} s: the server does not stop"
        if self.first_token:
            return f"the answer stalled: no new text for {self.seconds:g} s"
        return f"no first token within {self.seconds:g} s of the server taking the request"
