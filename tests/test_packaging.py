"""The desktop bundle (packaging/) and the GUI's smoke-exit mode.

The bundle tests build dist/chainstudio with packaging/build.py (about 40 s on 2 cores, reused while it is
newer than every source) and run the frozen binary offscreen. They are slow, so they run only with
``CHAINSTUDIO_TEST_BUNDLE=1``; see packaging/README.md.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "dist" / "chainstudio"
EXECUTABLE = BUNDLE / ("chainstudio.exe" if sys.platform == "win32" else "chainstudio")
BUNDLED_EXAMPLES = BUNDLE / "_internal" / "resources" / "examples"


def app_env(tmp_path: Path, **extra: str) -> dict:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        CHAINSTUDIO_DATA_DIR=str(tmp_path / "data"),
        CHAINSTUDIO_CONFIG_DIR=str(tmp_path / "config"),
    )
    env.pop("CHAINSTUDIO_THEME", None)
    env.update(extra)
    return env


def test_gui_smoke_exit_from_source(tmp_path):
    """CHAINSTUDIO_SMOKE_EXIT_MS makes the GUI quit by itself after showing the window with the file."""
    example = ROOT / "resources" / "examples" / "research-hybrid.chain.json"
    done = subprocess.run(
        [sys.executable, "-m", "chainstudio", str(example)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        env=app_env(tmp_path, CHAINSTUDIO_SMOKE_EXIT_MS="300", CHAINSTUDIO_THEME="dark"),
    )
    assert done.returncode == 0, done.stderr
    assert "smoke-exit: research-hybrid.chain.json" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr


# --- the frozen bundle ----------------------------------------------------------------------------------

bundle_only = pytest.mark.skipif(
    os.environ.get("CHAINSTUDIO_TEST_BUNDLE") != "1",
    reason="builds the PyInstaller bundle (~1 min); set CHAINSTUDIO_TEST_BUNDLE=1 to run",
)


def newest_source_mtime() -> float:
    sources = [ROOT / "packaging" / "chainstudio.spec", ROOT / "packaging" / "build.py"]
    for folder, pattern in (("chainstudio", "*.py"), ("resources", "*")):
        sources += [p for p in (ROOT / folder).rglob(pattern) if p.is_file()]
    return max(p.stat().st_mtime for p in sources)


@pytest.fixture(scope="module")
def bundle() -> Path:
    """A fresh dist/chainstudio: built now unless one newer than every source is already there."""
    fresh = EXECUTABLE.exists() and EXECUTABLE.stat().st_mtime > newest_source_mtime()
    if not fresh or os.environ.get("CHAINSTUDIO_TEST_BUNDLE_REBUILD") == "1":
        subprocess.run(
            [sys.executable, str(ROOT / "packaging" / "build.py"), "--no-check"], cwd=ROOT, check=True, timeout=1200
        )
    assert EXECUTABLE.exists()
    return EXECUTABLE


@pytest.mark.slow
@bundle_only
@pytest.mark.timeout(1500)
def test_bundle_cli_answers(bundle, tmp_path):
    env = app_env(tmp_path)
    version = subprocess.run([str(bundle), "--version"], capture_output=True, text=True, timeout=60, env=env)
    assert version.returncode == 0 and version.stdout.startswith("chainstudio "), version.stderr
    example = BUNDLED_EXAMPLES / "research-hybrid.chain.json"
    checked = subprocess.run(
        [str(bundle), "validate", str(example)], capture_output=True, text=True, timeout=60, env=env
    )
    assert checked.returncode == 0, checked.stderr
    assert ": OK (" in checked.stdout


@pytest.mark.slow
@bundle_only
@pytest.mark.timeout(1500)
def test_bundle_ships_resources(bundle):
    assert sorted(p.name for p in BUNDLED_EXAMPLES.glob("*.chain.json")) == sorted(
        p.name for p in (ROOT / "resources" / "examples").glob("*.chain.json")
    )
    assert (BUNDLE / "_internal" / "resources" / "icons" / "chainstudio-256.png").is_file()
    if sys.platform.startswith("linux"):
        assert (BUNDLE / "chainstudio.desktop").is_file()


@pytest.mark.slow
@bundle_only
@pytest.mark.timeout(1500)
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_bundle_gui_opens_an_example_and_exits_cleanly(bundle, tmp_path, theme):
    example = BUNDLED_EXAMPLES / "research-hybrid.chain.json"
    done = subprocess.run(
        [str(bundle), str(example)],
        capture_output=True,
        text=True,
        timeout=120,
        env=app_env(tmp_path, CHAINSTUDIO_SMOKE_EXIT_MS="1500", CHAINSTUDIO_THEME=theme),
    )
    assert done.returncode == 0, done.stderr
    assert "smoke-exit: research-hybrid.chain.json" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr


@pytest.mark.slow
@bundle_only
@pytest.mark.timeout(1500)
def test_bundle_gui_without_a_file_opens_the_welcome_graph(bundle, tmp_path):
    done = subprocess.run(
        [str(bundle)],
        capture_output=True,
        text=True,
        timeout=120,
        env=app_env(tmp_path, CHAINSTUDIO_SMOKE_EXIT_MS="1500"),
    )
    assert done.returncode == 0, done.stderr
    assert "smoke-exit:" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr


@pytest.mark.slow
@bundle_only
@pytest.mark.timeout(1500)
def test_bundle_runs_against_an_openai_compatible_server(bundle, tmp_path):
    """The frozen openai client (httpx2, pydantic, the price table, the tokenizer) over real HTTP."""
    from tests.support.fake_openai_server import FakeOpenAIServer

    example = BUNDLED_EXAMPLES / "research-hybrid.chain.json"
    with FakeOpenAIServer() as server:
        done = subprocess.run(
            [
                str(bundle),
                "run",
                "--provider",
                "openai",
                "--base-url",
                server.url,
                "--no-history",
                "--no-output",
                str(example),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=app_env(tmp_path, OPENAI_API_KEY="sk-test"),
        )
        completed = server.stats.completed
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Status:        succeeded" in done.stdout
    assert completed == 6
