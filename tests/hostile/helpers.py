"""Shared by the hostile-input tests: running the CLI as a user does, and small graphs to carry payloads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from chainstudio.core.graph.model import Graph
from chainstudio.core.storage.fileformat import save
from tests.conftest import ROOT


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m chainstudio ARGS`` in a child process, its output captured as UTF-8 text (strict: an
    unencodable character in the output would fail here, as it would on a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "chainstudio", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
        capture_output=True,
        timeout=timeout,
        text=True,
        encoding="utf-8",
        errors="strict",
    )


def assert_clean(result: subprocess.CompletedProcess[str], *secrets: str) -> None:
    """No traceback, no terminal escape, no secret in what a command printed."""
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out[-3000:]
    assert "\x1b[2J" not in out and "\x1b]0;" not in out and "\u202e" not in out, repr(out[-500:])
    for secret in secrets:
        assert secret not in out, f"{secret!r} leaked into the output"


def one_step_graph(path: Path, prompt: str, *, name: str = "g", timeout: float = 10.0, retries: int = 0) -> Path:
    graph = Graph(name)
    graph.add("llm", "ask", prompt=prompt, timeout=timeout, retries=retries)
    graph.add("output", "result", template="{{ ask }}")
    graph.connect("ask", "result")
    save(graph, path)
    return path
