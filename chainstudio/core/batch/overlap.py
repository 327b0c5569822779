"""How much parallel branches repeat each other: the token-set Jaccard similarity of sibling steps' outputs.

Siblings are model steps with the same upstream steps (more than one of them: a fan-out's angles). A
row's overlap is the mean Jaccard index |A ∩ B| / |A ∪ B| over every pair of siblings, where A and B are
the sets of lower-cased words of two outputs (1.0: they say the same words; 0.0: nothing in common).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping

from chainstudio.core.graph.model import Graph

WORD = re.compile(r"\w+")


def words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text)}


def jaccard(a: str, b: str) -> float:
    left, right = words(a), words(b)
    union = left | right
    return len(left & right) / len(union) if union else 1.0


def sibling_groups(graph: Graph) -> list[list[str]]:
    """Names of model steps that share their upstream steps, in groups of two or more."""
    groups: dict[frozenset[str], list[str]] = {}
    for node in graph.nodes.values():
        if node.kind == "llm":
            groups.setdefault(frozenset(graph.predecessors(node.id)), []).append(node.name)
    return [names for names in groups.values() if len(names) > 1]


def sibling_pairs(graph: Graph) -> list[tuple[str, str]]:
    return [pair for group in sibling_groups(graph) for pair in itertools.combinations(group, 2)]


def sibling_overlap(graph: Graph, outputs: Mapping[str, str]) -> float | None:
    """The mean Jaccard index over sibling pairs that both answered; None when the graph has no siblings."""
    scores = [jaccard(outputs[a], outputs[b]) for a, b in sibling_pairs(graph) if a in outputs and b in outputs]
    return sum(scores) / len(scores) if scores else None
