"""A revision's ordering-only edges are found once, by whichever asks first: the canvas's sliced pass
(``Document.find_ordering_only``) or the worker's problem check, which takes them when known and hands back
those it found."""

import pytest

from chainstudio.core.editing import document as document_module
from chainstudio.core.editing import problem_check
from chainstudio.core.editing.commands import RemoveNodes
from chainstudio.core.editing.document import Document
from chainstudio.core.graph.validation import ordering_only_edges, validate
from chainstudio.core.storage import fileformat
from tests.conftest import EXAMPLES

SEQUENTIAL = EXAMPLES / "research-sequential.chain.json"


@pytest.fixture
def searches(monkeypatch) -> list[str]:
    """Who looked for ordering-only edges: "canvas" (the document's parts) or "check" (the worker's)."""
    monkeypatch.setattr(problem_check, "SMALL_GRAPH_ITEMS", 0)  # every graph is checked on a worker
    found: list[str] = []
    parts, whole = document_module.ordering_only_parts, problem_check.ordering_only_edges

    def counted_parts(*args, **kwargs):
        found.append("canvas")
        return parts(*args, **kwargs)

    def counted_whole(*args, **kwargs):
        found.append("check")
        return whole(*args, **kwargs)

    monkeypatch.setattr(document_module, "ordering_only_parts", counted_parts)
    monkeypatch.setattr(problem_check, "ordering_only_edges", counted_whole)
    return found


def test_the_check_hands_back_what_it_found_and_the_canvas_does_not_look_again(searches):
    document = Document(fileformat.load(SEQUENTIAL))
    assert document.known_problems is None
    assert document.accept(document.problem_check().run())
    assert list(document.find_ordering_only()) == []  # nothing left to find
    assert document.ordering_only == ordering_only_edges(document.graph) and document.ordering_only
    assert searches == ["check"]
    assert document.known_problems == validate(document.graph)


def test_the_check_takes_what_the_canvas_found(searches):
    document = Document(fileformat.load(SEQUENTIAL))
    for _ in document.find_ordering_only():
        pass
    check = document.problem_check()
    assert check.ordering_only == ordering_only_edges(document.graph)
    assert document.accept(check.run())
    assert searches == ["canvas"]
    assert document.known_problems == validate(document.graph)
    document.execute(RemoveNodes([next(iter(document.graph.nodes))]))  # a new revision: found again
    assert document.problem_check().ordering_only is None
    assert document.accept(document.problem_check().run())
    assert searches == ["canvas", "check"]
