"""A server's effective parallel capacity, from how its generation throughput changes with requests in flight.

The capacity ``c`` of ``capacity.ServerSim`` is the aggregate speed of the server with many requests
admitted, in units of one request served alone: with ``k`` admitted, each progresses at min(1, c / k) of
its solo speed, so ``c`` = (aggregate output tokens per second with k in flight) / (tokens per second with
one). It is a real number: llama-server with 4 slots on one CPU thread batches its four streams into
about 1.1-1.3 times the throughput of one, which is neither "one at a time" nor "two".

It is read from the record, not from which replay of it looks closest: under a candidate ``c``, every
answer's solo generation time is recovered (``capacity.solo_times``: each second it shared the server with
``k`` admitted requests counts as min(1, c / k) solo seconds), and so its solo rate, output tokens per
solo second. At the right ``c`` the solo rates of answers that streamed alone and of those that shared
the server agree; a ``c`` too small makes the sharing ones look faster than the lone ones, too large
slower. ``shared_capacity`` takes the ``c`` where the rates agree best: the smallest token-weighted spread
of log solo rates *within each run* (answers of one run share the machine's load at that time, so a box
whose load changed between runs does not move the figure; a run whose answers all shared alike tells
nothing and costs nothing).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chainstudio.core.planning.capacity import Observed

GRID = 1.05  # candidate capacities: 1, 1.05, 1.05², … up to the most requests ever admitted at once
NO_LIMIT = 0.9  # a capacity this close to the most admitted at once is no limit seen
MIN_TOKENS = 2  # an answer needs this many output tokens to show a rate
SHOWN = 0.5  # a limit is seen when it at least halves the rates' spread under no limit
EPS = 1e-9

SoloOf = Callable[[float | None], Sequence[Sequence[tuple[float, float]]]]


def rate_spread(runs: Sequence[Sequence[Observed]], solo: Sequence[Sequence[tuple[float, float]]]) -> float | None:
    """The token-weighted mean squared deviation of each answer's log solo rate from its run's mean (None:
    no run has two answers that show a rate)."""
    total = weight = 0.0
    for run, times in zip(runs, solo, strict=True):
        samples = [
            (float(a.output_tokens), math.log(a.output_tokens / gen))
            for a, (_, gen) in zip(run, times, strict=True)
            if a.usable and a.output_tokens >= MIN_TOKENS and gen > EPS
        ]
        if len(samples) < 2:
            continue
        w = sum(t for t, _ in samples)
        mean = sum(t * x for t, x in samples) / w
        total += sum(t * (x - mean) ** 2 for t, x in samples)
        weight += w
    return total / weight if weight > 0 else None


def most_streaming(runs: Sequence[Sequence[Observed]], tolerance: float = 0.2) -> int:
    """The most answers ever seen streaming at once (between first token and end, each stream's end taken
    ``tolerance`` seconds early: a client reads a finished stream's last chunk a little late)."""
    most = 0
    for run in runs:
        points = [(a.first, 1) for a in run if a.first is not None and a.end - tolerance > a.first]
        points += [(a.end - tolerance, -1) for a in run if a.first is not None and a.end - tolerance > a.first]
        n = 0
        for _, step in sorted(points):
            n += step
            most = max(most, n)
    return most


def candidates(top: int) -> list[float]:
    """The capacities tried: a geometric grid from one up to ``top`` (the most admitted at once)."""
    out, c = [], 1.0
    while c < top - EPS:
        out.append(round(c, 3))
        c *= GRID
    return out


def shared_capacity(solo_of: SoloOf, runs: Sequence[Sequence[Observed]], top: int) -> float | None:
    """The capacity at which the recorded answers' solo rates agree best; None when no limit is seen (the
    best is within ``NO_LIMIT`` of ``top``, the most requests ever admitted at once; it does not at least
    halve the spread of no limit; or nothing shows a rate). ``solo_of(c)`` gives every run's recovered
    (ttft, generation) under capacity ``c``."""
    if top <= 1:
        return 1.0  # never two admitted at once: the capacity cannot matter, one is the honest figure
    unlimited = rate_spread(runs, solo_of(None))
    if unlimited is None:
        return None
    best, best_spread = None, unlimited
    for c in candidates(top):
        spread = rate_spread(runs, solo_of(c))
        if spread is not None and spread < best_spread - EPS:
            best, best_spread = c, spread
    if best is None or best >= NO_LIMIT * top or best_spread > SHOWN * unlimited:
        return None
    return best
