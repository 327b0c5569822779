"""Format version 3 (issue 15's structured steps): used only when a graph uses its fields or kinds; the
example files of earlier versions load and save byte for byte; a v3 file round-trips; an older file that
carries a v3 field is refused in one line."""

import json

import pytest

from chainstudio.core.graph.model import Graph
from chainstudio.core.storage.fileformat import VERSION, LoadError, dumps, load, loads, save
from tests.conftest import ROOT

EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.chain.json"))
V3_EXAMPLES = {"sql-check-repair", "headline-pick-best", "mixed-local-cloud", "intent-router", "entity-map"}


def test_the_format_is_version_3():
    assert VERSION == 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_loads_and_saves_identically_with_the_lowest_version(path, tmp_path):
    version = json.loads(path.read_text())["version"]
    graph = load(path)
    save(graph, tmp_path / path.name)
    assert (tmp_path / path.name).read_bytes() == path.read_bytes()
    uses_v3 = path.name.removesuffix(".chain.json") in V3_EXAMPLES
    assert version == (3 if uses_v3 else 1)


def test_a_v3_file_round_trips_byte_identical():
    text = (ROOT / "resources" / "examples" / "sql-check-repair.chain.json").read_text()
    graph = loads(text)
    assert graph.node_by_name("generate_sql").param("repairs") == 2
    assert '"output_schema"' in text and '"check_judge"' in text and '"check_regex"' not in text
    assert dumps(loads(dumps(graph))) == text


def test_an_llm_step_without_the_new_fields_stays_version_1():
    g = Graph("plain")
    g.add("llm", "a", prompt="hi")
    doc = json.loads(dumps(g))
    assert doc["version"] == 1 and "output_schema" not in doc["nodes"][0] and "repairs" not in doc["nodes"][0]
    g.nodes[next(iter(g.nodes))].params["check_regex"] = "^ok$"
    assert json.loads(dumps(g))["version"] == 3


def test_a_pick_best_step_makes_version_3_and_an_old_file_with_v3_fields_is_refused():
    g = Graph("pick")
    g.add("pick_best", "best")
    doc = json.loads(dumps(g))
    assert doc["version"] == 3 and doc["nodes"][0]["kind"] == "pick_best"
    old = dict(doc, version=2)
    with pytest.raises(LoadError, match="pick_best steps need format version 3"):
        loads(json.dumps(old))
    h = Graph("old")
    h.add("llm", "a", prompt="x", output_schema='{"type": "object"}')
    doc = json.loads(dumps(h))
    with pytest.raises(LoadError, match=r"nodes\[0\]\.output_schema: needs format version 3"):
        loads(json.dumps(dict(doc, version=1)))
