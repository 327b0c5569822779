"""Regular expressions that come from a user or a file, matched within a time limit.

A step's ``check_regex``, a ``pattern`` or ``patternProperties`` in its output schema and ``batch --check
regex:`` are matched against answers a server wrote. Python's ``re`` cannot be interrupted: a pattern that
backtracks catastrophically (``(a|aa)+$``) on a hostile answer runs for hours, holding Python's lock, so
neither Stop nor a step's timeout can act. These patterns are matched with the ``regex`` module instead
(compatible with ``re`` in its default version): it takes a timeout and lets go of Python's lock while it
matches. ``time_box`` puts one limit on all the matches made inside it (a schema can hold many patterns);
a match past the limit raises ``PatternTooSlow``, which the callers turn into a one-line reason.

Callers still match off the event loop (``asyncio.to_thread``): a match is bounded, not instant.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

import regex

from chainstudio.core.errors import ChainStudioError

LIMIT_S = 1.0  # the longest one check may spend matching its patterns against one answer

_deadline: ContextVar[float | None] = ContextVar("pattern_deadline", default=None)


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
    """All the ``search`` calls made inside share one limit of ``seconds``."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)
