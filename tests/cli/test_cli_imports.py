"""The CLI never loads Qt except where it opens the app or draws an image (``gui``, ``export --canvas``,
``run --gantt``, ``batch --chart``), and then only lazily, inside the command."""

import ast
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import chainstudio.cli
from tests.conftest import EXAMPLES, ROOT

QT = ("PySide6", "shiboken6", "qasync")
GRAPH = str(EXAMPLES / "research-hybrid.chain.json")
COMMANDS = {
    "validate": ["validate", GRAPH],
    "layers": ["layers", GRAPH],
    "run": ["run", GRAPH, "--speed", "1000", "--no-history", "--no-output"],
    "bench": ["bench", GRAPH, "--strategies", "eager,sequential", "--speed", "1000", "--no-history"],
    "estimate": ["estimate", GRAPH, "--no-history"],
    "advise": ["advise", GRAPH, "--no-history"],
    "batch": [
        "batch",
        GRAPH,
        "--dataset",
        str(ROOT / "resources" / "datasets" / "research-topics.jsonl"),
        "--out",
        str(Path(tempfile.mkdtemp(prefix="batch-imports-")) / "out.jsonl"),
        "--speed",
        "50",  # 20 rows at once: at 1000x a step's 60 s timeout would be 60 ms of a busy machine's time
        "--no-history",
    ],
}
PROBE = """
import contextlib, io, json, sys
from chainstudio.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(json.loads(sys.argv[1]))
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
# where the CLI may import the UI: inside these functions only
LAZY_UI = {("main", "_run_gui"), ("export", "run"), ("run", "write_exports"), ("batch", "finish")}


def is_qt_or_ui(module: str) -> bool:
    return module.split(".")[0] in QT or module == "chainstudio.ui" or module.startswith("chainstudio.ui.")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_headless_command_loads_no_qt(command):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(COMMANDS[command])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["code"] == 0
    assert "chainstudio.cli.main" in report["modules"]  # the probe saw the command's own process
    assert [m for m in report["modules"] if is_qt_or_ui(m)] == []


def imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module]
    return []


def module_level_imports(tree: ast.Module) -> list[str]:
    """Imports run when the module is imported: those outside functions, classes and ``if TYPE_CHECKING``."""
    found = []
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            pending.extend(node.orelse)
            continue
        found.extend(imported_modules(node))
        pending.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))
    return found


CLI_MODULES = sorted(Path(chainstudio.cli.__file__).parent.glob("*.py"))


@pytest.mark.parametrize("path", CLI_MODULES, ids=lambda p: p.stem)
def test_no_cli_module_imports_qt_or_the_ui_at_module_level(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert [m for m in module_level_imports(tree) if is_qt_or_ui(m)] == []


def test_the_ui_is_imported_only_inside_the_commands_that_need_it():
    lazy = set()
    for path in CLI_MODULES:
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(function):
                    if any(is_qt_or_ui(m) for m in imported_modules(node)):
                        lazy.add((path.stem, function.name))
    assert lazy and lazy <= LAZY_UI
