"""Class 1, secrets: whatever a server, a library or an exception says, the API key (and credentials in the
base URL) never reaches the terminal, --json/--csv/--trace, or the run history."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from chainstudio.core.graph.model import Graph
from chainstudio.core.storage import settings
from chainstudio.core.storage.fileformat import save
from chainstudio.core.text_safety import StreamScrubber, redact_url, register_secret, scrub
from tests.hostile.helpers import assert_clean, cli
from tests.support.fake_openai_server import FakeOpenAIServer

KEY = "sk-HOSTILE-5b1e0c9d-echoed-back"
URL_PASSWORD = "pw-HOSTILE-93c1"
URL_TOKEN = "tok-HOSTILE-4410"


def _graph(path, prompts):
    graph = Graph("leaky")
    for i, prompt in enumerate(prompts):
        graph.add("llm", f"s{i}", prompt=prompt, retries=1, timeout=10.0)
    save(graph, path)
    return path


def _artefacts(*folders):
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in files:
                yield os.path.join(root, name)


def test_a_key_echoed_by_the_server_is_scrubbed_everywhere(tmp_path):
    data, config = tmp_path / "data", tmp_path / "config"
    env = {"HOSTILE_KEY": KEY, "CHAINSTUDIO_DATA_DIR": str(data), "CHAINSTUDIO_CONFIG_DIR": str(config)}
    graph = _graph(
        tmp_path / "g.chain.json",
        ["[[hostile=echo_key_500]] a", "[[hostile=echo_key_400]] b", "[[hostile=echo_key_stream]] c", "plain d"],
    )
    exports = tmp_path / "out"
    exports.mkdir()
    with FakeOpenAIServer(api_key=KEY, echo_auth=True, chunk_delay=0) as server:
        flags = ["--provider", "openai", "--base-url", server.url, "--api-key-env", "HOSTILE_KEY"]
        runs = [
            cli(
                "run",
                str(graph),
                *flags,
                "--json",
                str(exports / "r.json"),
                "--csv",
                str(exports / "s.csv"),
                "--trace",
                str(exports / "t.json"),
                env=env,
            ),
            cli("run", str(graph), *flags, "--json", "-", env={**env, "HOSTILE_KEY": KEY + "-wrong"}),
        ]
        assert server.stats.statuses.get(500, 0) >= 2 and server.stats.statuses.get(401, 0) >= 1
    assert runs[0].returncode == 1 and "s3" in runs[0].stdout  # the plain step ran; the hostile ones failed
    for result in runs:
        assert_clean(result, KEY, KEY + "-wrong")
    for path in _artefacts(exports, data, config):
        with open(path, "rb") as handle:
            content = handle.read()
        assert KEY.encode() not in content, f"the key leaked into {path}"
    # the key was echoed, and the user sees that it was, masked
    assert "Bearer ***" in (exports / "r.json").read_text()


def test_credentials_in_the_base_url_are_never_shown(tmp_path):
    env = {"CHAINSTUDIO_DATA_DIR": str(tmp_path / "data"), "OPENAI_API_KEY": "sk-local"}
    graph = _graph(tmp_path / "g.chain.json", ["hello"])
    with FakeOpenAIServer(chunk_delay=0) as server:
        host = server.url.split("//", 1)[1]
        url = f"http://admin:{URL_PASSWORD}@{host}?api_key={URL_TOKEN}"
        result = cli("run", str(graph), "--provider", "openai", "--base-url", url, "--json", "-", env=env)
    assert_clean(result, URL_PASSWORD, URL_TOKEN)
    assert "***" in result.stdout + result.stderr  # the URL is shown, its secrets masked
    for path in _artefacts(tmp_path / "data"):
        with open(path, "rb") as handle:
            content = handle.read()
        assert URL_PASSWORD.encode() not in content and URL_TOKEN.encode() not in content


def test_a_key_split_across_streamed_chunks_never_shows_whole():
    register_secret("sk-SPLIT-0123456789")
    scrubber = StreamScrubber()
    text = "before sk-SPLIT-0123456789 after sk-SPLIT-01 end"
    shown = [scrubber.feed(text[i : i + 3]) for i in range(0, len(text), 3)] + [scrubber.flush()]
    assert "".join(shown) == "before *** after sk-SPLIT-01 end"
    assert all("sk-SPLIT-0123456789" not in piece for piece in shown)


def test_urls_and_texts_are_redacted():
    assert redact_url("http://bob:hunter2-secret@h:1/v1?key=abcdef123&x=1") == "http://bob:***@h:1/v1?key=***&x=***"
    register_secret("sk-REDACT-abcdef")
    assert scrub("Bearer sk-REDACT-abcdef and sk-REDACT-abcdef\ud800") == "Bearer *** and ***\ufffd"
    register_secret("abc")  # too short to be a credential: not registered, texts stay whole
    assert scrub("abc") == "abc"


def test_the_credentials_file_is_private_from_its_creation(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINSTUDIO_CONFIG_DIR", str(tmp_path))
    monkeypatch.setattr(settings, "_keyring", lambda: None)
    modes: list[int] = []
    real_replace = os.replace

    def watching_replace(src, dst, *args, **kwargs):  # the mode the file has when it appears under its name
        modes.append(stat.S_IMODE(os.stat(src).st_mode))
        return real_replace(src, dst, *args, **kwargs)

    real_chmod = os.chmod
    widened: list[int] = []
    monkeypatch.setattr(os, "replace", watching_replace)
    monkeypatch.setattr(
        os, "chmod", lambda p, m, *a, **k: (widened.append(m) if m & 0o077 else None, real_chmod(p, m))[1]
    )
    assert settings.store_api_key("sk-FILE-0123456789") == "file"
    assert modes == [0o600] and not widened
    assert stat.S_IMODE((tmp_path / "credentials.json").stat().st_mode) == 0o600


def test_a_logged_traceback_carrying_the_key_is_scrubbed(tmp_path):
    # the GUI and every command run inside cli.terminal.safe_streams: a log record (a traceback included)
    # reaches stderr through it, so an exception that quotes the key shows it masked
    script = (
        "import logging, sys\n"
        "from chainstudio.cli.terminal import safe_streams\n"
        "from chainstudio.core.text_safety import register_secret\n"
        f"register_secret({KEY!r})\n"
        "with safe_streams():\n"
        "    try:\n"
        f"        raise RuntimeError('the server said: Bearer {KEY}')\n"
        "    except RuntimeError:\n"
        "        logging.getLogger('chainstudio.ui.run.controller').exception('run failed')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "run failed" in result.stderr and "RuntimeError" in result.stderr  # the record was shown
    assert KEY not in result.stderr and "***" in result.stderr


def test_test_connection_never_shows_the_key_or_the_urls_credentials():
    """Settings → Test connection (``list_models``) showed the server's error body and the base URL as they
    came: a 500 echoing the Authorization header showed the key; ``?api_key=`` showed in the URL."""
    import asyncio

    import pytest

    from chainstudio.core.providers.models import ModelListError, list_models

    key = "sk-MODELS-3f9a1c7e-echoed-in-the-list"
    server = FakeOpenAIServer(api_key=key, echo_auth=True, models_status=500)
    with server, pytest.raises(ModelListError) as caught:
        asyncio.run(list_models(server.url, key))
    message = str(caught.value)
    assert "HTTP 500" in message and key not in message and "\n" not in message
    token = "url-token-77c2e4a1b9d0"
    server = FakeOpenAIServer(models_status=503)
    with server, pytest.raises(ModelListError) as caught:
        asyncio.run(list_models(f"{server.url}?api_key={token}", None))
    assert token not in str(caught.value) and "api_key=" in str(caught.value)


def test_model_ids_that_carry_the_key_or_control_characters_are_left_out():
    """The ids are saved in the settings as known models: a server listing the key as a model (or ids with
    line breaks, bidi overrides, 300 characters) would put them in settings.json."""
    import asyncio

    from chainstudio.core.providers.models import list_models

    key = "sk-MODELS-9d8e7f6a-listed-as-a-model"
    hostile = {"gpt-4o", key, f"prefix-{key}", "two\nlines", "\u202eevil", "x" * 300, "llama3.1:8b"}
    with FakeOpenAIServer(api_key=key, known_models=hostile) as server:
        names = asyncio.run(list_models(server.url, key))
    assert names == ["gpt-4o", "llama3.1:8b"]


def test_a_url_or_key_that_cannot_make_a_request_is_refused_in_one_line_without_the_secret(tmp_path):
    """``http://[::1`` was "internal error (InvalidURL…)"; a key with a line break or a non-ASCII letter failed
    every step with a UnicodeEncodeError; an unparsable URL with a password was shown whole."""
    graph = tmp_path / "g.chain.json"
    save(Graph("g"), graph)
    secret = "pw-8c1d2e3f4a5b6c7d"
    cases = [
        ({}, ["--base-url", f"http://user:{secret}@[::1/v1"], "is not a valid URL"),
        ({}, ["--base-url", "http://host:99999/v1"], "is not a valid URL"),
        ({}, ["--base-url", "file:///etc/passwd"], "must start with http:// or https://"),
        ({"OPENAI_API_KEY": f"sk-{secret}\r\nX-Evil: 1"}, ["--base-url", "http://127.0.0.1:9/v1"], "header"),
        ({"OPENAI_API_KEY": f"sk-{secret}É"}, ["--base-url", "http://127.0.0.1:9/v1"], "non-ASCII"),
    ]
    for env, flags, said in cases:
        result = cli("run", str(graph), "--provider", "openai", *flags, env=env)
        assert result.returncode == 2 and said in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert_clean(result, secret)
    assert redact_url(f"http://user:{secret}@[::1/v1?api_key={secret}") == "http://***@[::1/v1?api_key=***"
