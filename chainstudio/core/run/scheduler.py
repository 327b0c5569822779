"""The scheduler: which step goes next. It knows the plan, the strategy, the priority and the slots; it
knows nothing of providers, templates or events, and asks its ``SchedulerHost`` to do each step's work.

Strategies
  * ``eager`` (default): a step is released the moment its last dependency completes.
  * ``layered``: a barrier per topological generation; a layer is released when the previous one is done.
  * ``sequential``: one step at a time, in topological order (one slot).

Released steps are handed to the host in plan order (depth first through steps that complete at once).
A step whose upstream did not succeed is skipped with the reason instead. A step the host says needs a
model call waits for one of ``cap`` slots (None: no cap); when slots are scarce the waiting step with the
longest estimated remaining path starts first (``priority="critical_path"``) or the one queued first
(``"fifo"``). A step keeps its slot until ``finish_call``.

Routes: before a route step completes, ``choose`` names the successors it did not take. Those are *not
taken* (``host.not_taken``), as is a step all of whose predecessors were not taken; not taken is no
failure, so a join below a route waits only for the branches taken. A running step may ask for more
slots for parts of its work (a map's items: ``request_slot``, given back with ``release_slot``); they
wait in the same queue, at the step's priority.

Given a way to come back later (``defer``, e.g. the event loop's ``call_soon``), admitting and starting
stops after ``slice_seconds`` of the thread's CPU time (a pause of the process does not cut a slice short)
or ``PUMP_STARTS`` starts, and goes on in a later turn (what is released meanwhile waits for that turn): a
step that releases 9,997 others at once (a fan-out at the file format's limits) would otherwise hold the
run's loop for seconds.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from chainstudio.core.run.context import Priority, Strategy
from chainstudio.core.run.status import StepStatus
from chainstudio.core.run.topology import Plan

PUMP_SLICE = 0.02  # CPU seconds of admitting and starting steps in one go, when the scheduler can come back later
PUMP_STARTS = 64  # steps started in one go: each start's first work (its request) runs in the loop's next turn


class SchedulerHost(Protocol):
    """What the scheduler asks of the run."""

    def admit(self, step: str) -> StepStatus | None:
        """The step's turn has come: begin it. A step that completes at once returns its final status
        (the scheduler then completes it); a step that needs a model call returns None and waits for a slot."""
        ...

    def skip(self, step: str, reason: str) -> None:
        """The step will not run (an upstream step did not succeed); the scheduler completes it as skipped."""
        ...

    def start(self, step: str) -> None:
        """The step got a slot: start its model call (it ends with ``Scheduler.finish_call``)."""
        ...

    def wait(self, step: str) -> None:
        """The step was admitted but no slot was free: it waits for one."""
        ...

    def not_taken(self, step: str, reason: str) -> None:
        """The step is on a branch no route took; the scheduler completes it as not taken."""
        ...

    def all_done(self) -> None:
        """Every step has completed."""
        ...


class Scheduler:
    def __init__(
        self,
        plan: Plan,
        host: SchedulerHost,
        *,
        strategy: Strategy = "eager",
        priority: Priority = "critical_path",
        cap: int | None = None,
        defer: Callable[[Callable[[], None]], None] | None = None,
        slice_seconds: float | None = None,
    ):
        self.plan = plan
        self._defer = defer  # calls a function later (None: every pump goes to the end at once)
        self._slice = PUMP_SLICE if slice_seconds is None else slice_seconds
        self._resuming = False  # a deferred pump is due
        self._started_in_slice = 0
        self.host = host
        self.strategy: Strategy = strategy
        self.priority: Priority = priority
        self.cap = 1 if strategy == "sequential" else cap
        self.statuses: dict[str, StepStatus] = {}  # completed steps, in the order they completed
        self.running = 0  # slots in use
        self._blocked: dict[str, str] = {}  # step -> why it will be skipped
        self._left = {nid: len(plan.preds[nid]) for nid in plan.ids}
        self._layer_left = [len(group) for group in plan.layers]
        self._layer = 0
        self._seq_pos = 0
        self._work: list[str] = []  # released steps to admit (a stack: admission order is by plan)
        self._waiting: list[tuple[float | int | str, ...]] = []  # heap of admitted steps waiting for a slot
        self._newly_queued: list[str] = []  # admitted to the slot queue during the current pump
        self._given_slot: set[str] = set()
        self._counter = itertools.count()
        self._unchosen: dict[str, str] = {}  # step -> why it is not taken (a route did not choose it)
        self._live_preds = dict.fromkeys(plan.ids, 0)  # predecessors that completed other than not taken
        self._grants: dict[str, Callable[[], None] | None] = {}  # extra slot requests waiting, by token
        self._pumping = False
        self._stopped = False

    # --- the run's side -----------------------------------------------------------------------------
    def start(self) -> None:
        """Release the first steps."""
        plan = self.plan
        if self.strategy == "eager":
            self._release([nid for nid in plan.ids if not plan.preds[nid]])
        elif self.strategy == "layered":
            self._release(plan.layers[0] if plan.layers else [])
        else:
            self._release(plan.ids[:1])

    def complete(self, step: str, status: StepStatus, reason: str | None = None) -> None:
        """Book a step's final status and release what it unblocks. A step that did not succeed blocks its
        descendants: they are skipped with ``reason`` when it was skipped with one, else with "upstream step
        ... <status>"."""
        self.statuses[step] = status
        plan = self.plan
        if status is not StepStatus.NOT_TAKEN:
            for succ in plan.succs[step]:
                self._live_preds[succ] += 1
        if status is not StepStatus.SUCCEEDED and status is not StepStatus.NOT_TAKEN:
            why = (
                reason
                if status is StepStatus.SKIPPED and reason
                else f"upstream step {plan.graph.nodes[step].name!r} {status}"
            )
            for succ in plan.succs[step]:
                self._blocked.setdefault(succ, why)
        released: list[str] = []
        for succ in plan.succs[step]:
            self._left[succ] -= 1
            if self._left[succ] == 0 and self.strategy == "eager":
                released.append(succ)
        if self.strategy == "layered":
            self._layer_left[plan.layer_of[step]] -= 1
            while self._layer < len(plan.layers) and self._layer_left[self._layer] == 0:
                self._layer += 1
                if self._layer < len(plan.layers):
                    released.extend(plan.layers[self._layer])
        elif self.strategy == "sequential":
            self._seq_pos += 1
            released.extend(plan.ids[self._seq_pos : self._seq_pos + 1])
        if released:
            self._release(released)
        else:
            self._pump()

    def finish_call(self, step: str, status: StepStatus, reason: str | None = None) -> None:
        """A step's model call ended: free its slot, then complete it."""
        self.running -= 1
        self.complete(step, status, reason)

    def choose(self, route: str, not_taken: Iterable[str], reason: str) -> None:
        """Before ``route`` completes: its successors in ``not_taken`` will not run (``reason`` says why)."""
        for step in not_taken:
            self._unchosen.setdefault(step, reason)

    def request_slot(self, step: str, grant: Callable[[], None]) -> str:
        """A running ``step`` wants one more slot for part of its work: ``grant`` is called when it has one
        (at once when one is free); give it back with ``release_slot``. Returns the request's token (for
        ``withdraw``)."""
        token = f"{step}#{next(self._counter):012d}"
        self._grants[token] = grant
        key: tuple[float | int | str, ...]
        if self.priority == "critical_path":
            key = (-self.plan.remaining[step], self.plan.index[step], token)
        else:
            key = (next(self._counter), token)
        heapq.heappush(self._waiting, key)
        self._pump()
        return token

    def withdraw(self, token: str) -> None:
        """Take back a slot request not granted yet (a granted one is given back with ``release_slot``)."""
        if token in self._grants:
            self._grants[token] = None

    def release_slot(self) -> None:
        """Give back a slot ``request_slot`` granted."""
        self.running -= 1
        self._pump()

    def stop(self) -> None:
        """Admit and start nothing more (cancel); completions are still booked."""
        self._stopped = True

    @property
    def stopped(self) -> bool:
        return self._stopped

    def mark_cancelled(self, step: str) -> None:
        """Book a step that will never complete as cancelled (after ``stop``); releases nothing."""
        self.statuses[step] = StepStatus.CANCELLED

    @property
    def done(self) -> bool:
        return len(self.statuses) == len(self.plan.ids)

    def status_of(self, step: str) -> StepStatus | None:
        return self.statuses.get(step)

    def unfinished(self) -> list[str]:
        """Steps not completed, in plan order."""
        return [nid for nid in self.plan.ids if nid not in self.statuses]

    # --- internals ----------------------------------------------------------------------------------
    def _release(self, steps: list[str]) -> None:
        self._work.extend(reversed(steps))
        self._pump()

    def _has_slot(self) -> bool:
        return self.cap is None or self.running < self.cap

    def _pump(self) -> None:
        if self._pumping or self._stopped or self._resuming:  # (a deferred pump takes up what was added)
            return
        self._pumping = True
        began = time.thread_time()
        self._started_in_slice = 0
        try:
            while self._work or (self._waiting and self._has_slot()):
                while self._work:
                    self._admit(self._work.pop())
                    if self._later(began):
                        return
                while self._waiting and self._has_slot() and not self._work:
                    self._give_slot(str(heapq.heappop(self._waiting)[-1]))
                    if self._later(began):
                        return
            newly_queued, self._newly_queued = self._newly_queued, []
            for step in newly_queued:  # those that did not get a slot at once now wait for one
                if step not in self._given_slot:
                    self.host.wait(step)
        finally:
            self._pumping = False
        if self.done:
            self.host.all_done()

    def _give_slot(self, step: str) -> None:
        self._started_in_slice += 1
        if step in self._grants:  # an extra slot for a running step (None: withdrawn)
            grant = self._grants.pop(step)
            if grant is not None:
                self.running += 1
                grant()
            return
        self.running += 1
        self._given_slot.add(step)
        self.host.start(step)

    def _later(self, began: float) -> bool:
        """Whether this pump has had its slice: then the rest is deferred to a later turn."""
        if self._defer is None:
            return False
        if time.thread_time() - began < self._slice and self._started_in_slice < PUMP_STARTS:
            return False
        if not self._resuming:
            self._resuming = True
            self._defer(self._resume)
        return True

    def _resume(self) -> None:
        self._resuming = False
        self._pump()

    def _admit(self, step: str) -> None:
        """A step whose dependencies are done (and whose layer / turn has come)."""
        why = self._not_taken_reason(step)
        if why is not None:
            self.host.not_taken(step, why)
            self.complete(step, StepStatus.NOT_TAKEN)
            return
        if step in self._blocked:
            self.host.skip(step, self._blocked[step])
            self.complete(step, StepStatus.SKIPPED, self._blocked[step])
            return
        status = self.host.admit(step)
        if status is not None:
            self.complete(step, status)
            return
        key: tuple[float | int | str, ...]
        if self.priority == "critical_path":
            key = (-self.plan.remaining[step], self.plan.index[step], step)
        else:
            key = (next(self._counter), step)
        heapq.heappush(self._waiting, key)
        self._newly_queued.append(step)

    def _not_taken_reason(self, step: str) -> str | None:
        """Why ``step`` is not taken: a route did not choose it, or none of its predecessors was taken."""
        if step in self._unchosen:
            return self._unchosen[step]
        preds = self.plan.preds[step]
        if not preds or self._live_preds[step] or any(p not in self.statuses for p in preds):
            return None
        nodes = self.plan.graph.nodes
        return f"on a branch not taken (after {', '.join(repr(nodes[p].name) for p in preds)})"
