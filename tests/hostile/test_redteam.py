"""The third round of issue 14's attacks (a red team with only the README and docs/): each test makes one
attack that broke before its fix, through the real CLI in a child process, and the key attack against the
fake OpenAI server over real HTTP (``tests/support/redteam.py``)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading

import pytest

from chainstudio.core.graph.model import Graph
from chainstudio.core.storage.fileformat import atomic_write_text, save
from tests.conftest import ROOT
from tests.hostile.helpers import assert_clean, cli, one_step_graph
from tests.support.fake_openai_server import FakeOpenAIServer

EXAMPLES = ROOT / "resources" / "examples"
KEY = "sk-REDTEAM-7f3a9c1e-quoted-after-padding"


def _env(tmp_path):
    return {"CHAINSTUDIO_DATA_DIR": str(tmp_path / "data"), "CHAINSTUDIO_CONFIG_DIR": str(tmp_path / "config")}


def _recorded(tmp_path) -> list[str]:
    with sqlite3.connect(tmp_path / "data" / "history.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT status FROM runs ORDER BY created_at")]


def _named(tmp_path, name: str):
    graph = Graph(name)
    graph.add("llm", "ask", prompt="Résumé → “quotes” 日本語")
    graph.add("output", "result", template="{{ ask }}")
    graph.connect("ask", "result")
    path = tmp_path / "g.chain.json"
    save(graph, path)
    return path


def test_an_output_its_encoding_cannot_show_does_not_stop_the_run(tmp_path):
    """Class 2. ``PYTHONIOENCODING=ascii`` (or ``LANG=C`` in a pipe, a latin-1 terminal) with a graph named
    ``naïve—graph→✓``: "internal error (UnicodeEncodeError…)" before the run started, nothing recorded."""
    graph = _named(tmp_path, "naïve—graph→✓")
    for encoding in ("ascii", "latin-1"):
        result = subprocess.run(
            [sys.executable, "-m", "chainstudio", "run", str(graph), "--speed", "1000"],
            env={**os.environ, **_env(tmp_path), "PYTHONIOENCODING": encoding},
            capture_output=True,
            timeout=120,
        )
        text = result.stdout.decode(encoding) + result.stderr.decode(encoding)
        assert result.returncode == 0, text[-2000:]
        shown = "na?ve?graph??" if encoding == "ascii" else "naïve?graph??"
        assert shown in text and "Traceback" not in text and "internal error" not in text
    assert _recorded(tmp_path) == ["succeeded", "succeeded"]


@pytest.mark.parametrize("command", ["run", "bench", "batch"])
def test_a_reader_that_goes_away_loses_no_work(tmp_path, command):
    """Class 10. ``chainstudio run … | head -1``: the first write after the pipe closed ended the command, so
    the run was not recorded and ``--json`` not written; ``batch … | head -1`` wrote no results at all. Now the
    rest of the output goes to /dev/null and the work, its files and its history are done."""
    graph = EXAMPLES / ("research-parallel.chain.json" if command == "batch" else "research-hybrid.chain.json")
    out = tmp_path / ("o.jsonl" if command == "batch" else "o.json")
    args = [str(graph), "--speed", "1000"]
    if command == "batch":
        args += ["--dataset", str(ROOT / "resources" / "datasets" / "research-topics.jsonl"), "--out", str(out)]
    else:
        args += ["--json", str(out)]
    child = subprocess.Popen(
        [sys.executable, "-m", "chainstudio", command, *args],
        env={**os.environ, **_env(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.readline()  # as `head -1` does: one line, then the pipe is closed
    child.stdout.close()
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == 0, stderr
    assert "Traceback" not in stderr and "error" not in stderr, stderr
    if command == "batch":
        assert len(out.read_text().splitlines()) == 20
    else:
        assert json.loads(out.read_text())
        assert _recorded(tmp_path) == ["succeeded"]


def test_an_output_that_is_a_pipe_is_written_into_not_replaced(tmp_path):
    """Class 8. ``--json /dev/null`` (as root), ``--json FIFO``: the atomic save renamed a regular file over
    the device or FIFO (as root, /dev/full became a JSON file). A target that is not a regular file is
    written into; a FIFO nobody reads is one line, not a wait; the device stays what it was."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="nobody is reading"):
        atomic_write_text(fifo, "{}")
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = cli("run", str(EXAMPLES / "research-hybrid.chain.json"), "--speed", "1000", "--no-output",
                 "--json", str(fifo), env=_env(tmp_path))  # fmt: skip
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced by a file"
    assert json.loads(got[0])["status"] == "succeeded"
    nobody = cli("run", str(EXAMPLES / "research-hybrid.chain.json"), "--speed", "1000", "--no-output",
                 "--trace", str(fifo), env=_env(tmp_path))  # fmt: skip
    assert nobody.returncode == 1 and "nobody is reading" in nobody.stderr
    assert_clean(nobody)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.parametrize(
    "flags",
    [
        ["run", "--cost-cap", "nan"],
        ["run", "--cost-cap", "inf"],
        ["run", "--tpm", "nan"],
        ["run", "--rpm", "-1"],
        ["run", "--token-cap", str(10**23)],
        ["estimate", "--cost-cap", "nan"],
        ["batch", "--budget", "nan"],
    ],
)
def test_caps_and_rates_must_be_finite_numbers(tmp_path, flags):
    """Class 5. ``--cost-cap nan`` was taken, and every comparison with NaN is false: the cap was off without
    a word (the run went on as if none were set); ``--tpm nan`` and ``--rpm -1`` likewise."""
    command, *rest = flags
    extra = ["--dataset", str(ROOT / "resources" / "datasets" / "research-topics.jsonl"), "--out", "o.jsonl"]
    graph = str(EXAMPLES / "research-parallel.chain.json")
    result = cli(command, graph, *(extra if command == "batch" else []), *rest, env=_env(tmp_path))
    assert result.returncode == 2, result.stdout[-500:]
    assert f"argument {rest[0]}:" in result.stderr
    assert "finite number" in result.stderr or "whole number" in result.stderr
    assert len(result.stderr.strip().splitlines()[-1]) < 200
    assert_clean(result)


