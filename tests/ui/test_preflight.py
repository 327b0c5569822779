"""The app's pre-flight: a missing display or system library is one line naming what to install, instead of
Qt's abort (issue 12, item 7; verified on a bare Debian 12 chroot, see README)."""

import shutil
import subprocess
import sys

import pytest

from chainstudio.ui import preflight


def test_an_offscreen_platform_is_refused_unless_a_smoke_test_quits_by_itself():
    problem = preflight.check({"QT_QPA_PLATFORM": "offscreen"})
    assert problem is not None and "shows no window" in problem and "xvfb-run -a chainstudio" in problem
    assert preflight.check({"QT_QPA_PLATFORM": "minimal"}) is not None
    assert preflight.check({"QT_QPA_PLATFORM": "offscreen", "CHAINSTUDIO_SMOKE_EXIT_MS": "300"}) is None


def test_no_display_is_said_in_one_line():
    if not sys.platform.startswith("linux"):
        return
    problem = preflight.check({})
    assert problem is not None and "$DISPLAY is not set" in problem and "\n" not in problem
    assert preflight.check({"QT_QPA_PLATFORM": "xcb"}) is not None


def test_missing_libraries_are_named_with_their_debian_packages():
    assert preflight.package_for("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert preflight.package_for("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert preflight.package_for("libglib-2.0.so.0") == "libglib2.0-0"
    assert preflight.package_for("libfoo.so.3") == "libfoo3" and preflight.package_for("libbar2.so.1") == "libbar2-1"
    line = preflight.missing_message("Qt cannot open a window (X11)", ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert line.endswith("sudo apt-get install libxcb-icccm4 libxcb-keysyms1") and "\n" not in line


def test_ldd_reports_what_a_binary_lacks(tmp_path):
    """``missing_libraries`` reads ldd's "not found" lines (a real ELF file that needs a library nobody has)."""
    binary = tmp_path / "needs_missing.so"
    source = tmp_path / "x.c"
    source.write_text("int f(void) { return 0; }\n")
    fake = tmp_path / "libchainstudio-missing.so.7"
    if shutil.which("cc") is None:
        pytest.skip("no C compiler to build a test library with")
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-o", str(fake), str(source), "-Wl,-soname,libchainstudio-missing.so.7"],
        check=True,
    )
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-o", str(binary), str(source), "-Wl,--no-as-needed", str(fake)], check=True
    )
    fake.unlink()
    assert preflight.missing_libraries(binary) == ["libchainstudio-missing.so.7"]
