"""Prompt templates: sandboxed Jinja2 with strict undefined, reference extraction, safe limits.

Graph files come from other people, so templates render in Jinja2's immutable sandbox (no access to
private attributes or Python internals), with ``range`` and string/list repetition capped so a template
cannot allocate unbounded memory.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from chainstudio.core.errors import ChainStudioError
from chainstudio.core.tokens import count_tokens, truncate_to_tokens

MAX_RESULT_CHARS = 2_000_000  # any rendered prompt or intermediate string beyond this is refused
MAX_RANGE = 10_000
MAX_POWER_BITS = 100_000


class TemplateProblem(ChainStudioError):
    """A template that does not parse or render; ``message`` is a plain sentence."""

    def __init__(self, message: str, *, missing: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.missing = missing
        self.line = line


def _truncate_chars(value: Any, limit: int = 2000, marker: str = "…") -> str:
    text = str(value)
    limit = max(0, int(limit))
    return text if len(text) <= limit else text[:limit] + marker


def _truncate_tokens(value: Any, limit: int = 500, marker: str = "…") -> str:
    return truncate_to_tokens(str(value), max(0, int(limit)), marker)


def _safe_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise SecurityError(f"range() of {len(rng)} items is over the limit of {MAX_RANGE}")
    return rng


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and max(left.bit_length(), 1) * right > MAX_POWER_BITS
            ):
                raise SecurityError("power would build a number over the size limit")
            return operator.pow(left, right)
        if operator_name == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, (str, list, tuple))
                    and isinstance(times, int)
                    and len(seq) * max(times, 0) > MAX_RESULT_CHARS
                ):
                    raise SecurityError("repetition would build a value over the size limit")
            return operator.mul(left, right)
        result = operator.add(left, right)
        if isinstance(result, (str, list, tuple)) and len(result) > MAX_RESULT_CHARS:
            raise SecurityError("concatenation builds a value over the size limit")
        return result


@lru_cache(maxsize=1)
def environment() -> _Environment:
    env = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["truncate_chars"] = _truncate_chars
    env.filters["truncate_tokens"] = _truncate_tokens
    env.filters["tokens"] = lambda value: count_tokens(str(value))
    env.globals = {"range": _safe_range}
    return env


@dataclass(frozen=True)
class References:
    """What a template reads: step names (top-level variables) and ``inputs.<name>`` attributes."""

    steps: frozenset[str]
    inputs: frozenset[str]
    all_inputs: bool = False  # ``inputs`` used as a whole (e.g. iterated), not by attribute


@lru_cache(maxsize=4096)
def _parse(source: str) -> nodes.Template:
    try:
        return environment().parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error on line {exc.lineno}: {exc.message}", line=exc.lineno) from None


@lru_cache(maxsize=4096)
def references(source: str) -> References:
    """Names a template refers to. Raises TemplateProblem on a syntax error."""
    tree = _parse(source)
    from jinja2 import meta

    try:  # the code generator behind this also checks filter and test names
        names = set(meta.find_undeclared_variables(tree))
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template error on line {exc.lineno}: {exc.message}", line=exc.lineno) from None
    names -= set(environment().globals)
    inputs: set[str] = set()
    by_attribute = 0
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node if isinstance(node, (nodes.Getattr, nodes.Getitem)) else None
        if not (isinstance(target, nodes.Name) and target.name == "inputs"):
            continue
        if isinstance(node, nodes.Getattr):
            inputs.add(node.attr)
            by_attribute += 1
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            inputs.add(node.arg.value)
            by_attribute += 1
    total_inputs_uses = sum(1 for n in tree.find_all(nodes.Name) if n.name == "inputs" and n.ctx == "load")
    steps = frozenset(names - {"inputs"})
    return References(steps=steps, inputs=frozenset(inputs), all_inputs=total_inputs_uses > by_attribute)


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Template:
    return environment().from_string(source)  # compiling costs ~0.4 ms; runs render the same prompts often


def precompile(source: str) -> bool:
    """Parse and compile ``source`` now, into the caches ``references`` and ``render`` read, so that a later
    render does not pay for it (~1 ms). False when it does not compile (``render`` then says why)."""
    if "{" not in source:
        return True
    try:
        references(source)
        _compiled(source)
    except (TemplateProblem, TemplateError):
        return False
    return True


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render ``source`` with ``context``; raises TemplateProblem with a plain reason."""
    if "{" not in source:  # no expression, statement or comment: the text renders as itself
        return source
    try:
        text = _compiled(source).render(**context)
    except TemplateProblem:
        raise
    except UndefinedError as exc:
        missing = _missing_name(str(exc))
        raise TemplateProblem(
            f"template refers to {missing or 'a name'} which is not defined here ({exc.message})", missing=missing
        ) from None
    except SecurityError as exc:
        raise TemplateProblem(f"template refused by the sandbox: {exc}") from None
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error on line {exc.lineno}: {exc.message}", line=exc.lineno) from None
    except TemplateError as exc:
        raise TemplateProblem(f"template error: {exc}") from None
    except (MemoryError, OverflowError, RecursionError) as exc:
        raise TemplateProblem(f"template refused: {type(exc).__name__}") from None
    except (TypeError, ValueError, ZeroDivisionError, AttributeError, KeyError, IndexError) as exc:
        raise TemplateProblem(f"template failed: {type(exc).__name__}: {exc}") from None
    if len(text) > MAX_RESULT_CHARS:
        raise TemplateProblem(f"rendered text is {len(text):,} characters, over the limit of {MAX_RESULT_CHARS:,}")
    return text


def _missing_name(message: str) -> str | None:
    # Jinja2 says "'hardware' is undefined" or "'dict object' has no attribute 'topic'".
    if "has no attribute" in message:
        return message.rsplit("'", 2)[-2] if message.count("'") >= 4 else None
    if message.startswith("'") and "' is undefined" in message:
        return message[1 : message.index("' is undefined")]
    return None


_TAG = re.compile(r"({{.*?}}|{%.*?%})", re.S)


def rename_references(source: str, renames: Mapping[str, str]) -> str:
    """``source`` with step names inside ``{{ }}`` / ``{% %}`` tags renamed."""
    if not renames or not source:
        return source
    pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, renames)) + r")(?!\w)")
    return _TAG.sub(lambda m: pattern.sub(lambda n: renames[n.group(1)], m.group(0)), source)


def rename_input_references(source: str, renames: Mapping[str, str]) -> str:
    """``source`` with graph-input references renamed inside tags: ``inputs.old`` and ``inputs['old']``
    (or ``"old"``) become ``inputs.new`` / ``inputs['new']``."""
    if not renames or not source:
        return source
    names = "|".join(map(re.escape, renames))
    pattern = re.compile(r"(?<![\w.])(inputs\s*(?:\.\s*|\[\s*(['\"])))(" + names + r")(?(2)\2|(?!\w))")

    def swap(match: re.Match[str]) -> str:
        quote = match.group(2) or ""
        return f"{match.group(1)}{renames[match.group(3)]}{quote}"

    return _TAG.sub(lambda m: pattern.sub(swap, m.group(0)), source)
