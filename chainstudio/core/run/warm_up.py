"""Load the run's heavy pieces once, before anything is timed."""

from __future__ import annotations

from chainstudio.core.graph.templating import render
from chainstudio.core.run.pricing import Pricing
from chainstudio.core.tokens import count_tokens


def warm_up() -> None:
    """Load the tokenizer, the template environment and the price table once, so the first run's timings
    are not skewed (and a GUI does not stall on them mid-run)."""
    count_tokens("warm up the tokenizer")
    render("{{ x | truncate_chars(3) }}", {"x": "warm"})
    Pricing().cost_usd("gpt-4o-mini", 1, 1)
