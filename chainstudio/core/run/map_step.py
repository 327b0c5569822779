"""A map step: one model call per item of a list, in parallel under the run's limits, answers kept in order.

``over`` is a template expression. When it is one reference (``{{ extract }}``, ``{{ extract.entities }}``)
whose value is a list, the list is used as it is; otherwise it renders to text, which is read as a JSON
array when it is one and else as its non-empty lines (``items_of``). Nothing is cut off: a run's maps take
``MAX_RUN_ITEMS`` (20,000) items in all, and a map whose list would pass that fails in one line before any
item starts (``ItemAllowance``; a 2 MB input read as lines is a million items, each a call and its answer
kept: 100,000 took the CLI 524 MB). At most ``MAX_WORKERS`` (256) are in flight at once.

Each item's call is a ``StepAttempts`` of its own (retries, timeouts, the rate limiter, the adaptive pace,
and a budget reservation per item), rendered from the map's prompt with ``item`` and ``index``. Items take
concurrency slots from the run's scheduler like steps do: the map's own slot serves one item at a time, and
up to ``concurrency - 1`` more workers (the map's own limit, when it has one) ask the scheduler for a slot
per item, so the run's cap holds across the map and the rest of the graph.

An item that fails is handled by the map's ``on_item_error``: ``fail`` stops the map (items in flight are
cancelled, nothing more starts), ``drop`` leaves it out of the list, ``keep`` puts ``{"error": ...}`` in its
place. The map's output is the answers as a JSON array (in templates: a list that prints as that array,
``map_values.map_value``); its ``NodeFinished`` sums the items' tokens, cost and calls.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from chainstudio.core.errors import ChainStudioError
from chainstudio.core.graph.model import Node
from chainstudio.core.graph.templating import TemplateProblem, references
from chainstudio.core.run import events as ev
from chainstudio.core.run.attempt import AttemptServices, StepAttempts, StepOutcome
from chainstudio.core.run.inputs import StepInputs
from chainstudio.core.run.map_values import items_of, output_text
from chainstudio.core.run.status import StepStatus
from chainstudio.core.run.step_calls import parsed_outputs
from chainstudio.core.run.usage import Spent, StepUsage

# Items of one map in flight at once, whatever its concurrency (a worker each). A task per item of a 20,000-line
# list held the window's loop for 3.5 s (qasync makes a Qt timer per callback) and cost a coroutine each; the
# OpenAI-compatible provider keeps no more requests open to a server (``MAX_OPEN_REQUESTS``) either.
MAX_WORKERS = 256
MAX_RUN_ITEMS = 20_000  # the items of all maps of one run (an estimate's stand-ins too); 50,000 over HTTP: 583 MB

_ONE_REFERENCE = re.compile(r"^\s*\{\{-?\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*-?\}\}\s*$")


def over_value(inputs: StepInputs, node: Node) -> Any:
    """What a map's ``over`` gives: the value of its one reference when that is a list, else its text."""
    source = str(node.param("over") or "")
    match = _ONE_REFERENCE.match(source)
    if match is not None:
        path = match.group(1).split(".")
        names = references(source).steps
        context = inputs.plan.template_context(node.id, names, inputs.outputs, inputs.values)
        context.update(parsed_outputs(inputs, names, node.id, context))  # a structured step's fields
        value: Any = context.get(path[0])
        for part in path[1:]:
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, list):
            return value
    return inputs.render(node, "over")


class ItemAllowance:
    """What is left of one run's ``MAX_RUN_ITEMS``: a map takes its whole list from it, or fails."""

    def __init__(self) -> None:
        self.left = MAX_RUN_ITEMS

    def take(self, count: int) -> None:
        """Grant ``count`` items, or raise ``TooManyItems`` (the map's failure, one line)."""
        if count > self.left:
            used = MAX_RUN_ITEMS - self.left
            taken = f", and the run's maps took {used:,} before it" if used else ""
            raise TooManyItems(
                f"the list has {count:,} items{taken}: a run's maps take at most {MAX_RUN_ITEMS:,} items in all "
                "(split the list, or run the graph as a batch over a dataset)"
            )
        self.left -= count


