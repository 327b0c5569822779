"""Regular expressions that come from a user or a file, matched within a time limit.

A step's ``check_regex``, a ``pattern`` or ``patternProperties`` in its output schema and ``batch --check
regex:`` are matched against answers a server wrote. Python's ``re`` cannot be interrupted: a pattern that
backtracks catastrophically (``(a|aa)+$``) on a hostile answer runs for hours, holding Python's lock, so
neither Stop nor a step's timeout can act. These patterns are matched with the ``regex`` module instead
(compatible with ``re`` in its default version): it takes a timeout and lets go of Python's lock while it
matches. A pattern must be Python (``re``) syntax, at most ``MAX_PATTERN_CHARS`` long, and its counted
repeats must not expand past ``MAX_PATTERN_COST`` (compiling cannot be interrupted either). ``time_box``
puts one limit on all the matches made inside it (a schema can hold many patterns); a match past the limit
raises ``PatternTooSlow``, which the callers turn into a one-line reason.

Callers still match off the event loop (``asyncio.to_thread``): a match is bounded, not instant.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import regex

from chainstudio.core.errors import ChainStudioError

LIMIT_S = 1.0  # the longest one check may spend matching its patterns against one answer
MAX_PATTERN_CHARS = 10_000
MAX_PATTERN_COST = 200_000  # what its counted repeats may expand to (``regex`` compiles 200,000 in ~0.1 s)

_deadline: ContextVar[float | None] = ContextVar("pattern_deadline", default=None)


class PatternTooBig(ChainStudioError, regex.error):
    """A pattern too long, or whose counted repeats expand too far, to compile (it may be Python syntax)."""


class PatternTooSlow(ChainStudioError):
    """A pattern did not finish matching within the time limit."""

    def __init__(self, pattern: str):
        shown = pattern if len(pattern) <= 80 else pattern[:79] + "…"
        super().__init__(
            f"the pattern {shown!r} took over {LIMIT_S:g} s on the answer "
            "(it backtracks too much: make it simpler or anchor it)"
        )
        self.pattern = pattern


def problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable regular expression, in one line; None when it is."""
    try:
        _compiled(pattern)
    except PatternTooBig as exc:
        return f"the pattern cannot be used: {exc}"
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        return f"not a regular expression: {exc}"
    return None


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text``; PatternTooSlow past the time limit (the rest of
    the enclosing ``time_box``, else LIMIT_S). An unusable pattern raises ``regex.error``."""
    deadline = _deadline.get()
    left = LIMIT_S if deadline is None else deadline - time.monotonic()
    if left <= 0:
        raise PatternTooSlow(pattern)
    try:
        return _compiled(pattern).search(text, timeout=left, concurrent=True) is not None
    except TimeoutError:
        raise PatternTooSlow(pattern) from None


@contextmanager
def time_box(seconds: float = LIMIT_S) -> Iterator[None]:
    """All the ``search`` calls made inside share one limit of ``seconds`` (inside another ``time_box``, the
    enclosing one's limit if it ends sooner)."""
    deadline, enclosing = time.monotonic() + seconds, _deadline.get()
    token = _deadline.set(deadline if enclosing is None else min(deadline, enclosing))
    try:
        yield
    finally:
        _deadline.reset(token)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern[str]:
    """``pattern`` compiled, once it is known to be Python syntax of a bounded size: ``regex`` compiles in C,
    holding Python's lock, and expands counted repeats (``(?:a{1000}){1000}`` took 0.4 s, one level more
    would take minutes; a 2 MB literal took 24 s and 466 MB)."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternTooBig(f"it is {len(pattern):,} characters, over the limit of {MAX_PATTERN_CHARS:,}")
    try:
        tree = re._parser.parse(pattern)  # type: ignore[attr-defined]
    except (re.error, RecursionError, OverflowError, ValueError) as exc:  # too deep, too big a number
        raise regex.error(str(exc)) from None
    if _cost(tree.data) > MAX_PATTERN_COST:
        raise PatternTooBig(f"its counted repeats expand to over {MAX_PATTERN_COST:,} items: too costly to match")
    return regex.compile(pattern)


def _cost(items: Any) -> int:
    """What compiling ``items`` (a parsed pattern's sequence) expands to: a counted repeat costs its minimum
    count times its body; alternatives add up. Stops adding once over the limit."""
    total = 0
    for op, value in items:
        name = str(op)
        if name.endswith("REPEAT"):  # MAX_REPEAT, MIN_REPEAT, POSSESSIVE_REPEAT: (min, max, body)
            total += max(1, value[0]) * _cost(value[2])
        elif name == "SUBPATTERN":  # (group, add flags, del flags, body)
            total += _cost(value[-1])
        elif name == "BRANCH":
            total += sum(_cost(branch) for branch in value[1])
        elif name in ("ATOMIC_GROUP", "ASSERT", "ASSERT_NOT"):
            total += _cost(value if name == "ATOMIC_GROUP" else value[1])
        elif name == "GROUPREF_EXISTS":  # (group, yes, no or None)
            total += _cost(value[1]) + (_cost(value[2]) if value[2] is not None else 0)
        else:
            total += 1
        if total > MAX_PATTERN_COST:
            break
    return total
