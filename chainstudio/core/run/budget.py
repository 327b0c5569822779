"""Per-run budgets (or one shared by the runs of a dataset batch: ``RunContext.budget``): a cost cap and a
token cap, kept *before* each call.

Every attempt reserves its worst case (the prompt's counted tokens plus ``max_tokens``, priced) before it
starts; the reservation is replaced by the actual usage when the attempt ends. A call whose worst case
would cross a cap is not made: the run stops there with a message saying which cap and by how much, and
calls already in flight finish (their tokens are paid for either way).

A server may send more than it was asked for (one that ignores ``max_tokens``): while an answer streams,
its tokens so far are checked with ``exceeded`` (against what is spent and what the other calls in flight
hold), and the stream is stopped at the cap. Failed, cut and cancelled attempts settle what the server
processed, so a retry is allowed only if that still leaves room.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from chainstudio.core.providers.base import ProviderError


@dataclass
class BudgetGuard:
    cost_cap: float | None = None  # USD
    token_cap: int | None = None
    spent_cost: float = 0.0
    spent_tokens: int = 0
    stop_reason: str | None = None  # set by the first call refused in ``admit``: the run's calls stop there
    _reserved: dict[str, tuple[int, float]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.cost_cap is not None or self.token_cap is not None

    def admit(self, key: str, step: str, model: str, tokens: int, worst_cost: Callable[[], float | None]) -> str | None:
        """Reserve an attempt's worst case, or say why it may not be made (then no later call may either).

        ``worst_cost`` is only called when a cost has to be checked (a budget is set and nothing stopped yet).
        """
        if self.stop_reason is None:
            if not self.active:
                return None
            reason = self.reserve(key, step, model, tokens, worst_cost())
            if reason is None:
                return None
            self.stop_reason = reason
        return self.stop_reason

    def reserve(self, key: str, step: str, model: str, tokens: int, cost: float | None) -> str | None:
        """Reserve a call's worst case; returns why it may not be made, or None."""
        held_tokens = sum(t for t, _ in self._reserved.values())
        held_cost = sum(c for _, c in self._reserved.values())
        if self.token_cap is not None and self.spent_tokens + held_tokens + tokens > self.token_cap:
            left = max(0, self.token_cap - self.spent_tokens - held_tokens)
            return (
                f"stopped by the token cap ({self.token_cap:,}): step {step!r} could use up to {tokens:,} tokens "
                f"and {left:,} are left"
            )
        if self.cost_cap is not None:
            if cost is None:
                return (
                    f"stopped by the cost cap (${self.cost_cap:.4f}): the price of model {model!r} is unknown, "
                    f"so step {step!r} cannot be kept under it"
                )
            if self.spent_cost + held_cost + cost > self.cost_cap:
                money_left = max(0.0, self.cost_cap - self.spent_cost - held_cost)
                return (
                    f"stopped by the cost cap (${self.cost_cap:.4f}): step {step!r} could cost up to "
                    f"${cost:.4f} and ${money_left:.4f} is left"
                )
        self._reserved[key] = (tokens, cost or 0.0)
        return None

    def exceeded(self, key: str, step: str, tokens: int, cost: float | None) -> str | None:
        """Why an attempt in flight that has used ``tokens`` (costing ``cost``) so far must stop now: the
        spent amounts, the other calls' reservations and its own use cross a cap. None: it may go on."""
        others = [held for k, held in self._reserved.items() if k != key]
        held_tokens = sum(t for t, _ in others)
        held_cost = sum(c for _, c in others)
        if self.token_cap is not None and self.spent_tokens + held_tokens + tokens > self.token_cap:
            reason = (
                f"stopped by the token cap ({self.token_cap:,}): step {step!r} had used {tokens:,} tokens while "
                f"its answer streamed (more than the server was asked for), so its answer was cut off there"
            )
        elif self.cost_cap is not None and cost is not None and self.spent_cost + held_cost + cost > self.cost_cap:
            reason = (
                f"stopped by the cost cap (${self.cost_cap:.4f}): step {step!r} had used ${cost:.4f} while its "
                f"answer streamed (more than the server was asked for), so its answer was cut off there"
            )
        else:
            return None
        if self.stop_reason is None:
            self.stop_reason = reason
        return reason

    def settle(self, key: str, tokens: int, cost: float | None) -> None:
        """Replace a reservation by what the attempt really used (negative amounts count as 0)."""
        self._reserved.pop(key, None)
        self.spent_tokens += max(0, tokens)
        self.spent_cost += max(0.0, cost or 0.0)


MAX_RUN_ANSWER_CHARS = 32_000_000  # the answers of one run, in all: as much as one answer at its largest


@dataclass
class AnswerAllowance:
    """The characters of answers one run may receive, in all (every attempt's, a judge's and an item's).

    One answer is bounded by its ``max_tokens`` (``stream_limits.answer_limit``), but a server that sends each
    step an answer at that bound made a 50-step run hold 50 MB of text and peak at 448 MB (the text is held as
    the stream's parts, the events and the output); ``take`` stops the stream that passes the run's whole."""

    left: int = field(default_factory=lambda: MAX_RUN_ANSWER_CHARS)

    def take(self, chars: int) -> None:
        """Count ``chars`` more; once the run's answers pass the limit, a ``ProviderError`` that stops the
        stream (called from a stream's delta callback)."""
        self.left -= chars
        if self.left < 0:
            message = f"the run's answers passed {MAX_RUN_ANSWER_CHARS:,} characters in all, more than a run keeps"
            raise ProviderError(f"{message}: this answer was cut off", kind="other", retryable=False)
