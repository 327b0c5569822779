"""``chainstudio run``: simulated and against a real local OpenAI-compatible server (a subprocess)."""

import json
import os
import subprocess
import sys

import pytest

from chainstudio.__main__ import main
from tests.conftest import EXAMPLES, ROOT
from tests.support.fake_openai_server import FakeOpenAIServer

PARALLEL = str(EXAMPLES / "research-parallel.chain.json")


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "chainstudio", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_run_simulated_prints_table_totals_and_says_simulated(tmp_path, capsys):
    out = tmp_path / "run.json"
    code = main(["run", PARALLEL, "--speed", "200", "--json", str(out), "--set", "topic=Photonic chips"])
    text = capsys.readouterr().out
    assert code == 0
    assert "SIMULATED" in text and "Simulated (offline" in text
    assert "Critical path:" in text and "API calls:     6" in text and "aggregate" in text
    record = json.loads(out.read_text())
    assert record["status"] == "succeeded" and record["provider"] == "simulated" and record["simulated"]
    assert record["file"] == PARALLEL and len(record["nodes"]) == 8
    assert "Photonic chips" in text  # the output text is derived from the prompt


def test_run_against_a_local_server_reports_exactly_its_tokens_and_respects_the_cap(tmp_path):
    out = tmp_path / "run.json"
    with FakeOpenAIServer(chunk_delay=0.005) as server:
        result = cli(
            "run",
            PARALLEL,
            "--provider",
            "openai",
            "--base-url",
            server.url,
            "--concurrency",
            "2",
            "--json",
            str(out),
            env={"OPENAI_API_KEY": "sk-local"},
        )
        stats = server.stats
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    assert record["provider"] == "openai" and not record["simulated"]
    assert record["input_tokens"] == stats.prompt_tokens and record["output_tokens"] == stats.completion_tokens
    assert record["api_calls"] == stats.requests == 6
    assert 1 <= stats.max_in_flight <= 2
    assert "SIMULATED" not in result.stdout and "OpenAI-compatible" in result.stdout


def test_a_failed_run_exits_non_zero_with_the_servers_message(tmp_path):
    with FakeOpenAIServer(api_key="sk-right") as server:
        result = cli(
            "run",
            PARALLEL,
            "--provider",
            "openai",
            "--base-url",
            server.url,
            "--api-key-env",
            "MY_KEY",
            env={"MY_KEY": "sk-wrong"},
        )
    assert result.returncode == 1
    assert "Incorrect API key provided." in result.stdout and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "error"),
        (None, "refers to 'nothing'"),
    ],
)
def test_broken_files_and_template_errors_give_a_clear_message(tmp_path, capsys, content, message):
    path = tmp_path / "bad.chain.json"
    if content is None:
        data = json.loads((EXAMPLES / "research-parallel.chain.json").read_text())
        for node in data["nodes"]:
            if node["name"] == "hardware":
                node["prompt"] = "{{ nothing }}"
        content = json.dumps(data)
    path.write_text(content)
    code = main(["run", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_bad_flags_are_explained(capsys):
    assert main(["run", PARALLEL, "--set", "nope=1"]) == 2
    assert "nope: not an input" in capsys.readouterr().err
    assert main(["run", PARALLEL, "--set", "broken"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    assert main(["run", PARALLEL, "--provider", "openai"]) == 2 or os.environ.get("OPENAI_API_KEY")


def test_strategy_and_faults_flags(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(
        [
            "run",
            PARALLEL,
            "--speed",
            "500",
            "--strategy",
            "sequential",
            "--faults",
            "429=0.3,retry_after=0.5",
            "--seed",
            "3",
            "--json",
            str(out),
            "--no-output",
        ]
    )
    record = json.loads(out.read_text())
    assert code == 0 and record["strategy"] == "sequential"
    assert record["api_calls"] > 6  # retried 429s
    starts = sorted((n["start_ms"], n["end_ms"]) for n in record["nodes"] if n["attempts"])
    assert all(b[0] >= a[1] for a, b in zip(starts, starts[1:], strict=False))  # one at a time
