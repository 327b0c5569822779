"""Classes 6 and 8, files: what is not a regular file, what JSON lets through (duplicate keys, NaN, numbers
too large), loose types, and saving through a symbolic link."""

from __future__ import annotations

import json
import os
import threading

import pytest

from chainstudio.core.graph.model import Graph, name_problem
from chainstudio.core.graph.validation import errors, validate
from chainstudio.core.storage.fileformat import MAX_COORDINATE, LoadError, dumps, load, loads, save
from chainstudio.core.storage.settings import load_settings
from tests.hostile.helpers import assert_clean, cli


def _doc(**node):
    base = {"id": "n1", "kind": "llm", "name": "ask", "prompt": "hi"}
    return {"format": "chainstudio/graph", "version": 1, "nodes": [{**base, **node}]}


def _problems(text):
    with pytest.raises(LoadError) as info:
        loads(text)
    return [str(p) for p in info.value.problems]


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.chain.json"
    os.mkfifo(fifo)
    done = threading.Event()
    problems: list[str] = []

    def read():
        try:
            load(fifo)
        except LoadError as exc:
            problems.append(str(exc))
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(30), "loading a FIFO blocked"
    assert "not a regular file" in problems[0]


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused(path):
    with pytest.raises(LoadError, match="not a regular file"):
        load(path)


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(LoadError, match="folder"):
        load(tmp_path)


def test_the_cli_refuses_them_in_one_line(tmp_path):
    fifo = tmp_path / "p.chain.json"
    os.mkfifo(fifo)
    result = cli("validate", str(fifo), "/dev/zero", timeout=60)
    assert result.returncode == 1 and result.stderr.count("not a regular file") == 2
    assert_clean(result)


def test_duplicate_keys_are_an_error_with_their_location():
    text = json.dumps(_doc()).replace('"prompt": "hi"', '"prompt": "hi", "prompt": "bye"')
    assert _problems(text) == ["nodes[0]: the key 'prompt' appears more than once"]


@pytest.mark.parametrize(
    ("value", "message"),
    [("NaN", "NaN is not a JSON number"), ("Infinity", "Infinity is not a JSON number"), ("1e400", "too large")],
)
def test_non_numbers_in_positions_are_an_error_with_their_location(value, message):
    text = json.dumps(_doc(position=[0, 0])).replace('"position": [0, 0]', f'"position": [1, {value}]')
    problems = _problems(text)
    assert len(problems) == 1 and problems[0].startswith("nodes[0].position[1]:") and message in problems[0]


def test_a_4301_digit_integer_is_an_error_not_a_traceback(tmp_path):
    text = json.dumps(_doc(max_tokens=1)).replace('"max_tokens": 1', '"max_tokens": ' + "9" * 4301)
    assert _problems(text) == ["nodes[0].max_tokens: a number with 4,301 digits is too large"]
    path = tmp_path / "big.chain.json"
    path.write_text(text)
    result = cli("validate", str(path))
    assert result.returncode == 1 and "4,301 digits" in result.stderr
    assert_clean(result)


def test_far_positions_are_clamped_and_saved_as_standard_json():
    graph = loads(json.dumps(_doc(position=[1e308, -1e308])))
    assert graph.nodes["n1"].position == (MAX_COORDINATE, -MAX_COORDINATE)
    graph.nodes["n1"].position = (float("nan"), float("inf"))  # as a broken editor might leave it
    text = dumps(graph)
    assert "NaN" not in text and "Infinity" not in text
    assert loads(text).nodes["n1"].position == (0.0, MAX_COORDINATE)


@pytest.mark.parametrize(
    ("field", "value"), [("max_tokens", True), ("retries", 2.0), ("temperature", "0.3"), ("timeout", False)]
)
def test_parameters_have_strict_types(field, value):
    problems = _problems(json.dumps(_doc(**{field: value})))
    assert len(problems) == 1 and problems[0].startswith(f"nodes[0].{field}:")


def test_a_name_with_a_trailing_newline_is_refused():
    assert name_problem("ask\n") is not None
    graph = loads(json.dumps(_doc(name="ask\n")))
    assert any("step name" in p.message for p in errors(validate(graph)))


