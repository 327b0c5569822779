"""The bounds a template renders within: no value over a size limit is ever built, no render builds more
than an allowance in all, and no render runs longer than its CPU budget. Over 400 lines because every door
a template can grow a value through is checked here, in one place.

Graph files come from other people. Jinja2's immutable sandbox keeps a template away from Python's
internals, but not from building a 4 GB string (``'x'|center(10**9)``, ``big ~ big``, ``[big]*10000|join``)
or from looping for hours (three nested ``range(10000)``). The bounds here work at the cause, whatever
the payload:

* **Size.** A template can only make text grow through a handful of doors, and each checks the size of
  what it would build *before* building it: the binary operators (``*``, ``+``, ``%``, ``**``), ``~``
  (the code generator routes it through ``checked_concat``), every call a template makes (``call``: a
  width or count argument over the limit, ``str.join``, ``replace``, ``expandtabs``, ``translate``,
  ``format``), every filter (``checked_filters`` wraps each: widths and counts, ``join``, ``indent``,
  ``replace``, ``wordwrap``, ``format``, ``sum``, and any filter that turns a value into text), and the
  output of every ``{{ }}`` (``finalize``). What a value would become as text is measured by ``weight``,
  which stops counting at the limit. The rendered text is collected from ``generate`` and stopped at
  the limit too, and so is the text of a block that is joined inside the template (``{% set x %}``, a
  macro, ``{% filter %}``: ``concat``), before it is joined.
* **Memory.** Each value is under the limit, but a render could keep many of them (a list of 300 texts
  of 2 MB, 300 variables, ``map`` over 10,000 items): every door also charges what it built to the
  render's allowance (``build_allowance``, ``MAX_BUILT_CHARS`` in all: text by its length, lists and
  dicts by their slots), and the render is refused once that is spent, whether the values were kept or not.
* **Time.** ``cpu_budget`` installs a trace function for the render: it counts the lines the template's
  own code executes and the Python calls it makes, and checks the thread's CPU time, so any loop, macro
  recursion or slow filter ends with the given exception once the budget is spent (CPython then unsets
  the trace function, as it does after any error in one).
"""

from __future__ import annotations

import inspect
import operator
import re
import string
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import SecurityError
from jinja2.nodes import Concat
from jinja2.sandbox import ImmutableSandboxedEnvironment

T = TypeVar("T")
MAX_RESULT_CHARS = 2_000_000  # any rendered prompt or intermediate text beyond this is refused
MAX_BUILT_CHARS = 10 * MAX_RESULT_CHARS  # all a render builds, kept or not (text by length, lists by slots)
MAX_RANGE = 10_000
MAX_POWER_BITS = 100_000
TEMPLATE_FILENAME = "<template>"


def weight(value: Any, limit: int = MAX_RESULT_CHARS) -> int:
    """About how many characters ``str(value)`` would have, counted up to just past ``limit``."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, bytes):
            total += 4 * len(item)
        else:
            total += 8
        if total > limit:
            return total
    return total


def built_size(value: Any, limit: int = MAX_BUILT_CHARS) -> int:
    """What building ``value`` cost, counted up to just past ``limit``: a text its length, a number its digits,
    a list, tuple, set or dict its slots (and those of the lists in it; the texts in it were charged when
    they were built, or were given)."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, (list, tuple, set, frozenset)):
            total += 1 + len(item)
            stack.extend(i for i in item if isinstance(i, (list, tuple, set, frozenset, dict)))
        elif isinstance(item, dict):
            total += 1 + 2 * len(item)
            stack.extend(v for v in item.values() if isinstance(v, (list, tuple, set, frozenset, dict)))
    return total


_allowance = threading.local()  # ``left``: what the render on this thread may still build (None: no render)


@contextmanager
def build_allowance(limit: int = MAX_BUILT_CHARS) -> Iterator[None]:
    """Within this block, the doors charge what they build; over ``limit`` in all the render is refused."""
    previous = getattr(_allowance, "left", None)
    _allowance.left = limit
    try:
        yield
    finally:
        _allowance.left = previous


