"""Where shipped resources and per-user data live."""

from __future__ import annotations

import os
import sys
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


def user_data_dir() -> Path:
    """Run history, autosaves. ``CHAINSTUDIO_DATA_DIR`` overrides it (tests, portable installs)."""
    override = os.environ.get("CHAINSTUDIO_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_config_dir() -> Path:
    """Settings. ``CHAINSTUDIO_CONFIG_DIR`` overrides it (tests, portable installs)."""
    override = os.environ.get("CHAINSTUDIO_CONFIG_DIR")
    path = Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