def test_saving_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "real.chain.json"
    link = tmp_path / "link.chain.json"
    save(Graph("old"), target)
    link.symlink_to(target)
    save(Graph("new"), link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert load(target).name == "new"


def test_lone_surrogates_save_as_valid_utf8(tmp_path):
    graph = Graph("bad \ud800 name")
    save(graph, tmp_path / "g.chain.json")
    raw = (tmp_path / "g.chain.json").read_bytes().decode("utf-8")  # strict: valid UTF-8
    assert load(tmp_path / "g.chain.json").name == "bad \ud800 name" and "\\ud800" in raw


def test_hostile_settings_files_give_the_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINSTUDIO_CONFIG_DIR", str(tmp_path))
    for text in ("[" * 5000, '{"concurrency": "many", "strategy": 5}', "NaN", '{"price_overrides": []}'):
        (tmp_path / "settings.json").write_text(text)
        settings = load_settings()
        assert isinstance(settings.concurrency, int) and isinstance(settings.strategy, str)
        assert isinstance(settings.price_overrides, dict)


def test_a_damaged_step_cache_is_one_warning_and_the_run_goes_on(tmp_path):
    """A step cache that is not a database printed a traceback for every step (lookups and writes, through
    Python's default logging); now one line names the file and the run goes on without it."""
    from tests.conftest import EXAMPLES

    data = tmp_path / "data"
    data.mkdir()
    (data / "step_cache.sqlite3").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)
    graph = tmp_path / "g.chain.json"
    graph.write_bytes((EXAMPLES / "research-sequential.chain.json").read_bytes())
    result = cli(
        "run", str(graph), "--speed", "1000", "--cache", "--no-output", env={"CHAINSTUDIO_DATA_DIR": str(data)}
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "step cache" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: ") and "rename or delete it" in warnings[0]
    assert_clean(result)
    info = cli("cache", "info", env={"CHAINSTUDIO_DATA_DIR": str(data)})
    assert info.returncode != 0 and "cannot be read" in info.stderr and len(info.stderr.strip().splitlines()) == 1
    assert_clean(info)


@pytest.mark.parametrize("flag", ["--judge", "--check"])
@pytest.mark.parametrize("what", ["fifo", "/dev/zero"])
def test_batch_files_given_by_flags_are_read_as_files(tmp_path, flag, what):
    """``batch --judge @/dev/zero`` read 22 GB, ``--judge @FIFO`` and ``--check json-schema:FIFO`` hung."""
    from tests.conftest import EXAMPLES

    graph = tmp_path / "g.chain.json"
    graph.write_bytes((EXAMPLES / "research-sequential.chain.json").read_bytes())
    dataset = tmp_path / "rows.csv"
    dataset.write_text("topic\nquantum\n")
    path = "/dev/zero"
    if what == "fifo":
        path = str(tmp_path / "pipe")
        os.mkfifo(path)
    value = f"@{path}" if flag == "--judge" else f"json-schema:{path}"
    out = tmp_path / "out.jsonl"
    result = cli("batch", str(graph), "--dataset", str(dataset), "--out", str(out), flag, value, timeout=60)
    assert result.returncode == 2 and "not a regular file" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()
    assert_clean(result)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda doc: doc.update(description="d" * 20_001),
            "description: 20,001 characters is over the limit of 20,000",
        ),
        (lambda doc: doc.update(name="n" * 201), "name: 201 characters is over the limit of 200"),
        (
            lambda doc: doc["inputs"][0].update(description="d" * 20_001),
            "inputs[0].description: 20,001 characters",
        ),
        (
            lambda doc: doc["inputs"][0].update(default="x" * 2_000_001),
            "inputs[0].default: 2,000,001 characters is over the limit of 2,000,000",
        ),
        (lambda doc: doc.update(inputs=[{"name": f"i{n}"} for n in range(1_001)]), "1,001 inputs is over the limit"),
    ],
    ids=["description", "name", "input description", "input default", "inputs"],
)
def test_notes_and_inputs_have_limits_the_window_can_show(tmp_path, change, said):
    """A 15 MB graph description loaded, then kept the window busy over 200 s laying it out in the Inspector;
    20,000 graph inputs took 0.76 s of the window's thread; a 15 MB default could never render."""
    from tests.conftest import EXAMPLES

    doc = json.loads((EXAMPLES / "research-sequential.chain.json").read_text())
    change(doc)
    with pytest.raises(LoadError) as caught:
        loads(json.dumps(doc))
    assert said in str(caught.value) and "\n" not in str(caught.value)
