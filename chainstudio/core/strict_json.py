"""Reading JSON that other people wrote: a bounded read of a regular file, and a strict parse.

* ``read_bounded(path, limit)`` refuses what is not a regular file (a FIFO would block forever, a device
  such as ``/dev/zero`` never ends) and reads at most ``limit`` bytes, whatever ``st_size`` says.
* ``parse(text)`` is ``json.loads`` that also refuses what the standard library lets through: duplicate
  keys (the last one silently wins), ``NaN`` / ``Infinity`` (not JSON), numbers that overflow to
  infinity, and integers too long to be a count (over ``MAX_INT_DIGITS`` digits; Python itself gives up
  at 4,300 with a ValueError). Each problem comes with its JSON path (``nodes[3].position[0]``).
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
from dataclasses import dataclass
from typing import Any

MAX_INT_DIGITS = 20  # a 64-bit count has at most 19 digits (and a sign)


def read_bounded(path: str | os.PathLike[str], limit: int) -> bytes:
    """At most ``limit`` bytes of the regular file ``path``; otherwise an OSError whose ``strerror`` says why."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file (a pipe, a device or a socket)")
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"the file is {info.st_size / 1e6:.1f} MB; the limit is {_mb(limit)} MB")
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise OSError(errno.EFBIG, f"the file is larger than the limit of {_mb(limit)} MB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _mb(limit: int) -> str:
    return f"{limit / (1024 * 1024):g}"


@dataclass(frozen=True)
class _Bad:
    """Stands for a value the parse refused, so that the walk can say where it was."""

    why: str


class _Object(dict[str, Any]):
    """A JSON object that had duplicate keys (the first value of each is kept)."""

    duplicates: list[str]


def standard(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None, so that ``json.dumps`` writes standard JSON
    (it would write ``NaN``, which no other reader takes)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: standard(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [standard(v) for v in value]
    return value


@dataclass(frozen=True)
class Located:
    path: str
    message: str


def parse(text: str) -> tuple[Any, list[Located]]:
    """The JSON value of ``text`` and the problems found in it (empty when it is clean JSON).
    Raises ``json.JSONDecodeError`` for broken syntax and ``RecursionError`` for deep nesting."""
    flagged = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal flagged
        obj = dict(items)
        if len(obj) == len(items):
            return obj
        flagged = True
        marked = _Object()
        seen: set[str] = set()
        marked.duplicates = []
        for key, value in items:
            if key in seen:
                if key not in marked.duplicates:
                    marked.duplicates.append(key)
                continue
            seen.add(key)
            marked[key] = value
        return marked

    def constant(name: str) -> _Bad:
        nonlocal flagged
        flagged = True
        return _Bad(f"{name} is not a JSON number")

    def integer(digits: str) -> int | _Bad:
        nonlocal flagged
        if len(digits) > MAX_INT_DIGITS:
            flagged = True
            return _Bad(f"a number with {len(digits.lstrip('-')):,} digits is too large")
        return int(digits)

    def real(digits: str) -> float | _Bad:
        nonlocal flagged
        value = float(digits)
        if not math.isfinite(value):
            flagged = True
            return _Bad(f"the number {digits[:40]} is too large")
        return value

    value = json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_int=integer, parse_float=real)
    return value, (_locate(value) if flagged else [])


def _locate(root: Any) -> list[Located]:
    """Every refused value and duplicated key under ``root``, with its JSON path (iterative: no recursion)."""
    found: list[Located] = []
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, _Bad):
            found.append(Located(path, value.why))
        elif isinstance(value, dict):
            for key in getattr(value, "duplicates", ()):
                found.append(Located(path, f"the key {key!r} appears more than once"))
            for key, item in reversed(value.items()):
                stack.append((f"{path}.{key}" if path else str(key), item))
        elif isinstance(value, list):
            for i in range(len(value) - 1, -1, -1):
                stack.append((f"{path}[{i}]", value[i]))
    return found


def load_file(path: str | os.PathLike[str], limit: int, *, strict: bool = True) -> Any:
    """The JSON value of a small file the app keeps for itself (settings, credentials, an autosave's note),
    read with ``read_bounded`` and ``parse``: an OSError when it cannot be read (a FIFO is not waited on,
    ``/dev/zero`` not read to the end), a ValueError naming the first problem when it is not clean JSON,
    too deep nesting included (a RecursionError took the window down at start-up). ``strict=False`` lets
    ``NaN`` and duplicate keys through, for a reader that checks each value itself."""
    data = read_bounded(path, limit)
    try:
        if not strict:
            return json.loads(data.decode("utf-8"))
        value, problems = parse(data.decode("utf-8"))
    except RecursionError:
        raise ValueError("it is nested too deeply") from None
    if problems:
        raise ValueError(f"{problems[0].path or 'the document'}: {problems[0].message}")
    return value
