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