def charge(value: T, what: str) -> T:
    """Charge ``value`` (just built by ``what``) to the render's allowance; returns it."""
    left = getattr(_allowance, "left", None)
    if left is not None:
        left -= built_size(value, left + 1)
        _allowance.left = left
        if left < 0:
            raise SecurityError(f"{what}: the template built over {MAX_BUILT_CHARS:,} characters in all")
    return value


def refuse_over(size: int, what: str) -> None:
    if size > MAX_RESULT_CHARS:
        raise SecurityError(f"{what} would build a value over the size limit of {MAX_RESULT_CHARS:,} characters")


def _check_counts(args: tuple[Any, ...], kwargs: dict[str, Any], what: str) -> None:
    """A width or count argument (an int) over the limit is refused whatever it is for."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_RESULT_CHARS:
            raise SecurityError(f"{what}: a width or count of {value:,} is over the limit of {MAX_RESULT_CHARS:,}")


_PERCENT_SPEC = re.compile(r"%[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")


def check_percent_format(fmt: str, args: Any) -> None:
    """``fmt % args`` builds nothing over the limit: no width or precision over it, no text argument over it."""
    for width, precision in _PERCENT_SPEC.findall(fmt):
        for number in (width, precision):
            if number.isdigit() and int(number) > MAX_RESULT_CHARS:
                raise SecurityError(f"a format width of {int(number):,} is over the limit")
    values = args if isinstance(args, tuple) else (args,)
    _check_counts(values, {}, "format")
    refuse_over(len(fmt) + sum(weight(v) for v in values), "format")


def check_brace_format(fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """``fmt.format(*args, **kwargs)``: the same checks for ``{:>WIDTH}`` fields."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format will say what is wrong
    for _, _, spec, _ in fields:
        for number in re.findall(r"\d+", spec or ""):
            if int(number) > MAX_RESULT_CHARS:
                raise SecurityError(f"a format width of {int(number):,} is over the limit")
    _check_counts(args, kwargs, "format")
    refuse_over(len(fmt) + sum(weight(v) for v in (*args, *kwargs.values())), "format")


