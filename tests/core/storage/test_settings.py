import os
import stat

from chainstudio.core.storage import settings as s


def test_settings_round_trip_and_defaults():
    s.settings_path().unlink(missing_ok=True)
    assert s.load_settings() == s.Settings()
    cfg = s.Settings(
        provider="openai",
        base_url="http://127.0.0.1:1/v1",
        concurrency=3,
        price_overrides={"my-model": {"input": 1.0, "output": 2.0}},
    )
    s.save_settings(cfg)
    assert s.load_settings() == cfg
    s.settings_path().write_text("{broken")
    assert s.load_settings() == s.Settings()


def test_key_falls_back_to_private_file_without_keyring(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert not s.keyring_available()  # tests run with the null keyring backend
    assert s.store_api_key("sk-test-123") == "file"
    path = s._credentials_path()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert s.stored_api_key() == ("sk-test-123", "file")
    assert s.store_api_key("") == "none"
    assert not path.exists()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert s.stored_api_key() == ("sk-env", "environment")


def test_key_goes_to_keyring_when_available(monkeypatch):
    store = {}

    class FakeRing:
        def set_password(self, service, user, key):
            store[(service, user)] = key

        def get_password(self, service, user):
            return store.get((service, user))

        def delete_password(self, service, user):
            store.pop((service, user), None)

    monkeypatch.setattr(s, "_keyring", lambda: FakeRing())
    assert s.store_api_key("sk-ring") == "keyring"
    assert s.stored_api_key() == ("sk-ring", "keyring")
    assert not s._credentials_path().exists()
    assert store == {("ChainStudio", "api-key"): "sk-ring"}


def test_a_base_url_with_credentials_is_kept_like_a_key_not_in_settings_json(monkeypatch):
    """A URL typed with a password or a key in its query (Settings, an endpoint profile): settings.json has it
    masked, the 0600 credentials file (no keyring here) has it whole, and loading gives it back whole."""
    from chainstudio.core.providers.factory import endpoint_problem
    from chainstudio.core.providers.openai_compat import OpenAISettings
    from chainstudio.core.storage.endpoint_profiles import EndpointProfile

    url = "https://bob:hunter2@example.test/v1?api_key=SECRET9&api-version=2024"
    profile_url = "http://u:pw-prof@127.0.0.1:9/v1"
    cfg = s.Settings(provider="openai", base_url=url, endpoints=[EndpointProfile("lab", base_url=profile_url)])
    s.save_settings(cfg)
    written = s.settings_path().read_text()
    for secret in ("hunter2", "SECRET9", "pw-prof"):
        assert secret not in written
    assert "https://bob:***@example.test/v1?api_key=***" in written
    credentials = s._credentials_path()
    assert stat.S_IMODE(os.stat(credentials).st_mode) == 0o600 and "hunter2" in credentials.read_text()
    assert s.load_settings() == cfg

    cfg.endpoints[0].base_url = "http://127.0.0.1:9/v1"  # credentials taken out: the kept ones are forgotten
    s.save_settings(cfg)
    assert "pw-prof" not in credentials.read_text() and s.load_settings() == cfg

    credentials.unlink()  # lost: the URL loads masked, and a request says what to do
    lost = s.load_settings().base_url
    assert lost.startswith("https://bob:***@")
    assert "type it again" in (endpoint_problem(OpenAISettings(base_url=lost, api_key="sk-x")) or "")
    cfg.base_url = ""
    s.save_settings(cfg)
    assert not credentials.exists()


def test_a_base_url_with_credentials_goes_to_the_keyring_when_there_is_one(monkeypatch):
    store: dict[tuple[str, str], str] = {}

    class FakeRing:
        def set_password(self, service, user, key):
            store[(service, user)] = key

        def get_password(self, service, user):
            return store.get((service, user))

        def delete_password(self, service, user):
            store.pop((service, user), None)

    monkeypatch.setattr(s, "_keyring", lambda: FakeRing())
    cfg = s.Settings(base_url="http://user:pw-ring@127.0.0.1:9/v1")
    s.save_settings(cfg)
    assert store == {("ChainStudio", "base-url"): "http://user:pw-ring@127.0.0.1:9/v1"}
    assert "pw-ring" not in s.settings_path().read_text() and not s._credentials_path().exists()
    assert s.load_settings() == cfg
    s.save_settings(s.Settings(base_url="http://127.0.0.1:9/v1"))
    assert store == {}
