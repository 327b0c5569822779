"""The GUI's composition root: what the window's features share, built once and passed in.

``AppServices.create`` makes the settings store (settings loaded from disk once), the run history, the
window-layout store (``ui.ini``), the provider factory, the time source of every run's clock, the saved
API key's lookup, the prices (rebuilt when a settings save changes the price overrides), the step
cache (``core.storage.step_cache``, in the user data directory), the graph inputs' remembered values
(``InputsMemory``, kept in ``ui.ini``) and the server's model names that model fields complete from
(``ui.common.model_names``, from the settings). Features get
the pieces they use; ``run_services`` hands the run-related ones to ``chainstudio.core.launch``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QSettings

from chainstudio.core.launch import ProviderFactory, RunOptions, RunServices, build_context
from chainstudio.core.providers.factory import make_provider
from chainstudio.core.run.executor import RunContext
from chainstudio.core.run.pricing import Pricing, PricingError
from chainstudio.core.storage.history import RunHistory, open_history
from chainstudio.core.storage.settings import Settings, stored_api_key
from chainstudio.core.storage.step_cache import StepCacheStore
from chainstudio.paths import usable_user_dirs, user_config_dir
from chainstudio.ui.common.model_names import set_endpoint_names, set_model_names
from chainstudio.ui.common.settings_store import SettingsStore
from chainstudio.ui.run.inputs_memory import InputsMemory


def ui_state_file() -> QSettings:
    """Window geometry, dock layout, recent files and view toggles (``ui.ini`` in the config folder)."""
    return QSettings(str(user_config_dir() / "ui.ini"), QSettings.Format.IniFormat)


def saved_api_key() -> str | None:
    """The key the user saved (OS keyring, else the 0600 file), else $OPENAI_API_KEY."""
    return stored_api_key()[0]


@dataclass
class AppServices:
    settings: SettingsStore
    history: RunHistory
    ui_state: QSettings
    make_provider: ProviderFactory = make_provider
    monotonic: Callable[[], float] = time.monotonic
    api_key: Callable[[], str | None] = saved_api_key
    step_cache: StepCacheStore = field(default_factory=StepCacheStore)
    _pricing: Pricing | None = field(default=None, init=False, repr=False)
    inputs: InputsMemory = field(init=False, repr=False)  # the graph inputs' last values, per graph
    problems: list[str] = field(default_factory=list)  # what could not be used at start (said in the window)

    def __post_init__(self) -> None:
        self.inputs = InputsMemory(self.ui_state)
        self._reprice(self.settings.current)
        self.settings.subscribe(self._reprice)
        set_model_names(self.settings.current.known_models)  # model fields complete from the server's list
        self.settings.subscribe(lambda settings: set_model_names(settings.known_models))
        set_endpoint_names(p.name for p in self.settings.current.endpoints)  # a step's Endpoint field offers them
        self.settings.subscribe(lambda settings: set_endpoint_names(p.name for p in settings.endpoints))

    @classmethod
    def create(
        cls,
        ui_state: QSettings | None = None,
        history: RunHistory | None = None,
        settings: SettingsStore | None = None,
        step_cache: StepCacheStore | None = None,
    ) -> AppServices:
        """The real services, each piece replaceable (tests give their own files). The step cache lives
        beside the run history (both in the user data directory unless a history file is given)."""
        problems = usable_user_dirs() if history is None else []  # the real folders, else temporary ones
        if history is None:  # a damaged file: a history for this session instead
            history, problem = open_history()
            problems += [problem] if problem else []
        return cls(
            settings=settings or SettingsStore(),
            history=history,
            ui_state=ui_state if ui_state is not None else ui_state_file(),
            step_cache=step_cache or StepCacheStore(history.path.parent / "step_cache.sqlite3"),
            problems=problems,
        )

    def _reprice(self, settings: Settings) -> None:
        try:
            self._pricing = Pricing(settings.price_overrides)
        except PricingError:  # build_context raises it again, with the reason, when a run starts
            self._pricing = None

    @property
    def pricing(self) -> Pricing | None:
        """Prices for the current settings; None when their overrides cannot be read."""
        return self._pricing

    def run_services(self) -> RunServices:
        return RunServices(
            make_provider=self.make_provider,
            monotonic=self.monotonic,
            api_key=self.api_key,
            pricing=self._pricing,
            step_cache=self.step_cache,
        )

    def context(self, options: RunOptions, index: int = 0) -> RunContext:
        """A fresh run context from the current settings and ``options`` (raises ProviderSetupError or
        PricingError, both ValueError)."""
        return build_context(self.settings.current, options, self.run_services(), index=index)
