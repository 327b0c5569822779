"""Time-axis ticks: a 1-2-5 step that keeps labels at least ``min_px`` apart (pure, no Qt)."""

from __future__ import annotations

import math

_MULTIPLIERS = (1.0, 2.0, 5.0)
_MINUTE_STEPS = (120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 18000.0, 36000.0, 86400.0)


def tick_step(px_per_s: float, min_px: float = 84.0) -> float:
    """The smallest 1·2·5×10ⁿ seconds step whose ticks are at least ``min_px`` apart."""
    if px_per_s <= 0:
        return 1.0
    wanted = min_px / px_per_s
    if wanted > 60:
        for step in _MINUTE_STEPS:
            if step >= wanted:
                return step
    exponent = math.floor(math.log10(wanted))
    for power in (exponent, exponent + 1):
        for mult in _MULTIPLIERS:
            step = mult * 10.0**power
            if step >= wanted * (1 - 1e-9):
                return step
    return 10.0 ** (exponent + 1)


def ticks(t0: float, t1: float, step: float) -> list[float]:
    """Multiples of ``step`` within [t0, t1] (relative seconds)."""
    if step <= 0 or t1 < t0:
        return []
    first = math.ceil(t0 / step - 1e-9)
    last = math.floor(t1 / step + 1e-9)
    if last - first > 10_000:
        return []
    return [round(i * step, 9) for i in range(first, last + 1)]


def tick_label(t: float, step: float) -> str:
    """``0``, ``250 ms``, ``1.5 s``, ``2 s``, ``2 min``, ``2 min 30 s``."""
    if abs(t) < 1e-12:
        return "0"
    if step < 1.0 and abs(t) < 1.0:
        return f"{t * 1000:.0f} ms"
    if abs(t) < 120 or step < 1.0:
        decimals = 0 if step >= 1.0 else max(0, -math.floor(math.log10(step) + 1e-9))
        text = f"{t:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return f"{text} s"
    minutes, seconds = divmod(round(t), 60)
    return f"{minutes} min" if seconds == 0 else f"{minutes} min {seconds} s"
