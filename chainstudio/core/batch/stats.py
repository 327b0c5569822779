"""Intervals and percentiles for the batch's aggregates.

* Pass rates (deterministic checks, 0/1 per row and repeat): the **Wilson score interval** at 95 %.
* Mean scores (judges, 1..5 per row and repeat) and overlap: a **percentile bootstrap** of the mean
  (2,000 resamples, seeded, so the same results give the same interval).
* Latency percentiles: nearest-rank-free linear interpolation (numpy's default "linear").
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int
    method: str  # "wilson" | "bootstrap"

    def text(self, digits: int = 2) -> str:
        return f"{self.mean:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def wilson(successes: float, n: int, z: float = Z95) -> Interval:
    if n <= 0:
        return Interval(math.nan, math.nan, math.nan, 0, "wilson")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if successes <= 0 else max(0.0, centre - half)  # exact at the ends (no rounding residue)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return Interval(p, low, high, n, "wilson")


def bootstrap_mean(values: Sequence[float], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> Interval:
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, "bootstrap")
    mean = sum(values) / n
    if n == 1 or min(values) == max(values):
        return Interval(mean, mean, mean, n, "bootstrap")
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(resamples))
    return Interval(mean, means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1], n, "bootstrap")


def interval(values: Sequence[float]) -> Interval:
    """Wilson for 0/1 values, the bootstrap otherwise."""
    if all(v in (0.0, 1.0) for v in values):
        return wilson(sum(values), len(values))
    return bootstrap_mean(values)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), interpolated linearly between the closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
