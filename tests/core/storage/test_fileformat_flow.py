"""Format version 3: map and route steps (issue 15). A graph without them is written as before, byte for
byte; one with them is version 3 and round-trips; older versions cannot hold them."""

import json

import pytest

from chainstudio.core.storage import fileformat
from chainstudio.core.storage.fileformat import LoadError, dumps, load, loads
from tests.conftest import EXAMPLES, ROOT

V1 = ROOT / "tests" / "data" / "format-v1.chain.json"
V2 = ROOT / "tests" / "data" / "format-v2-pins.chain.json"
FLOW_EXAMPLES = ("intent-router", "entity-map")


def test_the_newest_version_is_3_and_2_migrates_as_it_is():
    assert fileformat.VERSION == 3
    doc = json.loads(V2.read_text())
    assert fileformat.MIGRATIONS[2](doc) == dict(doc, version=3)


@pytest.mark.parametrize("path", [V1, V2])
def test_files_without_map_or_route_keep_their_version_byte_for_byte(path):
    assert dumps(load(path)) == path.read_text()


@pytest.mark.parametrize("name", FLOW_EXAMPLES)
def test_map_and_route_graphs_are_version_3_and_round_trip(name, tmp_path):
    path = EXAMPLES / f"{name}.chain.json"
    text = path.read_text()
    assert json.loads(text)["version"] == 3
    graph = load(path)
    assert {n.kind for n in graph.nodes.values()} & {"map", "route"}
    assert dumps(graph) == text
    fileformat.save(graph, tmp_path / "again.chain.json")
    assert dumps(load(tmp_path / "again.chain.json")) == text


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_version_cannot_hold_a_map(version):
    doc = json.loads((EXAMPLES / "entity-map.chain.json").read_text())
    doc["version"] = version
    with pytest.raises(LoadError) as info:
        loads(json.dumps(doc))
    assert f"nodes[2].kind: map steps need format version 3 (file: {version})" in str(info.value)


def test_a_route_mode_outside_its_choices_is_refused_with_its_path():
    doc = json.loads((EXAMPLES / "intent-router.chain.json").read_text())
    index = next(i for i, n in enumerate(doc["nodes"]) if n["kind"] == "route")
    doc["nodes"][index]["mode"] = "guess"
    with pytest.raises(LoadError) as info:
        loads(json.dumps(doc))
    assert f"nodes[{index}].mode" in str(info.value)
