"""``--warm-prefix``: predicted by ``estimate``, measured by ``run`` against a prefix-caching server."""

import json

from chainstudio.core.storage.fileformat import save
from tests.cli.test_run import cli
from tests.core.run.test_warm_prefix import context_first
from tests.support.fake_openai_server import FakeOpenAIServer, Mode


def test_estimate_predicts_and_run_measures_the_cached_prefix(tmp_path):
    graph_file = tmp_path / "first.chain.json"
    save(context_first(), graph_file)
    plain = cli("estimate", str(graph_file), "--no-history")
    warm = cli("estimate", str(graph_file), "--no-history", "--warm-prefix")
    assert plain.returncode == warm.returncode == 0, warm.stderr
    assert "Prompt cache" not in plain.stdout
    assert "Prompt cache (predicted): 2,395 of the input tokens" in warm.stdout and "3 call(s)" in warm.stdout

    out = tmp_path / "run.json"
    with FakeOpenAIServer(mode=Mode(prefix_cache=True, prefill_per_token=0.0005)) as server:
        result = cli(
            "run", str(graph_file), "--provider", "openai", "--base-url", server.url, "--warm-prefix",
            "--no-stream", "--json", str(out), env={"OPENAI_API_KEY": "sk-local"},
        )  # fmt: skip
        served = sum(e.get("cached_tokens", 0) for e in server.stats.log)
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    cached = sum(n.get("cached_tokens", 0) for n in record["nodes"])
    assert cached == served > 3 * 779
    assert f"{cached:,} of the input from the server's cache" in result.stdout
