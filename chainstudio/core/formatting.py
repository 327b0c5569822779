"""How the app writes numbers: durations, token counts, costs, signed changes and dates (pure, no Qt).

The Gantt, the planning panels (advisor, history, compare, estimate) and the canvas all write a number
through these, so it reads the same everywhere.
"""

from __future__ import annotations

import time

__all__ = [
    "fmt_cost",
    "fmt_cost_change",
    "fmt_duration",
    "fmt_ms",
    "fmt_ms_change",
    "fmt_percent_change",
    "fmt_tokens",
    "fmt_tokens_change",
    "fmt_when",
]

MINUS = "\u2212"  # a real minus sign, as wide as the plus


def fmt_duration(seconds: float | None) -> str:
    """``340 ms``, ``2.41 s``, ``1 min 05 s``; an em dash when unknown."""
    if seconds is None:
        return "—"
    if seconds < 0:
        return "-" + fmt_duration(-seconds)
    if round(seconds * 1000) < 1000:  # (each unit chosen by the value as shown: 59.96 s is "1 min 00 s")
        return f"{seconds * 1000:.0f} ms"
    if round(seconds, 2) < 10.0:
        return f"{seconds:.2f} s"
    if round(seconds, 1) < 60.0:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def fmt_tokens(count: int) -> str:
    if count >= 10_000:
        return f"{count / 1000:.1f}k"
    return f"{count:,}"


def fmt_cost(cost: float | None) -> str:
    """Dollars, or ``unknown`` when a price is missing (never a silent $0)."""
    if cost is None:
        return "unknown"
    if cost == 0:
        return "$0.00"
    if cost < 0.01:
        return f"${cost:.5f}"
    return f"${cost:.4f}" if cost < 1 else f"${cost:,.2f}"


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
