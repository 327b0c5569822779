"""The code gates, run with the tests so a clean clone checks them exactly as CI does: style (ruff), format
(ruff format), types (mypy: strict on the core and the CLI, defaults on the UI) and import contracts
(import-linter: the core never imports Qt, the UI or the CLI; the core's packages are layered; the CLI
imports the UI only lazily). Configuration: pyproject.toml. A missing tool fails, never skips."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*command: str) -> None:
    tool = BIN / command[0]
    assert tool.exists(), f"{command[0]} is not installed next to {sys.executable}: pip install -e '.[test]'"
    result = subprocess.run([str(tool), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "--no-cache", "."),
        ("ruff", "format", "--check", "--no-cache", "."),
        ("lint-imports", "--no-cache"),
        ("mypy",),
    ],
    ids=["ruff-check", "ruff-format", "import-contracts", "mypy"],
)
def test_gate(command: tuple[str, ...]) -> None:
    _run(*command)
