"""The argparse types of the CLI's limits, one rule each, so that no flag takes a value no limit can have:
``amount`` for caps and rates (``--cost-cap``, ``--budget``, ``--rpm``, ``--tpm``): a finite number, 0 or
more (``nan`` compared false with everything, so ``--cost-cap nan`` turned the cap off in silence);
``count`` for counts (``--token-cap``, ``history --limit``): a whole number SQLite and the clocks can hold
(``--limit`` 10**23 was "internal error (OverflowError…)")."""

from __future__ import annotations

import argparse
import math

MAX_COUNT = 2**63 - 1  # SQLite's largest integer


def amount(text: str) -> float:
    """A cap or a rate: a finite number, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number, 0 or more")
    return value + 0.0  # -0.0 is 0


def count(text: str) -> int:
    """A whole number from 0 to 2**63 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number from 0 to {MAX_COUNT:,}")
    return value
