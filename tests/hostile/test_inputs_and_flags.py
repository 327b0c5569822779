"""Class 9, graph inputs named like dict methods, and class 10, plain reasons: flags and places that cannot
be used are refused in one line before anything runs, and what fails after a run loses nothing."""

from __future__ import annotations

import pytest

from chainstudio.core.graph.model import Graph, GraphInput
from chainstudio.core.graph.templating import TemplateProblem, render
from chainstudio.core.graph.validation import errors, validate
from chainstudio.core.providers.simulated import SimulatedProvider
from chainstudio.core.run.executor import RunContext, run_graph
from chainstudio.core.storage.history import RunHistory
from tests.conftest import EXAMPLES
from tests.hostile.helpers import assert_clean, cli

METHOD_NAMES = ("items", "keys", "values", "get", "copy", "pop", "update")


def test_inputs_named_like_dict_methods_render_their_values():
    graph = Graph("g", inputs=[GraphInput(name, f"<{name}>") for name in METHOD_NAMES])
    template = " ".join(f"{{{{ inputs.{name} }}}}" for name in METHOD_NAMES)
    graph.add("join", "all", template=template)
    assert errors(validate(graph)) == []
    import asyncio

    run = asyncio.run(run_graph(graph, RunContext(provider=SimulatedProvider())))
    assert run.state.span_by_name("all").output == " ".join(f"<{name}>" for name in METHOD_NAMES)
    assert render("{{ inputs['keys'] }} {{ inputs | length }}", {"inputs": {"keys": "k"}}) == "k 1"
    assert render("{% for k, v in inputs.items() %}{{ k }}={{ v }}{% endfor %}", {"inputs": {"a": "1"}}) == "a=1"


UNDERSCORE_NAMES = ["_x", "__class__", "__init__", "_values"]


def test_inputs_named_with_underscores_render_their_values_as_validate_promises():
    """Held-out payload of class 9: a graph input named ``__class__`` or ``_x`` validated, then its step failed
    ("access to attribute ... is unsafe"); by substitution it rendered. Now every way renders the value."""
    graph = Graph("g", inputs=[GraphInput(name, f"<{name}>") for name in UNDERSCORE_NAMES])
    plain = " ".join(f"{{{{ inputs.{name} }}}}" for name in UNDERSCORE_NAMES)  # rendered by substitution
    filtered = " ".join(f"{{{{ inputs.{name} | upper }}}}" for name in UNDERSCORE_NAMES)  # through Jinja2
    graph.add("join", "plain", template=plain)
    graph.add("join", "filtered", template=filtered)
    assert errors(validate(graph)) == []
    import asyncio

    run = asyncio.run(run_graph(graph, RunContext(provider=SimulatedProvider())))
    expected = " ".join(f"<{name}>" for name in UNDERSCORE_NAMES)
    assert run.state.span_by_name("plain").output == expected
    assert run.state.span_by_name("filtered").output == expected.upper()
    with pytest.raises(TemplateProblem, match="unsafe"):  # not an input: the sandbox still refuses it
        render("{{ inputs.__class__ }}", {"inputs": {"topic": "t"}})


@pytest.fixture()
def graph_file(tmp_path):
    path = tmp_path / "g.chain.json"
    path.write_bytes((EXAMPLES / "research-hybrid.chain.json").read_bytes())
    return path


@pytest.mark.parametrize("flag", ["--json", "--trace", "--csv", "--gantt"])
def test_an_output_into_a_missing_folder_is_refused_before_the_run(graph_file, tmp_path, flag):
    data = tmp_path / "data"
    target = tmp_path / "missing" / ("out.svg" if flag == "--gantt" else "out.json")
    result = cli("run", str(graph_file), "--speed", "1000", flag, str(target), env={"CHAINSTUDIO_DATA_DIR": str(data)})
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert_clean(result)
    assert not (data / "history.sqlite3").exists()  # nothing ran, so nothing was recorded


