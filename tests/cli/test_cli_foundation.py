import json
import subprocess
import sys

from tests.conftest import EXAMPLES, ROOT


def cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "chainstudio", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_version():
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("chainstudio ")


def test_validate_examples_ok():
    files = sorted(EXAMPLES.glob("*.chain.json"))
    result = cli("validate", *files)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(files) and all(": OK (" in line for line in lines)


def test_validate_truncated_file(tmp_path):
    text = (EXAMPLES / "research-hybrid.chain.json").read_text()
    bad = tmp_path / "trunc.chain.json"
    bad.write_text(text[:700])
    result = cli("validate", bad)
    assert result.returncode == 1
    assert "line " in result.stderr and "column " in result.stderr and "not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def _edit(tmp_path, name, change):
    doc = json.loads((EXAMPLES / "research-hybrid.chain.json").read_text())
    change(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_validate_cycle_and_missing_reference(tmp_path):
    def add_cycle(doc):
        ids = {n["name"]: n["id"] for n in doc["nodes"]}
        doc["edges"].append({"id": "edge-back", "source": ids["aggregate"], "target": ids["hardware"]})

    def missing_ref(doc):
        node = next(n for n in doc["nodes"] if n["name"] == "security")
        node["prompt"] += " {{ hardwre }}"

    cycle = cli("validate", _edit(tmp_path, "cycle.chain.json", add_cycle))
    assert cycle.returncode == 1 and "Traceback" not in cycle.stderr
    assert "cycle hardware -> " in cycle.stderr and "depend on each other in a cycle" in cycle.stderr
    missing = cli("validate", _edit(tmp_path, "missing.chain.json", missing_ref))
    assert missing.returncode == 1
    assert "security.prompt: refers to 'hardwre', which is not a step in this graph" in missing.stderr


def test_layers_shows_the_parallel_angles():
    result = cli("layers", EXAMPLES / "research-hybrid.chain.json")
    assert result.returncode == 0
    assert "Layer 2 · 3 in parallel: hardware, software, commercial" in result.stdout


def test_layers_on_missing_file():
    result = cli("layers", "nope.chain.json")
    assert result.returncode == 1 and "cannot read the file" in result.stderr and "Traceback" not in result.stderr


def test_core_never_imports_qt():
    code = (
        "import sys, pkgutil, importlib, chainstudio.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'chainstudio.core.'): importlib.import_module(m.name)\n"
        "import chainstudio.cli.main as cm; cm.build_parser()\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync', 'shiboken6')]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
