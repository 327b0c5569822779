"""A big graph document is validated a part of its long lists at a time (so that a worker thread loading it
lets the window's loop turn), with the same result and the same located problems as in one call."""

import pytest

from chainstudio.core.storage import chunked_validation, fileformat
from chainstudio.core.storage.fileformat import GraphDoc, LoadError
from tests.conftest import EXAMPLES


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(chunked_validation, "CHUNK", 3)


def document() -> dict:
    import json

    return json.loads((EXAMPLES / "research-hybrid.chain.json").read_text())


def test_a_clean_document_is_the_same_in_parts(small_chunks):
    data = document()
    assert len(data["nodes"]) > 3 and len(data["edges"]) > 3
    doc, errors = chunked_validation.validate_chunked(GraphDoc, data, ("nodes", "edges"))
    assert errors == [] and doc == GraphDoc.model_validate(data)


def test_problems_in_parts_are_located_and_ordered_as_in_one_call(small_chunks):
    data = document()
    data["name"] = 12
    data["nodes"][4]["position"] = ["a", 0]
    data["nodes"][0]["id"] = ""
    data["edges"][5]["stray"] = True
    data["edges"][7].pop("target")
    data["unknown"] = 1
    with pytest.raises(LoadError) as chunked:
        fileformat.from_document(data)
    doc, errors = chunked_validation.validate_chunked(GraphDoc, data, ())  # one call
    assert doc is None
    assert [str(p) for p in chunked.value.problems] == [str(p) for p in fileformat._pydantic_problems(errors)]
    where = [p.path for p in chunked.value.problems]
    assert where == ["name", "nodes[0].id", "nodes[4].position[0]", "edges[5].stray", "edges[7].target", "unknown"]
