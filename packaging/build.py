"""Build the one-folder ChainStudio bundle: ``.venv/bin/python packaging/build.py``.

Installs the pinned PyInstaller into the running interpreter's environment if it is missing (a build-time
tool, not a run-time dependency), runs packaging/chainstudio.spec, puts the .desktop file and the icon beside
the binary, checks that the bundle starts, and prints the time and the size. Output: dist/chainstudio/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PYINSTALLER = "pyinstaller==6.22.3"
ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "chainstudio.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build"
BUNDLE = DIST / "chainstudio"
EXECUTABLE = BUNDLE / ("chainstudio.exe" if sys.platform == "win32" else "chainstudio")


def ensure_pyinstaller() -> None:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        print(f"installing {PYINSTALLER} (build-time only)", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", PYINSTALLER], check=True)


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def check(executable: Path) -> None:
    """The bundle answers --version and validates a bundled example."""
    example = next((BUNDLE / "_internal" / "resources" / "examples").glob("*.chain.json"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for args in (["--version"], ["validate", str(example)]):
        done = subprocess.run([str(executable), *args], capture_output=True, text=True, env=env, timeout=120)
        print(f"  $ chainstudio {' '.join(args)}\n    {(done.stdout or done.stderr).strip()}")
        if done.returncode != 0:
            raise SystemExit(f"bundle check failed ({done.returncode}): {done.stderr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-check", action="store_true", help="skip running the built bundle")
    args = parser.parse_args(argv)

    ensure_pyinstaller()
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(DIST),
            "--workpath",
            str(WORK),
            str(SPEC),
        ],
        check=True,
        cwd=ROOT,
    )
    elapsed = time.monotonic() - started
    if sys.platform.startswith("linux"):
        shutil.copy2(ROOT / "packaging" / "chainstudio.desktop", BUNDLE / "chainstudio.desktop")
        shutil.copy2(ROOT / "resources" / "icons" / "chainstudio-256.png", BUNDLE / "chainstudio.png")
    size = folder_size(BUNDLE)
    print(f"built {BUNDLE.relative_to(ROOT)} in {elapsed:.0f} s, {size / 1e6:.0f} MB")
    if not args.no_check:
        check(EXECUTABLE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
