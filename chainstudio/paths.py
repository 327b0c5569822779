"""Where shipped resources and per-user data live."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import platformdirs

APP_NAME = "ChainStudio"


def resources_dir() -> Path:
    """The folder holding examples, icons and price overrides shipped with the app."""
    bundled = getattr(sys, "_MEIPASS", None)  # PyInstaller one-folder bundle
    candidates = []
    if bundled:
        candidates.append(Path(bundled) / "resources")
    candidates.append(Path(__file__).resolve().parent.parent / "resources")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[-1]


def examples_dir() -> Path:
    return resources_dir() / "examples"


def _user_dir(override_variable: str, default: Callable[..., str]) -> Path:
    """``$override_variable`` if set, else platformdirs' ``default`` folder for the app; created if missing."""
    path = _user_dir_path(override_variable, default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _user_dir_path(override_variable: str, default: Callable[..., str]) -> Path:
    override = os.environ.get(override_variable)
    return Path(override) if override else Path(default(APP_NAME, appauthor=False))


def own_folders() -> dict[str, Path]:
    """The app's data and config folders by name, as they would be (nothing is created or checked)."""
    return {
        "data folder": _user_dir_path("CHAINSTUDIO_DATA_DIR", platformdirs.user_data_dir),
        "config folder": _user_dir_path("CHAINSTUDIO_CONFIG_DIR", platformdirs.user_config_dir),
    }


def user_data_dir() -> Path:
    """Run history, autosaves. ``CHAINSTUDIO_DATA_DIR`` overrides it (tests, portable installs)."""
    return _user_dir("CHAINSTUDIO_DATA_DIR", platformdirs.user_data_dir)


def user_config_dir() -> Path:
    """Settings. ``CHAINSTUDIO_CONFIG_DIR`` overrides it (tests, portable installs)."""
    return _user_dir("CHAINSTUDIO_CONFIG_DIR", platformdirs.user_config_dir)


def usable_user_dirs() -> list[str]:
    """For the window, at start: each of the data and config folders that cannot be made or written is
    replaced, for this process, by a temporary folder (set as its override variable, so every part of the
    app uses it), and a sentence says so. Without this, a file where the folder should be, or a read-only
    folder, kept the window from opening at all."""
    problems = []
    for variable, folder, what in (
        ("CHAINSTUDIO_DATA_DIR", user_data_dir, "data folder (run history, autosaves, step cache)"),
        ("CHAINSTUDIO_CONFIG_DIR", user_config_dir, "settings folder"),
    ):
        try:
            path = folder()
            if not os.access(path, os.W_OK | os.X_OK):
                raise PermissionError(f"{path} is not writable")
        except OSError as exc:
            import tempfile

            os.environ[variable] = tempfile.mkdtemp(prefix=f"chainstudio-{variable.split('_')[1].lower()}-")
            problems.append(f"The {what} cannot be used ({exc}): a temporary one is used until you quit.")
    return problems
