import json

import pytest

from chainstudio.core.storage import fileformat
from chainstudio.core.storage.fileformat import LoadError, dumps, load, loads, save
from tests.conftest import EXAMPLES
from tests.core.helpers import fan_out

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.chain.json"))


def test_examples_exist():
    names = {p.name.removesuffix(".chain.json") for p in EXAMPLE_FILES}
    assert {
        "research-sequential",
        "research-parallel",
        "research-hybrid",
        "intent-pipeline",
        "code-review",
        "progressive-refinement",
        "headline-ensemble",
    } <= names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_saving_an_unmodified_example_gives_identical_bytes(path, tmp_path):
    graph = load(path)
    out = tmp_path / path.name
    save(graph, out)
    assert out.read_bytes() == path.read_bytes()


def test_round_trip_of_a_built_graph(tmp_path):
    g = fan_out(3)
    g.resolve("b1").position = (12.345, -7.0)
    save(g, tmp_path / "a.chain.json")
    again = load(tmp_path / "a.chain.json")
    save(again, tmp_path / "b.chain.json")
    assert (tmp_path / "a.chain.json").read_bytes() == (tmp_path / "b.chain.json").read_bytes()
    assert [n.name for n in again.nodes.values()] == [n.name for n in g.nodes.values()]
    assert again.resolve("b1").position == (12.3, -7.0)
    doc = json.loads(dumps(g))
    assert list(doc) == ["format", "version", "name", "description", "inputs", "nodes", "edges"]
    assert doc["format"] == "chainstudio/graph" and doc["version"] == 1


def test_syntax_error_has_line_and_column():
    text = EXAMPLE_FILES[0].read_text()
    with pytest.raises(LoadError) as info:
        loads(text[: len(text) // 2], "x.chain.json")
    (problem,) = info.value.problems
    assert problem.line is not None and problem.line > 1 and problem.column is not None
    assert str(info.value).startswith("x.chain.json: line ")


def test_schema_errors_have_json_paths():
    doc = json.loads(dumps(fan_out(2)))
    doc["nodes"][2]["prompt"] = 42
    doc["nodes"][1]["temperature"] = 9
    doc["nodes"][3]["bogus"] = 1
    with pytest.raises(LoadError) as info:
        fileformat.from_document(doc)
    paths = {p.path for p in info.value.problems}
    assert {"nodes[2].prompt", "nodes[1].temperature", "nodes[3].bogus"} <= paths


def test_unknown_kind_and_dangling_edge():
    doc = json.loads(dumps(fan_out(1)))
    doc["nodes"][0]["kind"] = "magic"
    doc["edges"][-1]["target"] = "node-nowhere"
    with pytest.raises(LoadError) as info:
        fileformat.from_document(doc)
    text = str(info.value)
    assert "nodes[0].kind: unknown node kind 'magic'" in text
    assert "edges[2].target: no node has id 'node-nowhere'" in text
    assert "edges[0]" not in text  # the rejected node's own edges are not reported a second time


def test_newer_version_is_refused_clearly():
    doc = json.loads(dumps(fan_out(1)))
    doc["version"] = 99
    with pytest.raises(LoadError, match="newer ChainStudio"):
        fileformat.from_document(doc)


def test_wrong_format_and_not_an_object():
    with pytest.raises(LoadError, match="not a ChainStudio graph"):
        loads('{"format": "other", "version": 1}')
    with pytest.raises(LoadError, match="expected a JSON object"):
        loads("[1, 2]")


def test_migrations_dispatch_on_version(monkeypatch):
    calls = []

    def from_0(doc):
        calls.append(doc["version"])
        doc = dict(doc, version=1)
        doc["name"] = doc.pop("title")
        return doc

    monkeypatch.setitem(fileformat.MIGRATIONS, 0, from_0)
    graph = loads(json.dumps({"format": "chainstudio/graph", "version": 0, "title": "old"}))
    assert calls == [0] and graph.name == "old"


def test_deeply_nested_json_is_a_clear_error():
    with pytest.raises(LoadError, match="nested too deeply|not valid JSON"):
        loads("[" * 100_000 + "]" * 100_000)


def test_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(fileformat, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.chain.json"
    save(fan_out(3), path)
    with pytest.raises(LoadError, match="limit"):
        load(path)


def test_atomic_save_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "g.chain.json"
    save(fan_out(1), path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(fileformat.os, "replace", boom)
    with pytest.raises(OSError):
        save(fan_out(4), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["g.chain.json"]


def test_unreadable_file_is_a_load_error(tmp_path):
    with pytest.raises(LoadError, match="cannot read"):
        load(tmp_path / "missing.chain.json")
    bad = tmp_path / "bin.chain.json"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(LoadError, match="not UTF-8"):
        load(bad)
