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
    override = os.environ.get(override_variable)
    path = Path(override) if override else Path(default(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_data_dir() -> Path:
    """Run history, autosaves. ``CHAINSTUDIO_DATA_DIR`` overrides it (tests, portable installs)."""
    return _user_dir("CHAINSTUDIO_DATA_DIR", platformdirs.user_data_dir)


def user_config_dir() -> Path:
    """Settings. ``CHAINSTUDIO_CONFIG_DIR`` overrides it (tests, portable installs)."""
    return _user_dir("CHAINSTUDIO_CONFIG_DIR", platformdirs.user_config_dir)
