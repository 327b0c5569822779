import json
import os
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


def test_an_unknown_command_is_an_error_listing_the_commands_and_never_opens_the_app():
    """Issue 12, item 12: ``chainstudio history`` (before it was a command) opened the GUI on a file named
    "history" (and hung offscreen). A word that is neither a command nor a file exits at once with the
    commands there are."""
    result = cli("histories")
    assert result.returncode == 2 and result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and "unknown command 'histories'" in line
    for command in ("validate", "layers", "run", "bench", "estimate", "advise", "export", "gui", "history"):
        assert command in line
    assert "did you mean 'estimate'?" in cli("estimat").stderr


def test_what_reads_as_a_file_still_opens_the_app(tmp_path):
    from chainstudio.cli.main import looks_like_file

    existing = tmp_path / "history"
    existing.write_text("{}")
    assert looks_like_file(str(existing)) and looks_like_file("new.chain.json") and looks_like_file("./history")
    assert not looks_like_file("history") and not looks_like_file("estimat")


def test_the_app_refuses_an_offscreen_platform_instead_of_running_forever(tmp_path):
    """The app shows no window under QT_QPA_PLATFORM=offscreen: it says so and exits (unless a smoke test
    asked it to quit by itself)."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "CHAINSTUDIO_CONFIG_DIR": str(tmp_path),
        "CHAINSTUDIO_DATA_DIR": str(tmp_path),
    }
    env.pop("CHAINSTUDIO_SMOKE_EXIT_MS", None)
    result = subprocess.run(
        [sys.executable, "-m", "chainstudio", str(EXAMPLES / "research-hybrid.chain.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2 and "offscreen" in result.stderr and "xvfb-run" in result.stderr
