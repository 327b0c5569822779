"""Prompt templates: sandboxed Jinja2 with strict undefined, reference extraction, hard bounds. Over 400
lines because the fast ways past Jinja2 (reading and rendering plain ``{{ name }}`` tags) live beside it.

Graph files come from other people, so templates render in Jinja2's immutable sandbox (no access to
private attributes or Python internals) with the bounds of ``core.graph.sandbox``: no value over
``MAX_RESULT_CHARS`` is built, and a render stops after its CPU budget (``RENDER_CPU_SECONDS``). A template
longer than ``MAX_TEMPLATE_CHARS`` or with more than ``MAX_TEMPLATE_TAGS`` tags, or nested too deeply to
parse, is refused with a plain sentence before Jinja2 parses it (or when its parser gives up).

``inputs`` is a ``TemplateInputs``: ``inputs.items`` is the graph input named ``items``, not a method.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

from chainstudio.core.errors import ChainStudioError
from chainstudio.core.graph.sandbox import (
    MAX_POWER_BITS,
    MAX_RANGE,
    MAX_RESULT_CHARS,
    TEMPLATE_FILENAME,
    BoundedEnvironment,
    build_allowance,
    collect,
    cpu_budget,
    safe_range,
)
from chainstudio.core.tokens import TEMPLATE_COUNT_CHARS, count_tokens_bounded, load_tokenizer, truncate_to_tokens

__all__ = ["MAX_POWER_BITS", "MAX_RANGE", "MAX_RESULT_CHARS", "TemplateInputs", "TemplateProblem", "TemplateTooSlow"]

MAX_TEMPLATE_CHARS = MAX_RESULT_CHARS  # a template longer than the longest text it may render
MAX_TEMPLATE_TAGS = 2_000  # {{ }}, {% %} and {# #} in one template: Jinja2 parses ~5,000 a second
RENDER_CPU_SECONDS = 2.0  # one render's CPU time
ON_LOOP_CPU_SECONDS = 0.05  # what a render or a compile may take on an event loop before it moves off it


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


class TemplateTooSlow(TemplateProblem):
    """A render that used up its CPU budget (the executor retries it off the event loop with the full one)."""


class TemplateInputs:
    """The graph inputs as a template sees them: ``inputs.NAME`` and ``inputs['NAME']`` are the values, for
    any name (``items``, ``keys``, ``get`` included); ``for name in inputs`` and ``inputs|length`` work. A
    dict's reading methods are reached only where no input has their name."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]):
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        if name in ("items", "keys", "values", "get"):
            return getattr(values, name)
        raise AttributeError(name)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return repr(self._values)


def _tokens(value: Any) -> int:
    """The ``tokens`` filter: exact up to ``TEMPLATE_COUNT_CHARS`` characters, estimated from samples beyond
    (a 2 MB text of CJK would take longer to count exactly than a render may take)."""
    return count_tokens_bounded(str(value), TEMPLATE_COUNT_CHARS)