@pytest.mark.parametrize(
    ("command", "target", "named"),
    [
        (["run", "--speed", "1000", "--json"], "GRAPH", "the graph file"),
        (["run", "--speed", "1000", "--trace"], "LINK", "the graph file"),  # a link to it is the same file
        (["run", "--speed", "1000", "--prices", "PRICES", "--csv"], "PRICES", "the prices file"),
        (["run", "--speed", "1000", "--json", "OUT", "--csv"], "OUT", "the file --json writes"),
        (["estimate", "--json"], "GRAPH", "the graph file"),
        (["advise", "--json"], "GRAPH", "the graph file"),  # found later: every command is checked in main
        (["bench", "--json"], "GRAPH", "a graph file"),
        (["run", "--speed", "1000", "--json"], "DATA", "ChainStudio's data folder"),
        (["batch", "--dataset", "ROWS", "--out", "OUT", "--fresh", "--state"], "GRAPH", "the graph file"),
    ],
)
def test_an_output_onto_a_file_the_command_reads_or_writes_is_refused(graph_file, tmp_path, command, target, named):
    """``run g.chain.json --json g.chain.json`` replaced the graph with the run record (``batch --state
    g.chain.json --fresh`` with a database); two flags naming one file kept only the last; ``--json`` into the
    data folder could replace the run history."""
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "link.json").symlink_to(graph_file)
    prices = tmp_path / "prices.json"
    prices.write_text("{}")
    rows = tmp_path / "rows.csv"
    rows.write_text("topic\nquantum\n")
    paths = {"GRAPH": graph_file, "LINK": tmp_path / "link.json", "PRICES": prices, "OUT": tmp_path / "out.json"}
    paths["ROWS"] = rows
    paths["DATA"] = data / "history.sqlite3"
    before = graph_file.read_bytes()
    args = [str(paths.get(a, a)) for a in (*command, target)]
    result = cli(args[0], str(graph_file), *args[1:], env={"CHAINSTUDIO_DATA_DIR": str(data)})
    assert result.returncode == 2 and named in result.stderr, result.stderr
    assert_clean(result)
    assert graph_file.read_bytes() == before and prices.read_text() == "{}"
    assert not (data / "history.sqlite3").exists() and not (tmp_path / "out.json").exists()  # nothing ran


def test_an_output_that_fails_after_the_run_keeps_the_run(graph_file, tmp_path):
    data = tmp_path / "data"
    result = cli(
        "run", str(graph_file), "--speed", "1000", "--json", "/dev/full", env={"CHAINSTUDIO_DATA_DIR": str(data)}
    )
    assert result.returncode == 1 and "could not be written" in result.stderr
    assert_clean(result)
    runs = RunHistory(data / "history.sqlite3").runs()
    assert [r.status for r in runs] == ["succeeded"]  # the run was recorded before the export failed


@pytest.mark.parametrize("speed", ["inf", "1e-300", "nan", "0", "-1"])
def test_a_speed_no_clock_can_keep_is_refused(graph_file, speed):
    result = cli("run", str(graph_file), "--speed", speed)
    assert result.returncode == 2 and "--speed must be a number from" in result.stderr
    assert_clean(result)


def test_prices_nested_5000_deep_are_refused(graph_file, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text("[" * 5000 + "]" * 5000)
    for command in (["run", "--speed", "1000"], ["estimate"], ["advise"]):
        result = cli(command[0], str(graph_file), *command[1:], "--prices", str(prices))
        assert result.returncode == 2 and "nested too deeply" in result.stderr
        assert_clean(result)


@pytest.mark.parametrize(
    "command",
    [["estimate"], ["advise"], ["run", "--speed", "1000"], ["run", "--speed", "1000", "--json", "OUT"]],
)
def test_a_data_folder_that_cannot_be_used_is_a_plain_reason(graph_file, tmp_path, command):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    # with an output too: its check looked for the data folder and failed with "File exists" at first
    command = [str(tmp_path / "out.json") if part == "OUT" else part for part in command]
    result = cli(command[0], str(graph_file), *command[1:], env={"CHAINSTUDIO_DATA_DIR": str(blocker)})
    assert result.returncode == 0, result.stderr  # the estimate, the advice and the run still come
    assert "history" in result.stderr
    assert_clean(result)