def _method_estimate(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Size checks for the ``str`` methods that can build more than they are given."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if not isinstance(owner, (str, bytes)):
        return
    if name == "join" and args:
        items = args[0]
        refuse_over(sum(weight(i) for i in items) + len(owner) * len(items), "join")
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        count = len(owner) + 1 if not old else owner.count(old)
        refuse_over(len(owner) + count * len(new), "replace")
    elif name == "expandtabs":
        size = int(args[0]) if args else int(kwargs.get("tabsize", 8))
        tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
        refuse_over(len(owner) + tabs * size, "expandtabs")
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max((len(v) for v in args[0].values() if isinstance(v, (str, bytes))), default=1)
        refuse_over(len(owner) * max(longest, 1), "translate")


# --- filters ------------------------------------------------------------------------------------------
def indented_size(value: Any, indent: Any, limit: int = MAX_RESULT_CHARS) -> int:
    """About how long ``value`` is when each item is on a line of its own, indented ``indent`` (a width or a
    string) per level of nesting (``tojson(indent=…)``, ``pprint``), counted up to just past ``limit``."""
    total = weight(value, limit)
    width = len(indent) if isinstance(indent, str) else max(int(indent or 0), 0)
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack and width and total <= limit:
        item, depth = stack.pop()
        total += depth * width + 1
        if isinstance(item, (list, tuple, set, frozenset)):
            total += depth * width  # its closing line
            stack.extend((i, depth + 1) for i in item)
        elif isinstance(item, dict):
            total += depth * width
            stack.extend((v, depth + 1) for v in item.values())
    return total


def _lines(text: Any) -> int:
    return str(text).count("\n") + 1


def _filter_estimates() -> dict[str, Callable[..., int]]:
    """filter name -> the size of its result, from its arguments (before it runs)."""

    def join(value: Any, d: Any = "", attribute: Any = None) -> int:
        items = value if isinstance(value, (list, tuple, str)) else list(value)
        return sum(weight(i) for i in items) + len(str(d)) * len(items)

    def indent(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> int:
        pad = len(width) if isinstance(width, str) else int(width)
        return weight(s) + _lines(s) * max(pad, 0)

    def replace(s: Any, old: Any, new: Any, count: Any = None) -> int:
        text, old, new = str(s), str(old), str(new)
        hits = len(text) + 1 if not old else text.count(old)
        return len(text) + hits * len(new)

    def wordwrap(s: Any, width: int = 79, break_long_words: bool = True, wrapstring: Any = None, **_: Any) -> int:
        text = str(s)
        return len(text) + (len(text) // max(int(width), 1) + _lines(text)) * len(wrapstring or "\n")

    def format_(value: Any, *args: Any, **kwargs: Any) -> int:
        check_percent_format(str(value), kwargs or args)
        return 0

    def sum_(iterable: Any, attribute: Any = None, start: Any = 0) -> int:
        return sum(weight(i) for i in iterable) + weight(start)

    def text(value: Any, *args: Any, **kwargs: Any) -> int:
        return weight(value)

    def slices(value: Any, count: Any, fill_with: Any = None) -> int:  # ``slice`` and ``batch``: lists made
        items = value if isinstance(value, (list, tuple, str)) else list(value)
        return weight(items) + 4 * max(int(count), 0)

    return {
        "join": join,
        "indent": indent,
        "replace": replace,
        "wordwrap": wordwrap,
        "format": format_,
        "sum": sum_,
        "string": text,
        "tojson": lambda value, indent=None: indented_size(value, indent),
        "pprint": lambda value: indented_size(value, 1),
        "slice": slices,
        "batch": slices,
        "urlize": text,
        "center": text,
        "trim": text,
        "title": text,
        "capitalize": text,
        "upper": text,
        "lower": text,
        "escape": text,
        "e": text,
        "forceescape": text,
        "striptags": text,
        "xmlattr": text,
        "urlencode": lambda value, *a, **k: 3 * weight(value),
    }


def checked_filters(filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Each filter, wrapped so that what it would build is measured first and refused over the limit."""
    estimates = _filter_estimates()
    out: dict[str, Callable[..., Any]] = {}
    for name, func in filters.items():
        out[name] = _wrap_filter(name, func, estimates.get(name))
    return out


def _wrap_filter(name: str, func: Callable[..., Any], estimate: Callable[..., int] | None) -> Callable[..., Any]:
    # Jinja2 passes the environment / eval context / context first to filters marked for it.
    passes = getattr(func, "jinja_pass_arg", None)

    def checked(*args: Any, **kwargs: Any) -> Any:
        skip = 1 if passes is not None else 0
        values = args[skip:]
        _check_counts(values[1:], kwargs, f"filter {name}")
        if estimate is not None and values:
            if isinstance(values[0], Iterator):  # measured and then filtered: materialize it once
                args = (*args[:skip], list(values[0]), *values[1:])
                values = args[skip:]
            refuse_over(estimate(*values, **kwargs), f"filter {name}")
        result = func(*args, **kwargs)
        if isinstance(result, (str, list, tuple)) and len(result) > MAX_RESULT_CHARS:
            raise SecurityError(f"filter {name} built a value over the size limit")
        return result if values and result is values[0] else charge(result, f"filter {name}")

    if passes is not None:
        checked.jinja_pass_arg = passes  # type: ignore[attr-defined]
    checked.__name__ = getattr(func, "__name__", name)
    return checked


# --- the environment ------------------------------------------------------------------------------------
class _CodeGenerator(CodeGenerator):
    """Jinja2's code generator, with ``~`` going through ``environment.checked_concat``."""

    @optimizeconst
    def visit_Concat(self, node: Concat, frame: Frame) -> None:  # noqa: N802 - Jinja2's visitor name
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def safe_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise SecurityError(f"range() of {len(rng)} items is over the limit of {MAX_RANGE}")
    return rng


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus the size checks described in the module docstring."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=self._finalize, **options)
        self.filters = checked_filters(dict(self.filters))

    _checked = staticmethod(checked_filters)  # for filters added later

    @staticmethod
    def _finalize(value: Any) -> Any:
        if not isinstance(value, str):
            refuse_over(weight(value), "the output of an expression")
        return value

    @staticmethod
    def checked_concat(values: tuple[Any, ...]) -> str:
        refuse_over(sum(weight(v) for v in values), "concatenation (~)")
        return charge("".join(str(v) for v in values), "concatenation (~)")

    @staticmethod
    def concat(pieces: Iterable[str]) -> str:
        """Joins the text of a block inside the template (``{% set x %}``, a macro, ``{% filter %}``): a loop
        in one can repeat a 2 MB text 10,000 times before it is joined, so the size is checked first."""
        parts = pieces if isinstance(pieces, list) else list(pieces)
        refuse_over(sum(map(len, parts)), "a block of the template")
        return charge("".join(parts), "a block of the template")

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and max(left.bit_length(), 1) * right > MAX_POWER_BITS
            ):
                raise SecurityError("power would build a number over the size limit")
            return charge(operator.pow(left, right), "power")
        if operator_name == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple, bytes)) and isinstance(times, int):
                    refuse_over(len(seq) * max(times, 0), "repetition")
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() + right.bit_length() > MAX_POWER_BITS
            ):
                raise SecurityError("multiplication would build a number over the size limit")
            return charge(operator.mul(left, right), "repetition")
        if operator_name == "%":
            if isinstance(left, str):
                check_percent_format(left, right)
            return charge(operator.mod(left, right), "format (%)")
        if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            refuse_over(len(left) + len(right), "concatenation")
        return charge(operator.add(left, right), "concatenation")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja2's
        _check_counts(args, kwargs, f"{getattr(__obj, '__name__', 'a call')}()")
        if getattr(__obj, "__name__", "") == "join" and args and isinstance(args[0], Iterator):
            args = (list(args[0]), *args[1:])  # measured, then joined (its items were charged as made)
        _method_estimate(__obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, (str, list, tuple)) and len(result) > MAX_RESULT_CHARS:
            raise SecurityError("a call built a value over the size limit")
        if result is __obj or result is getattr(__obj, "__self__", None) or any(result is a for a in args):
            return result
        return charge(result, f"{getattr(__obj, '__name__', 'a call')}()")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        fmt = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            if getattr(value, "__name__", "") == "format_map" and args and isinstance(args[0], dict):
                check_brace_format(fmt, (), dict(args[0]))
            else:
                check_brace_format(fmt, args, kwargs)
            return charge(wrapper(*args, **kwargs), "format")

        return checked


