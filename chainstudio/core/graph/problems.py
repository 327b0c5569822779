"""A validation problem, and the list of a graph's problems kept compactly.

A graph of 10,000 steps and 100,000 edges has 89,946 edges that only order their steps, each with a warning:
as ``Problem`` objects with their own two sentences they took about 27 MB (about 300 bytes a warning) for as
long as the window kept the revision's problems. ``Problems`` is the sequence ``validate`` returns: the other
problems as they are, and each run of ordering-only warnings as the ids and names they are made of (the
names are the graph's own strings: 32 bytes a warning); a warning's ``Problem`` is made when it is read
(indexed or iterated), equal to the one made before. The order is ``validate``'s, unchanged.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, overload

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    severity: Severity
    location: str  # e.g. 'security.prompt', 'edge hardware -> security', 'inputs[0]'
    message: str
    node_id: str | None = None
    edge_id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        return f"{self.severity}: {self.location}: {self.message}"


def ordering_only_warning(source_name: str, target_name: str, node_id: str, edge_id: str) -> Problem:
    """The warning for an edge whose target (``node_id``, named ``target_name``) never uses its source's output."""
    return Problem(
        "warning",
        f"edge {source_name} -> {target_name}",
        f"{target_name!r} never uses the output of {source_name!r}; this edge only orders the steps",
        node_id,
        edge_id,
    )


class _OrderingOnly:
    """Consecutive ordering-only warnings, as the four strings each is made of (in four lists)."""

    __slots__ = ("sources", "targets", "node_ids", "edge_ids")

    def __init__(self) -> None:
        self.sources: list[str] = []
        self.targets: list[str] = []
        self.node_ids: list[str] = []
        self.edge_ids: list[str] = []

    def __len__(self) -> int:
        return len(self.edge_ids)

    def add(self, source_name: str, target_name: str, node_id: str, edge_id: str) -> None:
        self.sources.append(source_name)
        self.targets.append(target_name)
        self.node_ids.append(node_id)
        self.edge_ids.append(edge_id)

    def at(self, i: int) -> Problem:
        return ordering_only_warning(self.sources[i], self.targets[i], self.node_ids[i], self.edge_ids[i])

    def __iter__(self) -> Iterator[Problem]:
        for row in zip(self.sources, self.targets, self.node_ids, self.edge_ids, strict=True):
            yield ordering_only_warning(*row)


class Problems(Sequence[Problem]):
    """A graph's problems in ``validate``'s order; compares equal to a list of the same problems."""

    __slots__ = ("_parts", "_ends")

    def __init__(self, problems: Iterable[Problem] = ()) -> None:
        self._parts: list[list[Problem] | _OrderingOnly] = []
        self._ends: list[int] | None = []  # where each part ends (None: to count again)
        self.extend(problems)

    # --- building --------------------------------------------------------------------------------
    def append(self, problem: Problem) -> None:
        last = self._parts[-1] if self._parts else None
        if not isinstance(last, list):
            last = []
            self._parts.append(last)
        last.append(problem)
        self._ends = None

    def add_ordering_only(self, source_name: str, target_name: str, node_id: str, edge_id: str) -> None:
        """Add ``ordering_only_warning(...)``, kept as its four strings."""
        last = self._parts[-1] if self._parts else None
        if not isinstance(last, _OrderingOnly):
            last = _OrderingOnly()
            self._parts.append(last)
        last.add(source_name, target_name, node_id, edge_id)
        self._ends = None

    def extend(self, problems: Iterable[Problem]) -> None:
        if isinstance(problems, Problems):  # (its ordering-only warnings stay compact)
            for part in problems._parts:
                if isinstance(part, list):
                    for problem in part:
                        self.append(problem)
                else:
                    for row in zip(part.sources, part.targets, part.node_ids, part.edge_ids, strict=True):
                        self.add_ordering_only(*row)
            return
        for problem in problems:
            self.append(problem)

    def __add__(self, other: Iterable[Problem]) -> Problems:
        both = Problems(self)
        both.extend(other)
        return both

    # --- reading ---------------------------------------------------------------------------------
    def _part_ends(self) -> list[int]:
        if self._ends is None:
            ends, total = [], 0
            for part in self._parts:
                total += len(part)
                ends.append(total)
            self._ends = ends
        return self._ends

    def __len__(self) -> int:
        ends = self._part_ends()
        return ends[-1] if ends else 0

    @overload
    def __getitem__(self, index: int) -> Problem: ...

    @overload
    def __getitem__(self, index: slice) -> list[Problem]: ...

    def __getitem__(self, index: int | slice) -> Problem | list[Problem]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("problem index out of range")
        ends = self._part_ends()
        which = bisect_right(ends, index)
        part = self._parts[which]
        offset = index - (ends[which - 1] if which else 0)
        return part[offset] if isinstance(part, list) else part.at(offset)

    def __iter__(self) -> Iterator[Problem]:
        for part in self._parts:
            yield from part

    def kept(self) -> Iterator[Problem]:
        """The problems other than the ordering-only warnings (none of those is made)."""
        for part in self._parts:
            if isinstance(part, list):
                yield from part

    def of_node(self, node_id: str | None) -> list[Problem]:
        """The problems of step ``node_id`` (``node_id`` theirs), in order; only those are made."""
        out: list[Problem] = []
        for part in self._parts:
            if isinstance(part, list):
                out += [p for p in part if p.node_id == node_id]
            else:
                out += [part.at(i) for i, mine in enumerate(part.node_ids) if mine == node_id]
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (Problems, list, tuple)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # (mutable while it is built, like a list)

    def __repr__(self) -> str:
        return f"Problems({list(self)!r})"


def kept_problems(problems: Iterable[Problem]) -> Iterable[Problem]:
    """``problems`` without, in a ``Problems``, its ordering-only warnings (none made): for a filter that leaves
    every warning about an edge out anyway (a list is given back whole, and the filter does the rest)."""
    return problems.kept() if isinstance(problems, Problems) else problems


def problems_of(problems: Iterable[Problem], node_id: str | None) -> list[Problem]:
    """The problems of step ``node_id``, in order (in a ``Problems``, only those are made)."""
    if isinstance(problems, Problems):
        return problems.of_node(node_id)
    return [p for p in problems if p.node_id == node_id]
