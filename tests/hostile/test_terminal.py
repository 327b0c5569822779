"""Class 2, output: rich markup, terminal escapes, bidi overrides and lone surrogates in a graph name, a
template or a server's message never crash a command, never reach the terminal raw, and never cost the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chainstudio.core.graph.model import Graph
from chainstudio.core.storage.fileformat import load, save
from chainstudio.core.text_safety import terminal_text
from tests.conftest import EXAMPLES
from tests.hostile.helpers import assert_clean, cli, one_step_graph
from tests.support.fake_openai_server import FakeOpenAIServer
from tests.support.hostile import HOSTILE_TEXT

NAME = "evil [/] [bold]x[/bold] \x1b[2J\x1b]0;pwned\x07 \ud800 \u202e name"


@pytest.fixture(scope="module")
def hostile_graph(tmp_path_factory):
    path = tmp_path_factory.mktemp("terminal") / "evil.chain.json"
    graph = load(EXAMPLES / "research-hybrid.chain.json")
    graph.name = NAME
    graph.description = HOSTILE_TEXT
    save(graph, path)
    json.loads(path.read_bytes().decode("utf-8"))  # saved as valid UTF-8 JSON, the surrogate escaped
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["validate"],
        ["layers"],
        ["estimate", "--json", "-"],
        ["advise", "--json", "-"],
        ["run", "--speed", "1000", "--json", "-"],
        ["bench", "--speed", "1000", "--json", "-"],
    ],
    ids=lambda c: c[0],
)
def test_every_command_shows_a_hostile_name_safely(hostile_graph, command):
    result = cli(command[0], str(hostile_graph), *command[1:])
    assert result.returncode == 0, result.stderr[-2000:]
    assert_clean(result)
    assert "[/]" in result.stdout + result.stderr or command[0] in ("validate", "layers", "bench")
    if "--json" in command:
        json.loads(result.stdout)  # the JSON on stdout is whole and valid


def test_a_server_message_with_markup_and_escapes_is_shown_safely(tmp_path):
    graph = one_step_graph(tmp_path / "g.chain.json", "[[hostile=markup_error]]")
    streamed = one_step_graph(tmp_path / "s.chain.json", "[[hostile=markup_stream]]")
    with FakeOpenAIServer(chunk_delay=0) as server:
        flags = ["--provider", "openai", "--base-url", server.url]
        failed = cli("run", str(graph), *flags, "--json", str(tmp_path / "r.json"), env={"OPENAI_API_KEY": "sk-x"})
        answered = cli("run", str(streamed), *flags, env={"OPENAI_API_KEY": "sk-x"})
    assert failed.returncode == 1 and "HTTP 400" in failed.stdout
    assert answered.returncode == 0
    for result in (failed, answered):
        assert_clean(result)
    record = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))  # the run is not lost
    assert record["nodes"][0]["status"] == "failed" and "[/]" in record["nodes"][0]["error"]


def test_a_template_fragment_in_a_validation_error_is_shown_safely(tmp_path):
    graph = Graph("g")
    graph.add("llm", "ask", prompt="{{ x | no_such_filter('[/]\x1b[2J') }} {% if %}")
    save(graph, tmp_path / "bad.chain.json")
    result = cli("validate", str(tmp_path / "bad.chain.json"))
    assert result.returncode == 1 and "ask.prompt" in result.stderr
    assert_clean(result)


def test_terminal_text_strips_what_a_terminal_would_obey():
    assert terminal_text("a\x1b[31mred\x1b[0m\x1b]0;title\x07\x9b2J\u202eb\tc\n") == "aredb\tc\n"
    assert terminal_text("caf\u00e9 \ud800", encoding="ascii") == "caf? ?"


def test_a_command_started_with_its_output_closed_still_does_its_work(tmp_path):
    """``chainstudio run g.chain.json --json out.json >&-`` (stdout closed, as a cron line or a careless
    wrapper does) failed with "internal error (AttributeError…)" before anything was written."""
    graph = tmp_path / "g.chain.json"
    graph.write_bytes((EXAMPLES / "research-sequential.chain.json").read_bytes())
    out = tmp_path / "out.json"
    command = [sys.executable, "-m", "chainstudio", "run", str(graph), "--speed", "1000", "--json", str(out)]
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *command],
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CHAINSTUDIO_DATA_DIR": str(tmp_path / "data")},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr
    assert json.loads(out.read_text())["status"] == "succeeded"


def test_an_error_python_cannot_raise_is_not_printed_as_a_traceback():
    """Under thousands of concurrent requests the garbage collector closed an HTTP body's async generator while
    it ran, and Python printed "Exception ignored in …" with a traceback (and the error's text) on stderr."""
    code = (
        "import gc\n"
        "from chainstudio.cli.terminal import log_in_one_line\n"
        "log_in_one_line()\n"
        "class Finalizer:\n"
        "    def __del__(self):\n"
        "        raise ValueError('async generator already executing')\n"
        "Finalizer()\n"
        "gc.collect()\n"
        "print('still here')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CHAINSTUDIO_TRACEBACK"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and done.stdout == "still here\n"
    assert done.stderr == "", done.stderr
