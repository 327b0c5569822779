"""The user's settings as the GUI holds them: loaded from disk once, saved through the store.

``SettingsStore`` is built once by the composition root (``chainstudio.ui.services``) and passed to
whatever reads or saves settings. ``save`` writes ``settings.json`` and then tells every listener, so the
run toolbar's defaults, the prices and the next run follow a save at once, without reading the file again.
"""

from __future__ import annotations

from collections.abc import Callable

from chainstudio.core.storage.settings import Settings, load_settings, save_settings

Listener = Callable[[Settings], object]


class SettingsStore:
    def __init__(self, settings: Settings | None = None) -> None:
        """``settings``: start from these (tests, tools); None: load the saved settings (defaults when none)."""
        self._settings = settings if settings is not None else load_settings()
        self._listeners: list[Listener] = []

    @property
    def current(self) -> Settings:
        """The settings in force (treat as read-only: change them with ``save``)."""
        return self._settings

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(settings)`` after every save."""
        self._listeners.append(listener)

    def save(self, settings: Settings) -> None:
        """Write ``settings`` to disk (raises OSError), make them current and tell the listeners."""
        save_settings(settings)
        self._settings = settings
        for listener in list(self._listeners):
            listener(settings)
