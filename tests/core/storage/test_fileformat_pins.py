"""Format version 2: pinned outputs in the file, only when the user keeps them there (golden files)."""

import json

import pytest

from chainstudio.core.editing.document import Document
from chainstudio.core.editing.pins import SetPin, SetSavePins
from chainstudio.core.editing.rules import CommandError
from chainstudio.core.graph.model import Pin
from chainstudio.core.storage import fileformat
from chainstudio.core.storage.autosave import Autosaver, recoverable
from chainstudio.core.storage.fileformat import LoadError, dumps, load, loads, save
from tests.conftest import ROOT

V1 = ROOT / "tests" / "data" / "format-v1.chain.json"
V2 = ROOT / "tests" / "data" / "format-v2-pins.chain.json"


def test_the_old_format_loads_and_saves_byte_for_byte(tmp_path):
    assert json.loads(V1.read_text())["version"] == 1
    graph = load(V1)
    assert graph.pins == {} and graph.save_pins is False
    save(graph, tmp_path / "again.chain.json")
    assert (tmp_path / "again.chain.json").read_bytes() == V1.read_bytes()


def test_a_file_with_pins_is_version_2_and_round_trips(tmp_path):
    graph = load(V2)
    assert graph.save_pins is True
    assert graph.pins == {"node-draft000001": Pin("Tides rise twice a day.\nThe moon pulls them.", "run-0123456789ab")}
    save(graph, tmp_path / "a.chain.json")
    assert (tmp_path / "a.chain.json").read_bytes() == V2.read_bytes()
    again = load(tmp_path / "a.chain.json")
    save(again, tmp_path / "b.chain.json")
    assert (tmp_path / "b.chain.json").read_bytes() == V2.read_bytes()


def test_pins_stay_out_of_the_file_unless_the_user_keeps_them():
    graph = load(V1)
    graph.pins["node-draft000001"] = Pin("typed by hand")
    assert dumps(graph) == V1.read_text()  # not kept: the file is the plain version-1 graph
    graph.save_pins = True
    doc = json.loads(dumps(graph))
    assert doc["version"] == 2
    assert doc["pins"] == [{"node": "node-draft000001", "output": "typed by hand", "origin": ""}]
    assert list(doc)[-1] == "pins"


def test_a_pin_of_a_removed_step_is_not_written():
    graph = load(V2)
    graph.remove_node("node-draft000001")
    doc = json.loads(dumps(graph))
    assert doc["version"] == 1 and "pins" not in doc


def test_bad_pins_are_clear_errors():
    doc = json.loads(V2.read_text())
    doc["pins"].append({"node": "node-out00000001", "output": "x"})
    doc["pins"].append({"node": "node-nowhere", "output": "x"})
    doc["pins"].append({"node": "node-draft000001", "output": "again"})
    with pytest.raises(LoadError) as info:
        fileformat.from_document(doc, "f.chain.json")
    text = str(info.value)
    assert "pins[1].node: only model steps can be pinned, not 'out'" in text
    assert "pins[2].node: no node has id 'node-nowhere'" in text
    assert "pins[3].node: step 'draft' is pinned twice" in text
    doc["pins"] = [{"node": "node-polish00001", "output": 3, "extra": 1}]
    with pytest.raises(LoadError) as info:
        fileformat.from_document(doc, "f.chain.json")
    assert {p.path for p in info.value.problems} == {"pins[0].output", "pins[0].extra"}


def test_a_version_1_file_cannot_carry_pins():
    doc = json.loads(V2.read_text())
    doc["version"] = 1
    with pytest.raises(LoadError, match="f.chain.json: pins: pins need format version 2"):
        fileformat.from_document(doc, "f.chain.json")


def test_newer_than_the_newest_version_is_refused():
    doc = json.loads(V2.read_text())
    doc["version"] = fileformat.VERSION + 1
    with pytest.raises(LoadError, match=f"reads up to {fileformat.VERSION}"):
        loads(json.dumps(doc))


def test_pin_commands_undo_and_mark_the_document_modified(tmp_path):
    document = Document(load(V1), V1)
    draft = "node-draft000001"
    document.execute(SetPin(draft, Pin("typed")))
    assert document.graph.pins[draft] == Pin("typed") and document.modified
    document.execute(SetSavePins(True))
    path = document.save(tmp_path / "p.chain.json")
    assert json.loads(path.read_text())["pins"][0]["output"] == "typed"
    document.execute(SetPin(draft, None))
    assert draft not in document.graph.pins
    document.undo()
    assert document.graph.pins[draft] == Pin("typed")
    document.undo()
    document.undo()
    assert document.graph.save_pins is False
    with pytest.raises(CommandError, match="only model steps"):
        document.execute(SetPin("node-out00000001", Pin("x")))


def test_an_autosave_keeps_pins_and_the_users_choice(tmp_path):
    graph = load(V1)
    graph.pins["node-draft000001"] = Pin("typed by hand")
    saver = Autosaver(tmp_path)
    saver.write(graph, str(V1))
    meta = saver.graph_path.with_name(saver.graph_path.name.removesuffix(".chain.json") + ".meta.json")
    data = json.loads(meta.read_text())
    data["pid"] = 2**22 + 12345  # a process that is gone: the autosave is left over from a crash
    meta.write_text(json.dumps(data))
    (found,) = recoverable(tmp_path)
    restored = found.load()
    assert restored.pins == graph.pins and restored.save_pins is False