class TooManyItems(ChainStudioError):
    """A map's list past what the run's maps may still take (``ItemAllowance``)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class MapStep:
    """One map step of a run (the executor's pending work for it; ``run`` once it has its slot)."""

    call = None  # no single request (the executor's step cache keeps none for a map)

    def __init__(
        self,
        services: AttemptServices,
        inputs: StepInputs,
        node: Node,
        *,
        count_tokens: bool,
        request_slot: Callable[[Callable[[], None]], str],
        withdraw: Callable[[str], None],
        release_slot: Callable[[], None],
        expected_items: int | None = None,
        run_stopped: Callable[[], bool] = lambda: False,
        allowance: ItemAllowance | None = None,
    ):
        """``request_slot``/``withdraw``/``release_slot``: the scheduler's extra slots for this step.
        ``expected_items``: an estimate's stand-in count (the items are then placeholders). ``run_stopped``:
        whether the run is being stopped (then no item starts). ``allowance``: the run's items left."""
        self.services, self.inputs, self.node = services, inputs, node
        self.count_tokens = count_tokens
        self._request_slot, self._withdraw, self._release_slot = request_slot, withdraw, release_slot
        self.expected_items = expected_items
        self._run_stopped = run_stopped
        self._allowance = allowance or ItemAllowance()
        # an item's attempts while it runs; once it ended only its usage and call count are kept (a
        # ``StepAttempts`` per item of a 20,000-item list was ~60 objects each, kept to the run's end)
        self._in_flight: dict[int, StepAttempts] = {}
        self._spent: list[Spent] = []
        self._calls = 0
        self._answers: list[Any] = []
        self._failed: dict[int, str] = {}
        self._next = 0
        self._stop: str | None = None  # why no more items start (the first failure, under "fail")
        self._waiting: dict[str, asyncio.Future[bool]] = {}  # workers waiting for a slot, by token
        self._running: set[asyncio.Task[None]] = set()

    # --- the map -----------------------------------------------------------------------------------------
    async def run(self) -> StepOutcome:
        s, node = self.services, self.node
        try:
            items = self._items()
        except (TemplateProblem, TooManyItems) as exc:
            s.emit(ev.NodeFailed(s.run_id, s.clock.now(), node.id, exc.message))
            return StepOutcome(StepStatus.FAILED)
        self.items = items
        self._answers = [None] * len(items)
        over = str(node.param("over") or "")
        s.emit(ev.NodeStarted(s.run_id, s.clock.now(), node.id, 1, f"{len(items)} item(s) from {over}", ""))
        s.emit(ev.MapItems(s.run_id, s.clock.now(), node.id, len(items)))
        limit = min(int(node.param("concurrency") or 0) or MAX_WORKERS, MAX_WORKERS)
        workers = [self._worker(home=True)] + [self._worker(home=False) for _ in range(min(limit, len(items)) - 1)]
        tasks = [asyncio.ensure_future(w) for w in workers]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return self._outcome()

    def _items(self) -> list[Any]:
        if self.expected_items is not None:  # an estimate's stand-ins: counted before they are made
            self._allowance.take(self.expected_items)
            return [f"item {i + 1}" for i in range(self.expected_items)]
        items = items_of(over_value(self.inputs, self.node))
        self._allowance.take(len(items))
        return items

    async def _worker(self, *, home: bool) -> None:
        """Take items until none is left: the map's own slot (``home``), or a slot asked for per item."""
        while self._next < len(self.items) and self._stop is None:
            if not home and not await self._slot():
                return
            if self._next >= len(self.items) or self._stop is not None or self._run_stopped():
                if not home:
                    self._release_slot()
                return  # no item left, the map stopped, or the run is being stopped: start nothing more
            index = self._next
            self._next += 1
            try:
                await self._item(index)
            finally:
                if not home:
                    self._release_slot()
            if self._next >= len(self.items) or self._stop is not None:
                self._wake_waiting()

    async def _slot(self) -> bool:
        """Wait for an extra slot; False when the items ran out first (the request is withdrawn)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def grant() -> None:
            if future.done():  # its worker is gone: give the slot back
                self._release_slot()
            else:
                future.set_result(True)

        token = self._request_slot(grant)
        if future.done():
            return True
        self._waiting[token] = future
        try:
            return await future
        except asyncio.CancelledError:
            self._withdraw(token)
            raise
        finally:
            self._waiting.pop(token, None)

    def _wake_waiting(self) -> None:
        for token, future in list(self._waiting.items()):
            if not future.done():
                self._withdraw(token)
                future.set_result(False)

    async def _item(self, index: int) -> None:
        s, node, inputs = self.services, self.node, self.inputs
        try:
            call = inputs.prepare_call(
                node,
                count=self.count_tokens,
                extra={"item": self.items[index], "index": index},
                seed_key=f"{node.name}[{index}]",
            )
        except TemplateProblem as exc:
            s.emit(ev.MapItemFailed(s.run_id, s.clock.now(), node.id, index, exc.message))
            self._item_failed(index, exc.message)
            return
        item_id = f"{node.id}#{index}"
        told = _ItemEvents(s.emit, node.id, index)
        attempts = StepAttempts(replace(s, emit=told), item_id, f"{node.name}[{index}]", call)
        self._in_flight[index] = attempts
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            outcome = await attempts.run()
        except asyncio.CancelledError:
            if self._stop is None:
                raise  # the run was stopped
            outcome = StepOutcome(StepStatus.FAILED, reason=f"cancelled: {self._stop}")
            u = attempts.usage
            s.emit(
                ev.MapItemFailed(
                    s.run_id, s.clock.now(), node.id, index, outcome.reason or "", u.input_tokens, u.output_tokens,
                    u.cost(), attempts.attempts, u.estimated,
                )
            )  # fmt: skip
        finally:
            if task is not None:
                self._running.discard(task)
            del self._in_flight[index]
            self._spent.extend(attempts.usage.spent)
            self._calls += attempts.attempts
        if outcome.status is StepStatus.SUCCEEDED:
            self._answers[index] = outcome.output
        else:
            self._item_failed(index, outcome.reason or told.error or f"item {index} failed")

    def _item_failed(self, index: int, error: str) -> None:
        self._failed[index] = error
        policy = str(self.node.param("on_item_error"))
        if (policy == "fail" or self.services.budget.stop_reason is not None) and self._stop is None:
            self._stop = f"item {index} failed: {error}"
            current = asyncio.current_task()
            for task in list(self._running):  # items in flight are cancelled: nothing more is spent
                if task is not current:
                    task.cancel()
            self._wake_waiting()
        if policy == "keep":
            self._answers[index] = {"error": error}

    # --- the end -----------------------------------------------------------------------------------------
    def usage(self) -> StepUsage:
        total = StepUsage(self.services.pricing)
        total.spent = self._spent + [spent for a in self._in_flight.values() for spent in a.usage.spent]
        return total

    def calls(self) -> int:
        return self._calls + sum(a.attempts for a in self._in_flight.values())

    def _outcome(self) -> StepOutcome:
        s, node = self.services, self.node
        u = self.usage()
        calls = self.calls()
        model = str(node.param("model"))
        if self._stop is not None:
            reason = s.budget.stop_reason
            s.emit(
                ev.NodeFailed(
                    s.run_id, s.clock.now(), node.id, self._stop, calls, None,
                    u.input_tokens, u.output_tokens, u.cost(), u.cached_tokens, u.estimated,
                )
            )  # fmt: skip
            return StepOutcome(StepStatus.FAILED, reason=reason)
        policy = str(node.param("on_item_error"))
        answers = [a for i, a in enumerate(self._answers) if not (policy == "drop" and i in self._failed)]
        output = output_text(answers)
        s.emit(
            ev.NodeFinished(
                s.run_id, s.clock.now(), node.id, output, u.input_tokens, u.output_tokens, u.cost(), calls,
                None, model, u.cached_tokens, u.estimated,
            )
        )  # fmt: skip
        return StepOutcome(StepStatus.SUCCEEDED, output=output)

    def cancelled_event(self, run_id: str, t: float) -> ev.NodeCancelled:
        """The map's ``NodeCancelled``, with the tokens its items had the server process."""
        u = self.usage()
        calls = self.calls()
        return ev.NodeCancelled(run_id, t, self.node.id, calls, u.input_tokens, u.output_tokens, u.cost(), u.estimated)


class _ItemEvents:
    """An item's attempt events, told as the map's item events (an item is no step of its own)."""

    def __init__(self, emit: Callable[[ev.RunEvent], None], node_id: str, index: int):
        self.emit, self.node_id, self.index = emit, node_id, index
        self.first_token: float | None = None
        self.error: str | None = None

    def __call__(self, event: ev.RunEvent) -> None:
        nid, i = self.node_id, self.index
        if isinstance(event, ev.NodeStarted):
            self.emit(ev.MapItemStarted(event.run_id, event.t, nid, i, event.attempt))
        elif isinstance(event, ev.NodeFirstToken):
            self.first_token = event.t
        elif isinstance(event, ev.NodeFinished):
            self.emit(
                ev.MapItemFinished(
                    event.run_id, event.t, nid, i, event.input_tokens, event.output_tokens, event.cost_usd,
                    event.attempts, event.tokens_estimated, self.first_token,
                )
            )  # fmt: skip
        elif isinstance(event, ev.NodeFailed):
            self.error = event.error
            self.emit(
                ev.MapItemFailed(
                    event.run_id, event.t, nid, i, event.error, event.input_tokens, event.output_tokens,
                    event.cost_usd, event.attempts, event.tokens_estimated,
                )
            )  # fmt: skip
        elif isinstance(event, ev.NodeSkipped):
            self.error = event.reason
            self.emit(ev.MapItemFailed(event.run_id, event.t, nid, i, event.reason))