def test_numbers_too_large_for_the_history_or_the_cache_are_plain_errors(tmp_path):
    """Class 6. ``history list --limit 10**23`` and ``CHAINSTUDIO_CACHE_MAX_MB=1e400`` were "internal error
    (OverflowError…)"; a negative bound emptied the cache at every write."""
    listing = cli("history", "list", "--limit", str(10**23), env=_env(tmp_path))
    assert listing.returncode == 2 and "whole number" in listing.stderr and "internal error" not in listing.stderr
    for value in ("1e400", "-1", "nan"):
        info = cli("cache", "info", env={**_env(tmp_path), "CHAINSTUDIO_CACHE_MAX_MB": value})
        assert info.returncode == 0 and "of 256 MB" in info.stdout, info.stderr
        assert "using the default" in info.stderr
        assert_clean(info)


def test_a_run_of_a_file_whose_path_is_not_utf8_is_recorded(tmp_path):
    """Class 6 (and 2). Linux allows any bytes in a file name; a graph at ``\\xff\\xfe.chain.json`` ran, and
    then "the run was not recorded in the history: UnicodeEncodeError … surrogates not allowed"."""
    path = os.fsencode(tmp_path) + b"/\xff\xfe.chain.json"
    with open(path, "wb") as handle:
        handle.write((EXAMPLES / "research-hybrid.chain.json").read_bytes())
    result = cli("run", os.fsdecode(path), "--speed", "1000", "--no-output", env=_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "not recorded" not in result.stderr
    assert _recorded(tmp_path) == ["succeeded"]
    assert_clean(result)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_stop_signal_keeps_what_a_bench_ran(tmp_path, signum, code):
    """Class 10. SIGTERM or SIGHUP during ``bench`` killed it (exit -15, -1): the runs it had made were
    recorded but its table and ``--json`` were lost. Now the run in flight is cancelled, no other starts,
    and the table, ``--json`` and history keep what ran."""
    out = tmp_path / "b.json"
    child = subprocess.Popen(
        [sys.executable, "-m", "chainstudio", "bench", str(EXAMPLES / "research-hybrid.chain.json"),
         "--speed", "10", "--repeat", "3", "--json", str(out)],
        env={**os.environ, **_env(tmp_path)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    for line in child.stdout:
        if "run 1:" in line:  # the first run is over, the second under way
            break
    child.send_signal(signum)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == code, stderr
    statuses = [r["status"] for r in json.loads(out.read_text())["runs"]]
    assert statuses[0] == "succeeded" and len(statuses) in (1, 2), statuses
    assert _recorded(tmp_path) == statuses
    assert "Traceback" not in stderr


def test_a_key_quoted_after_a_long_message_is_never_cut_into_a_visible_prefix(tmp_path):
    """Class 1, held: wherever a server's message is shortened (the table's Note, one-line errors), a cut
    inside the key would leave a prefix the scrubber no longer recognises. The key is quoted after 100 to
    8,000 characters of padding, around every length the app cuts at."""
    env = {**_env(tmp_path), "RED_KEY": KEY}
    sizes = [100, 190, 200, 290, 490, 500, 990, 1_990, 4_000, 8_000]
    with FakeOpenAIServer(api_key=KEY, chunk_delay=0) as server:
        graph = Graph("pads")
        graph.add("output", "result", template="done")
        for size in sizes:
            graph.add("llm", f"s{size}", prompt=f"[[hostile=key_after_pad_400]] [[size={size}]]", retries=0)
            graph.connect(f"s{size}", "result")
        save(graph, tmp_path / "g.chain.json")
        result = cli("run", str(tmp_path / "g.chain.json"), "--provider", "openai", "--base-url", server.url,
                     "--api-key-env", "RED_KEY", "--json", str(tmp_path / "r.json"), env=env)  # fmt: skip
        assert server.stats.statuses.get(400, 0) == len(sizes)
    shown = result.stdout + result.stderr + (tmp_path / "r.json").read_text()
    assert "was refused" in shown and "***" in shown
    for cut in range(8, len(KEY)):  # no prefix of the key longer than its first 8 characters
        assert KEY[:cut] not in shown, f"{KEY[:cut]!r} shown"
    with sqlite3.connect(tmp_path / "data" / "history.sqlite3") as db:
        stored = " ".join(
            str(v) for t in ("runs", "run_events") for row in db.execute(f"SELECT * FROM {t}") for v in row
        )
    assert KEY[:9] not in stored


def test_an_html_page_for_a_stream_fails_its_step_in_one_line(tmp_path):
    """Class 11, held: a captive portal's HTML page answering the stream (HTTP 200, text/html)."""
    graph = one_step_graph(tmp_path / "g.chain.json", "[[hostile=html_200]] hi", retries=1)
    with FakeOpenAIServer(chunk_delay=0) as server:
        result = cli("run", str(graph), "--provider", "openai", "--base-url", server.url, env=_env(tmp_path))
    assert result.returncode == 1 and "stream ended before the answer was complete" in result.stdout
    assert_clean(result)


NOTES = {
    "saved_at is text": '{"pid": 4000000, "saved_at": "abc", "graph_name": "g"}',
    "saved_at is a list": '{"pid": 4000000, "saved_at": [1], "graph_name": "g"}',
    "pid past a C int": '{"pid": 1000000000000000000000000000000, "saved_at": 1, "graph_name": "g"}',
    "nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "a 10 MB path": json.dumps({"pid": 4000000, "saved_at": 1, "source_file": "x" * 10_000_000}),
    "a FIFO": None,
    "/dev/zero": "/dev/zero",
}


@pytest.mark.parametrize("kind", list(NOTES))
def test_an_autosave_note_that_is_no_note_is_not_offered_and_stops_nothing(tmp_path, kind):
    """Class 8. The note beside an autosave (``autosave/PID-TOKEN.meta.json``) is a file the window reads at
    start-up: ``"saved_at": "abc"`` kept the window from opening ("internal error (ValueError…)"), a pid of
    10**30 was an OverflowError, 100,000 brackets a RecursionError, a FIFO hung it and /dev/zero took all
    memory. Now such an autosave is not offered; a sound one beside it still is."""
    from chainstudio.core.storage.autosave import recoverable

    folder = tmp_path / "autosave"
    folder.mkdir()
    for name in ("4000000-bad", "4000001-good"):
        (folder / f"{name}.chain.json").write_bytes((EXAMPLES / "research-hybrid.chain.json").read_bytes())
    note = folder / "4000000-bad.meta.json"
    if NOTES[kind] is None:
        os.mkfifo(note)
    elif NOTES[kind] == "/dev/zero":
        note.symlink_to("/dev/zero")
    else:
        note.write_text(NOTES[kind])
    (folder / "4000001-good.meta.json").write_text('{"pid": 4000001, "saved_at": 1, "graph_name": "good"}')
    found = recoverable(folder)
    assert [item.graph_name for item in found] == ["good"]


def test_settings_and_credentials_that_are_no_files_stop_nothing(tmp_path):
    """Class 8. ``settings.json`` as a FIFO hung every command that reads the saved rate limits (``run``
    waited forever) and the window; ``credentials.json`` nested 100,000 deep was a RecursionError."""
    config = tmp_path / "config"
    config.mkdir()
    os.mkfifo(config / "settings.json")
    (config / "credentials.json").write_text("[" * 100_000)
    result = cli("run", str(EXAMPLES / "research-hybrid.chain.json"), "--speed", "1000", "--no-output",
                 env={**_env(tmp_path), "CHAINSTUDIO_CONFIG_DIR": str(config)}, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_clean(result)
    code = (
        "from chainstudio.core.storage import settings as s; print(s._read_credentials(), s.load_settings().base_url)"
    )
    probe = subprocess.run([sys.executable, "-c", code], env={**os.environ, "CHAINSTUDIO_CONFIG_DIR": str(config)},
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert probe.returncode == 0 and probe.stdout.startswith("{}"), probe.stderr[-2000:]


def test_a_key_or_url_no_request_can_carry_is_refused_in_one_line(tmp_path):
    """Class 1. A 100,000-character key (a file pasted into the variable) hung ``run`` before its first
    request: registering it for scrubbing built a table of every prefix of every form of it (quadratic: the
    test's 120 s ran out). A 100 KB ``?api_key=`` was "internal error (InvalidURL: URL too long)", and a base
    URL read from ``$OPENAI_BASE_URL`` with a trailing newline was refused as not an http URL."""
    graph = one_step_graph(tmp_path / "g.chain.json", "hi [[say=ok]]")
    with FakeOpenAIServer(chunk_delay=0) as server:
        flags = ["run", str(graph), "--provider", "openai", "--no-history"]
        huge_key = cli(*flags, "--base-url", server.url, "--api-key-env", "RED_KEY",
                       env={**_env(tmp_path), "RED_KEY": "k" * 100_000}, timeout=120)  # fmt: skip
        huge_url = cli(*flags, "--base-url", f"{server.url}?api_key={'q' * 100_000}", env=_env(tmp_path))
        newline = cli(*flags, env={**_env(tmp_path), "OPENAI_BASE_URL": server.url + "\n"})
        assert server.stats.statuses == {200: 1}  # only the last one made a request
    assert huge_key.returncode == 2 and "is 100,000 characters long; a key is at most 4,096" in huge_key.stderr
    assert huge_url.returncode == 2 and "a base URL is at most 8,192" in huge_url.stderr
    assert "q" * 100 not in huge_url.stderr
    assert newline.returncode == 0, newline.stderr
    for result in (huge_key, huge_url, newline):
        assert_clean(result, "k" * 100)
