"""Checks before the app starts Qt, so a missing display or system library is one clear line, not Qt's abort.

On a bare Linux machine Qt's own messages mislead: a missing ``libxcb-icccm4`` shows as "Could not load
the Qt platform plugin xcb even though it was found" (or names ``xcb-cursor0`` alone) and then aborts. Here
the xcb plugin is loaded once with ``dlopen`` first; when that fails, ``ldd`` lists every library it lacks
and the message names the Debian/Ubuntu packages that hold them. The same for the Qt modules themselves
(``libEGL``, ``libglib``, ...), which fail at import. The platform is checked too: ``offscreen`` or
``minimal`` shows no window (the app would run unseen until killed), and without ``$DISPLAY`` or
``$WAYLAND_DISPLAY`` there is no screen to open it on. Nothing here imports Qt before it is known to load.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

# soname -> the Debian 12 / Ubuntu package that ships it (what Qt 6's xcb platform and QtGui need)
PACKAGES = {
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
}
NO_WINDOW_PLATFORMS = ("offscreen", "minimal")
NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)
SONAME = re.compile(r"(lib[\w+.-]+\.so(?:\.\d+)*)")


def package_for(soname: str) -> str:
    """The package holding ``soname``: from the table, else the Debian naming rule (libfoo.so.3 -> libfoo3)."""
    if soname in PACKAGES:
        return PACKAGES[soname]
    stem, _, version = soname.partition(".so")
    version = version.strip(".").split(".")[0]
    name = stem.lower().replace("_", "-")
    return f"{name}{'-' if name[-1:].isdigit() and version else ''}{version}"


def missing_libraries(binary: Path) -> list[str]:
    """The shared libraries ``binary`` needs that the system lacks (``ldd``; empty when it cannot tell)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    try:
        out = subprocess.run([ldd, str(binary)], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return list(dict.fromkeys(NOT_FOUND.findall(out)))


def missing_message(what: str, sonames: list[str]) -> str:
    packages = " ".join(dict.fromkeys(package_for(s) for s in sonames))
    return (
        f"chainstudio: {what}: missing system libraries {', '.join(sonames)}. "
        f"On Debian/Ubuntu: sudo apt-get install {packages}"
    )


def _pyside_dir() -> Path | None:
    spec = find_spec("PySide6")
    return Path(spec.origin).parent if spec is not None and spec.origin else None


def _check_qt_modules() -> str | None:
    """Qt's modules load (their system libraries are there)."""
    try:
        import PySide6.QtWidgets  # noqa: F401 - only whether it loads
    except ImportError as exc:
        base = _pyside_dir()
        binaries = sorted(base.glob("QtWidgets*.so")) + sorted(base.glob("QtGui*.so")) if base else []
        missing = [s for b in binaries for s in missing_libraries(b)]
        missing = list(dict.fromkeys(missing)) or SONAME.findall(str(exc))
        if missing:
            return missing_message("Qt cannot start", missing)
        return f"chainstudio: Qt cannot start: {exc}"
    return None


def _check_xcb() -> str | None:
    """The xcb platform plugin (an X11 window) loads: every library it links to is installed."""
    base = _pyside_dir()
    plugin = base / "Qt" / "plugins" / "platforms" / "libqxcb.so" if base else None
    if plugin is None or not plugin.exists():
        return None
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        missing = missing_libraries(plugin) or SONAME.findall(str(exc))
        if missing:
            return missing_message("Qt cannot open a window (X11)", missing)
        return f"chainstudio: Qt cannot open a window (X11): {exc}"
    return None


def check(environ: dict[str, str] | None = None) -> str | None:
    """Why the app cannot show its window here, in one line; None when it can (as far as can be told)."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip().lower()
    if platform in NO_WINDOW_PLATFORMS and not env.get("CHAINSTUDIO_SMOKE_EXIT_MS"):
        return (
            f"chainstudio: QT_QPA_PLATFORM={platform} shows no window, so the app would run unseen until killed; "
            "unset it on a desktop, or use a virtual screen: xvfb-run -a chainstudio "
            "(the commands, e.g. chainstudio run FILE, need no display)"
        )
    problem = _check_qt_modules()
    if problem or not sys.platform.startswith("linux") or platform in NO_WINDOW_PLATFORMS:
        return problem
    wayland = bool(env.get("WAYLAND_DISPLAY"))
    if platform in ("", "xcb") and not env.get("DISPLAY") and not (wayland and platform == ""):
        return (
            "chainstudio: no display to open the window on ($DISPLAY is not set); run it in a desktop session, "
            "or on a virtual screen: xvfb-run -a chainstudio (the commands, e.g. chainstudio run FILE, need none)"
        )
    if platform == "xcb" or (platform == "" and not wayland):
        return _check_xcb()
    return None
