"""The settings store (loaded once, saved through it, listeners told) and the services built around it."""

import pytest

from chainstudio.core.launch import RunOptions
from chainstudio.core.run.pricing import PricingError
from chainstudio.core.storage import settings as core_settings
from chainstudio.core.storage.history import RunHistory
from chainstudio.core.storage.settings import Settings, load_settings
from chainstudio.ui.common import settings_store
from chainstudio.ui.common.settings_store import SettingsStore
from chainstudio.ui.services import AppServices


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def test_loaded_once_saved_through_it_and_listeners_told(config_dir, monkeypatch):
    core_settings.save_settings(Settings(default_model="on-disk"))
    store = SettingsStore()
    assert store.current.default_model == "on-disk"
    core_settings.save_settings(Settings(default_model="changed behind its back"))
    assert store.current.default_model == "on-disk"  # read once, not on every use
    heard = []
    store.subscribe(heard.append)
    new = Settings(provider="openai", strategy="layered")
    store.save(new)
    assert heard == [new] and store.current is new and load_settings() == new


def test_given_settings_are_not_read_from_disk(config_dir, monkeypatch):
    monkeypatch.setattr(settings_store, "load_settings", lambda: pytest.fail("read from disk"))
    assert SettingsStore(Settings(concurrency=3)).current.concurrency == 3


def test_services_build_contexts_from_the_current_settings_and_reprice_on_save(config_dir, tmp_path, qapp):
    store = SettingsStore(Settings())
    services = AppServices.create(history=RunHistory(tmp_path / "h.sqlite3"), settings=store)
    first = services.pricing
    assert first is not None and services.context(RunOptions()).pricing is first  # built once, shared
    assert services.context(RunOptions(seed=4), index=1).seed == 5
    store.save(Settings(price_overrides={"mine": {"input": 1.0, "output": 1.0}}))
    assert services.pricing is not first and services.context(RunOptions()).pricing.price("mine") is not None
    store.save(Settings(price_overrides={"mine": {"input": "cheap"}}))
    assert services.pricing is None
    with pytest.raises(PricingError):  # the reason comes when a run is asked for
        services.context(RunOptions())
