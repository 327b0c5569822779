"""Words and numbers shared by the planning panels (advisor, history, compare, estimate): pure, no Qt.

Durations, token counts and costs come from the Gantt's helpers (``chainstudio.core.gantt.text``) so every
panel writes a number the same way; this adds signed changes and dates.
"""

from __future__ import annotations

import time

from chainstudio.core.gantt.text import fmt_cost, fmt_duration, fmt_tokens

__all__ = ["fmt_cost", "fmt_cost_change", "fmt_duration", "fmt_ms", "fmt_ms_change", "fmt_percent_change",
           "fmt_tokens", "fmt_tokens_change", "fmt_when"]

MINUS = "\u2212"  # a real minus sign, as wide as the plus


def fmt_ms(ms: float | None) -> str:
    """A duration given in milliseconds: ``340 ms``, ``15.4 s``."""
    return fmt_duration(None if ms is None else ms / 1000.0)


def _sign(value: float) -> str:
    return MINUS if value < 0 else "+" if value > 0 else "±"


def fmt_ms_change(ms: float | None) -> str | None:
    """``−16.7 s`` (faster), ``+340 ms`` (slower), ``±0 ms``; None when unknown."""
    if ms is None:
        return None
    return f"{_sign(round(ms))}{fmt_ms(abs(ms))}"


def fmt_tokens_change(tokens: int | None) -> str | None:
    if tokens is None:
        return None
    return f"{_sign(tokens)}{abs(tokens):,} tokens"


def fmt_cost_change(cost: float | None) -> str | None:
    if cost is None:
        return None
    if abs(cost) < 5e-7:
        return "±$0"
    return f"{_sign(cost)}{fmt_cost(abs(cost))}"


def fmt_percent_change(before: float, after: float) -> str:
    """``+3%`` / ``−12%`` of ``after`` against ``before``."""
    if not before:
        return "—"
    percent = (after - before) / before * 100.0
    return f"{_sign(round(percent))}{abs(percent):.0f}%"


def fmt_when(timestamp: float) -> str:
    """A local date and time, ``2025-03-14 09:26:53``."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))