def collect(chunks: Iterator[str]) -> str:
    """The rendered text from ``Template.generate``, refused as soon as it passes the size limit."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RESULT_CHARS:
            raise SecurityError(f"the rendered text is over the size limit of {MAX_RESULT_CHARS:,} characters")
        parts.append(chunk)
    return "".join(parts)


# --- time ----------------------------------------------------------------------------------------------
def _swallows_errors(frame: FrameType) -> bool:
    """A finalizer or weak-reference callback that the garbage collector may run in the middle of the
    render (or anything it calls): an error raised there is only printed, and CPython then drops the trace
    function, so the budget would be lost. The next call outside it raises instead."""
    caller: FrameType | None = frame
    while caller is not None:  # the callback itself, or anything it calls (BaseEventLoop.__del__ -> is_closed)
        code = caller.f_code
        if code.co_name == "__del__" or code.co_filename.endswith(("weakref.py", "_weakrefset.py")):
            return True
        caller = caller.f_back
    return False


GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR | inspect.CO_COROUTINE


@contextmanager
def cpu_budget(seconds: float, exceeded: Callable[[], BaseException]) -> Iterator[None]:
    """Raise ``exceeded()`` inside the code that runs in this block once it used ``seconds`` of this thread's
    CPU time (checked on every Python call but a generator's resumption, and every 256 trace events of the
    template's own code, raised on a line). Python drops the trace function once it raised: one error per block."""
    deadline = time.thread_time() + seconds
    ticks = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal ticks
        ticks += 1
        if event == "line" and not ticks & 0xFF and time.thread_time() > deadline:
            raise exceeded()
        return local

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        # Never at a generator's resumption: garbage collection may be closing a generator left suspended
        # by an earlier block (Jinja's lexer), and an error raised there is only printed ("Exception ignored
        # in ... tokeniter") while Python drops the trace function: the budget would stop watching. The
        # next ordinary call, or the template's own lines, raise it instead.
        resumed = frame.f_code.co_flags & GENERATOR_FLAGS
        if not resumed and time.thread_time() > deadline and not _swallows_errors(frame):
            raise exceeded()
        return local if frame.f_code.co_filename == TEMPLATE_FILENAME else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield
    finally:
        sys.settrace(previous)
