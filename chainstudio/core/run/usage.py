"""What one step's model calls used: each attempt's tokens (and whether they are the server's count or an
offline guess), priced by the model that answered it; recounted by the server once the run's calls are
over (``StepUsage.recount``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chainstudio.core.providers.base import ChatRequest
from chainstudio.core.run.pricing import Pricing

Counter = Callable[[ChatRequest, str], Awaitable["tuple[int, int] | None"]]


@dataclass
class Spent:
    """One attempt's usage: what the server processed (or our estimate of it, ``estimated``)."""

    request: ChatRequest
    text: str
    input_tokens: int
    output_tokens: int
    model: str  # the model that answered (the one asked for when the answer never came)
    cached_tokens: int = 0
    estimated: bool = False

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class StepUsage:
    def __init__(self, pricing: Pricing):
        self.pricing = pricing
        self.spent: list[Spent] = []

    def add(self, spent: Spent) -> None:
        self.spent.append(spent)

    @property
    def input_tokens(self) -> int:
        return sum(s.input_tokens for s in self.spent)

    @property
    def output_tokens(self) -> int:
        return sum(s.output_tokens for s in self.spent)

    @property
    def cached_tokens(self) -> int:
        return sum(s.cached_tokens for s in self.spent)

    @property
    def estimated(self) -> bool:
        return any(s.estimated for s in self.spent)

    def attempt_cost(self, s: Spent) -> float | None:
        return self.pricing.call_cost(s.model, s.request.model, s.input_tokens, s.output_tokens, s.cached_tokens)

    def cost(self) -> float | None:
        """Every attempt priced by the model that answered it; None when a price is unknown."""
        total = 0.0
        for s in self.spent:
            cost = self.attempt_cost(s)
            if cost is None:
                return None
            total += cost
        return total

    async def recount(self, counter: Counter) -> bool:
        """Have the server count the attempts whose tokens are an offline guess; whether any changed."""
        changed = False
        for spent in self.spent:
            if not spent.estimated:
                continue
            counts = await counter(spent.request, spent.text)
            if counts is None:
                continue
            spent.input_tokens, spent.output_tokens = counts
            spent.estimated = False
            changed = True
        return changed