class _Environment(BoundedEnvironment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        """``inputs.NAME`` is the graph input's value whatever its name: ``_x`` or ``__class__`` too (the
        sandbox refuses such attributes of other objects; a graph input's value is the user's own text)."""
        if isinstance(obj, TemplateInputs) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


@lru_cache(maxsize=1)
def environment() -> BoundedEnvironment:
    env = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    extra: dict[str, Callable[..., Any]] = {
        "truncate_chars": _truncate_chars,
        "truncate_tokens": _truncate_tokens,
        "tokens": _tokens,
    }
    env.filters.update(type(env)._checked(extra))
    env.globals = {"range": safe_range}
    return env


def _too_big(source: str) -> TemplateProblem | None:
    """Why ``source`` is refused before parsing, or None (a count, not a parse: fast on any size)."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return TemplateProblem(f"the template is {len(source):,} characters, over the limit of {MAX_TEMPLATE_CHARS:,}")
    tags = source.count("{{") + source.count("{%") + source.count("{#")
    if tags > MAX_TEMPLATE_TAGS:
        return TemplateProblem(f"the template has {tags:,} tags, over the limit of {MAX_TEMPLATE_TAGS:,}")
    return None


@dataclass(frozen=True)
class References:
    """What a template reads: step names (top-level variables) and ``inputs.<name>`` attributes."""

    steps: frozenset[str]
    inputs: frozenset[str]
    all_inputs: bool = False  # ``inputs`` used as a whole (e.g. iterated), not by attribute


_TOO_DEEP = "the template is nested too deeply to read"


@lru_cache(maxsize=4096)
def _parse(source: str) -> nodes.Template:
    problem = _too_big(source)
    if problem is not None:
        raise problem
    try:
        return environment().parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error on line {exc.lineno}: {exc.message}", line=exc.lineno) from None
    except (RecursionError, MemoryError):
        raise TemplateProblem(_TOO_DEEP) from None


# A template made only of simple expression tags — ``{{ name }}``, ``{{ inputs.topic }}``, ``{{ name | filter }}``,
# ``{{ name | filter(3, 'x') }}`` — is read without Jinja2's parser (~0.3 ms a template, the bulk of validating
# 10,000 steps). Anything else (statements, comments, other expressions, unknown filters, keywords) goes to
# the parser, so both ways find the same names.
_LITERAL = r"""(?:-?\d+(?:\.\d+)?|'[^'\\{}%#\n]*'|"[^"\\{}%#\n]*")"""
_FILTER = rf"\s*\|\s*([A-Za-z_]\w*)(?:\(\s*(?:{_LITERAL}(?:\s*,\s*{_LITERAL})*)?\s*\))?"
_SIMPLE_TAG = re.compile(rf"\{{\{{-?\s*([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?((?:{_FILTER})*)\s*-?\}}\}}", re.ASCII)
_FILTER_NAME = re.compile(_FILTER, re.ASCII)
_OPENER = re.compile(r"\{[{%#]")
_KEYWORDS = frozenset({"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else"})


def _simple_references(source: str) -> References | None:
    """The references of a template of simple tags only, or None when it has anything else."""
    filters = environment().filters
    steps: set[str] = set()
    inputs: set[str] = set()
    whole_inputs = False
    for opener in _OPENER.finditer(source):
        match = _SIMPLE_TAG.match(source, opener.start())
        if match is None:
            return None
        name, attr, chain = match.group(1), match.group(2), match.group(3)
        if name in _KEYWORDS or (attr is not None and attr in _KEYWORDS):
            return None
        if chain and any(f.group(1) not in filters for f in _FILTER_NAME.finditer(chain)):
            return None
        if name == "inputs":
            if attr is None:
                whole_inputs = True
            else:
                inputs.add(attr)
        elif name not in environment().globals:
            steps.add(name)
    return References(steps=frozenset(steps), inputs=frozenset(inputs), all_inputs=whole_inputs)


# A template whose tags are all plain ``{{ name }}`` or ``{{ inputs.name }}`` (no filter, no whitespace control)
# renders by substitution, as Jinja2 would render it, without compiling it (~1 ms a template: most of a
# 10,000-step run's engine time was compiling its 10,000 distinct prompts). Anything else, a name without a
# text value, or a result over the size limit goes to Jinja2, which renders it or says why not.
_PLAIN_TAG = re.compile(r"\{\{\s*([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?\s*\}\}", re.ASCII)
_Part = tuple[str, str | None]  # (name, attribute) of a plain tag


@lru_cache(maxsize=4096)  # as many as the other caches of templates
def _plain_parts(source: str) -> tuple[str | _Part, ...] | None:
    """``source`` as literal texts and plain tags, or None when it has anything else."""
    if "\r" in source or _too_big(source) is not None:
        return None  # Jinja2 turns \r\n into \n; an oversized template gets its own message
    parts: list[str | _Part] = []
    end = 0
    for opener in _OPENER.finditer(source):
        if opener.start() < end:
            continue
        match = _PLAIN_TAG.match(source, opener.start())
        if match is None:
            return None
        name, attr = match.group(1), match.group(2)
        if name in _KEYWORDS or name in environment().globals or (attr is not None and name != "inputs"):
            return None
        if name == "inputs" and attr is None:
            return None
        parts += [source[end : opener.start()], (name, attr)]
        end = match.end()
    parts.append(source[end:])
    return tuple(p for p in parts if p)


def _plain_render(source: str, context: Mapping[str, Any]) -> str | None:
    """``source`` rendered by substitution, or None when Jinja2 must render it (see ``_PLAIN_TAG``)."""
    parts = _plain_parts(source)
    if parts is None:
        return None
    inputs = context.get("inputs")
    out: list[str] = []
    size = 0
    for part in parts:
        if isinstance(part, str):
            value: Any = part
        elif part[1] is None:
            value = context.get(part[0])
        else:
            value = inputs.get(part[1]) if isinstance(inputs, Mapping) else None
        if not isinstance(value, str):
            return None
        size += len(value)
        if size > MAX_RESULT_CHARS:
            return None
        out.append(value)
    return "".join(out)


_READ: dict[str, References | TemplateProblem] = {}  # what templates read, and the problems found, by source
_READ_LIMIT = 4096  # sources remembered (the oldest go first)
_READ_LOCK = threading.Lock()


def references(source: str) -> References:
    """Names a template refers to. Raises TemplateProblem on a syntax error. A template of plain tags is
    read with a regular expression; any other is parsed (up to ~0.5 s for 2,000 tags: see
    ``references_if_read`` for callers that must not wait for that)."""
    read = _READ.get(source)
    if read is None:
        try:
            read = _read(source)
        except TemplateProblem as exc:
            read = exc
        with _READ_LOCK:  # the window reads templates on a worker thread too
            if len(_READ) >= _READ_LIMIT:
                _READ.pop(next(iter(_READ)), None)
            _READ[source] = read
    if isinstance(read, TemplateProblem):
        raise TemplateProblem(read.message, missing=read.missing, line=read.line)
    return read


def references_if_read(source: str) -> References | None:
    """``references(source)`` when it needs no parsing (a template read before, or one of simple tags
    only), else None: the caller (e.g. the window's event loop) reads it elsewhere (``references``) and asks
    again. Raises TemplateProblem as ``references`` does."""
    if source in _READ or _too_big(source) is not None or "{" not in source or _simple_references(source):
        return references(source)
    return None


def _read(source: str) -> References:
    problem = _too_big(source)
    if problem is not None:
        raise problem
    simple = _simple_references(source) if "{" in source else References(frozenset(), frozenset())
    if simple is not None:
        return simple
    tree = _parse(source)
    from jinja2 import meta

    try:  # the code generator behind this also checks filter and test names
        names = set(meta.find_undeclared_variables(tree))
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template error on line {exc.lineno}: {exc.message}", line=exc.lineno) from None
    except (RecursionError, MemoryError):
        raise TemplateProblem(_TOO_DEEP) from None
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
    problem = _too_big(source)
    if problem is not None:
        raise problem
    env = environment()
    try:  # compiling costs ~0.4 ms; runs render the same prompts often
        return env.template_class.from_code(env, env.compile(source, filename=TEMPLATE_FILENAME), env.globals)
    except (RecursionError, MemoryError):
        raise TemplateProblem(_TOO_DEEP) from None


def precompile(source: str, *, cpu_seconds: float = ON_LOOP_CPU_SECONDS) -> bool:
    """Parse and compile ``source`` now, into the caches ``references`` and ``render`` read, so that a later
    render does not pay for it (~1 ms). False when it does not compile within ``cpu_seconds`` (``render``
    then compiles it, or says why it cannot)."""
    if "{" not in source or _plain_parts(source) is not None:
        return True
    try:
        with cpu_budget(cpu_seconds, lambda: TemplateTooSlow("compiling the template took too long")):
            references(source)
            _compiled(source)
    except (TemplateProblem, TemplateError):
        return False
    return True


def render(source: str, context: Mapping[str, Any], *, cpu_seconds: float = RENDER_CPU_SECONDS) -> str:
    """Render ``source`` with ``context`` within ``cpu_seconds`` of CPU time (compiling included); raises
    TemplateProblem with a plain reason (TemplateTooSlow when the budget ran out)."""
    if "{" not in source:  # no expression, statement or comment: the text renders as itself
        return source
    plain = _plain_render(source, context)
    if plain is not None:
        return plain
    if "tokens" in source:
        load_tokenizer()  # once per process, seconds: not the template's CPU time
    values = dict(context)
    if isinstance(values.get("inputs"), Mapping):
        values["inputs"] = TemplateInputs(values["inputs"])

    def too_slow() -> TemplateTooSlow:
        return TemplateTooSlow(f"the template took more than {cpu_seconds:g} s of CPU time to render")

    try:
        with cpu_budget(cpu_seconds, too_slow), build_allowance():
            text = collect(_compiled(source).generate(**values))
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
    except Exception as exc:  # noqa: BLE001 - whatever a template makes Python raise is that template's failure
        raise TemplateProblem(f"template failed: {type(exc).__name__}: {_one_line(exc)}") from None
    return text


def _one_line(value: object, limit: int = 300) -> str:
    lines = str(value).strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[:limit] + "…"


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
