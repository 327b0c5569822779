"""PySide6-Essentials 6.12.0 on Python 3.11 over-decrements None on void calls and aborts after a few
thousand (shared/design/DEPENDENCIES.md). This makes ~100k void calls in a child process so an abort
shows up as a failed test, not a dead test session."""

import subprocess
import sys

CODE = """
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
for i in range(100_000):
    label.setText(str(i))
print("ok")
"""


def test_many_void_qt_calls_do_not_abort():
    result = subprocess.run(
        [sys.executable, "-c", CODE],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"
