"""User settings (endpoint, default model, price overrides, run defaults) and the API key.

Settings live in ``settings.json`` in the user config directory. The API key is kept in the OS keyring
when one is available; otherwise in ``credentials.json`` (mode 0600) next to it, and ``key_storage``
reports that so the UI can warn. The key is never written into a graph file, the run history or exports.

Named endpoint profiles (``endpoints``, see ``endpoint_profiles``) keep their keys the same way, each
under its own name (keyring entry ``endpoint:<name>``; the credentials file's ``endpoints``).

A base URL typed with credentials in it (``https://user:password@host/v1``, ``…/v1?api_key=…``) is a secret
too: ``settings.json`` holds it masked, and the whole URL is kept like a key (keyring entry ``base-url`` or
``endpoint-url:<name>``; the credentials file's ``base_urls``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Protocol

from chainstudio.core import strict_json
from chainstudio.core.storage.endpoint_profiles import EndpointProfile, parse_profiles
from chainstudio.core.storage.fileformat import atomic_write_text
from chainstudio.core.text_safety import MASK, redact_url
from chainstudio.paths import user_config_dir

KEYRING_SERVICE = "ChainStudio"
KEYRING_USER = "api-key"
KeyStorage = Literal["keyring", "file", "environment", "none"]


@dataclass
class Settings:
    provider: str = "simulated"  # "simulated" | "openai"
    base_url: str = ""  # empty: OPENAI_BASE_URL or the OpenAI default
    default_model: str = ""  # empty: each node's own model
    strategy: str = "eager"
    concurrency: int = 8
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    # model -> {"input": $ per 1M tokens, "output": $ per 1M tokens}
    price_overrides: dict[str, dict[str, float]] = field(default_factory=dict)
    known_models: list[str] = field(default_factory=list)  # the server's models, as Test connection listed them
    endpoints: list[EndpointProfile] = field(default_factory=list)  # named servers a step may choose

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """The settings ``data`` holds; a value of the wrong type keeps its default (a hand-edited or
        damaged file must not break the app at start-up)."""
        if not isinstance(data, dict):
            return cls()
        defaults = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value, default = data[f.name], getattr(defaults, f.name)
            if f.name == "endpoints":
                values[f.name] = parse_profiles(value)
                continue
            if f.name in ("requests_per_minute", "tokens_per_minute"):
                ok = value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0)
            elif f.name == "price_overrides":
                ok = isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())
            elif isinstance(default, float):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            elif default is None:
                ok = value is None or isinstance(value, (str, int, float))
            else:
                ok = type(value) is type(default)
            if ok:
                values[f.name] = value
        return cls(**values)


SETTINGS_LIMIT = 20 * 1024 * 1024  # as a graph file
CREDENTIALS_LIMIT = 1024 * 1024


def settings_path() -> Path:
    return user_config_dir() / "settings.json"


def load_settings() -> Settings:
    """The saved settings; defaults when there are none or the file is unreadable. A base URL saved with
    its credentials masked gets them back from where ``save_settings`` kept them."""
    try:
        settings = Settings.from_dict(strict_json.load_file(settings_path(), SETTINGS_LIMIT, strict=False))
    except (OSError, ValueError, TypeError, RecursionError):  # a FIFO or /dev/zero there: defaults, not a hang
        return Settings()
    settings.base_url = _url_with_credentials(settings.base_url, _URL_ENTRY)
    for profile in settings.endpoints:
        profile.base_url = _url_with_credentials(profile.base_url, _url_entry(profile.name))
    return settings


def save_settings(settings: Settings) -> None:
    """Write ``settings.json``. A base URL with credentials (``user:password@``, query values such as
    ``?api_key=``) is written masked, as ``redact_url`` shows it; the whole URL is kept with the API keys,
    in the keyring, else in the 0600 credentials file."""
    data = asdict(settings)
    data["base_url"] = _url_apart(settings.base_url, _URL_ENTRY)
    for profile, saved in zip(settings.endpoints, data["endpoints"], strict=True):
        saved["base_url"] = _url_apart(profile.base_url, _url_entry(profile.name))
    atomic_write_text(settings_path(), json.dumps(data, indent=2, sort_keys=True) + "\n")


# --- the API key ------------------------------------------------------------------------------
def _credentials_path() -> Path:
    return user_config_dir() / "credentials.json"


class _Keyring(Protocol):
    """What is used of the ``keyring`` module."""

    def get_password(self, service_name: str, username: str) -> str | None: ...

    def set_password(self, service_name: str, username: str, password: str) -> None: ...

    def delete_password(self, service_name: str, username: str) -> None: ...


def _keyring() -> _Keyring | None:
    """The OS keyring, or None when there is no usable backend (headless Linux, CI)."""
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.get_keyring()
        if isinstance(backend, (fail.Keyring, null.Keyring)):
            return None
        chained = getattr(backend, "backends", None)
        if chained is not None and not chained:
            return None
        return keyring
    except Exception:  # noqa: BLE001 - any keyring failure means "no keyring"
        return None


def _from_keyring(user: str) -> str | None:
    """The keyring's secret for ``user``; None when there is no keyring, no such entry, or it cannot be read
    (the callers then try the credentials file)."""
    ring = _keyring()
    if ring is None:
        return None
    try:
        return ring.get_password(KEYRING_SERVICE, user) or None
    except Exception:  # noqa: BLE001 - an unreadable keyring
        return None


def keyring_available() -> bool:
    return _keyring() is not None


def store_api_key(key: str) -> KeyStorage:
    """Save the key in the keyring if possible, else in a 0600 file. Returns where it went."""
    ring = _keyring()
    if ring is not None:
        try:
            if key:
                ring.set_password(KEYRING_SERVICE, KEYRING_USER, key)
            else:
                with contextlib.suppress(Exception):  # nothing to delete
                    ring.delete_password(KEYRING_SERVICE, KEYRING_USER)
            _write_credentials({k: v for k, v in _read_credentials().items() if k != "api_key"})
            return "keyring" if key else "none"
        except Exception:  # noqa: BLE001 - fall back to the file
            pass
    data = _read_credentials()  # the endpoint profiles' keys stay
    data["api_key"] = key
    _write_credentials(data)  # private from its creation on; removed when it holds no key
    return "file" if key else "none"


def stored_api_key() -> tuple[str | None, KeyStorage]:
    """The key saved by the user (keyring, then file), then OPENAI_API_KEY, and where it came from."""
    key = _from_keyring(KEYRING_USER)
    if key:
        return key, "keyring"
    try:
        key = json.loads(_credentials_path().read_text(encoding="utf-8")).get("api_key")
        if key:
            return str(key), "file"
    except (OSError, ValueError, AttributeError):
        pass
    env = os.environ.get("OPENAI_API_KEY")
    if env:
        return env, "environment"
    return None, "none"


# --- the keys of endpoint profiles ------------------------------------------------------------
def _keyring_user(name: str) -> str:
    return f"endpoint:{name}"


def _read_credentials() -> dict[str, Any]:
    try:
        data = strict_json.load_file(_credentials_path(), CREDENTIALS_LIMIT)
    except (OSError, ValueError):  # nested 100,000 deep it was a RecursionError out of the window's start-up
        return {}
    return data if isinstance(data, dict) else {}


def _write_credentials(data: dict[str, Any]) -> None:
    path = _credentials_path()
    if not any(data.values()):
        path.unlink(missing_ok=True)
        return
    atomic_write_text(path, json.dumps(data) + "\n", mode=0o600)


def store_profile_key(name: str, key: str) -> str:
    """Save (or, with an empty ``key``, forget) the key of profile ``name``: in the keyring if possible,
    else in the 0600 credentials file. Returns where it went ("keyring", "file" or "none")."""
    ring = _keyring()
    if ring is not None:
        try:
            if key:
                ring.set_password(KEYRING_SERVICE, _keyring_user(name), key)
            else:
                with contextlib.suppress(Exception):
                    ring.delete_password(KEYRING_SERVICE, _keyring_user(name))
            _forget_file_key(name)
            return "keyring" if key else "none"
        except Exception:  # noqa: BLE001 - fall back to the file
            pass
    data = _read_credentials()
    found = data.get("endpoints")
    keys = {k: v for k, v in found.items() if k != name} if isinstance(found, dict) else {}
    if key:
        keys[name] = key
    data["endpoints"] = keys
    _write_credentials(data)
    return "file" if key else "none"


def _forget_file_key(name: str) -> None:
    data = _read_credentials()
    keys = data.get("endpoints")
    if isinstance(keys, dict) and name in keys:
        data["endpoints"] = {k: v for k, v in keys.items() if k != name}
        _write_credentials(data)


def profile_key(profile: EndpointProfile, env: Mapping[str, str] | None = None) -> str | None:
    """The API key ``profile`` refers to, or None (no key, or none stored)."""
    ref = profile.key_ref
    if ref.startswith("env:"):
        return (os.environ if env is None else env).get(ref[4:]) or None
    if ref != "stored":
        return None
    key = _from_keyring(_keyring_user(profile.name))
    if key:
        return key
    keys = _read_credentials().get("endpoints")
    if isinstance(keys, dict) and isinstance(keys.get(profile.name), str):
        return str(keys[profile.name]) or None
    return None


# --- base URLs with credentials -----------------------------------------------------------------
_URL_ENTRY = "base-url"


def _url_entry(name: str) -> str:
    return f"endpoint-url:{name}"


def _url_apart(url: str, entry: str) -> str:
    """What ``settings.json`` holds for ``url``: itself, or masked with the whole URL stored under ``entry``."""
    shown = redact_url(url) if url else url
    if shown == url:
        if _stored_url(entry) is not None:
            _store_url(entry, "")  # the URL no longer has credentials: forget the ones kept
        return url
    _store_url(entry, url)
    return shown


def _url_with_credentials(shown: str, entry: str) -> str:
    if MASK not in shown:
        return shown
    return _stored_url(entry) or shown  # not found: masked, and a request says the URL must be typed again


def _store_url(entry: str, url: str) -> None:
    ring = _keyring()
    if ring is not None:
        try:
            if url:
                ring.set_password(KEYRING_SERVICE, entry, url)
            else:
                with contextlib.suppress(Exception):
                    ring.delete_password(KEYRING_SERVICE, entry)
            _store_file_url(entry, "")
            return
        except Exception:  # noqa: BLE001 - fall back to the file
            pass
    _store_file_url(entry, url)


def _store_file_url(entry: str, url: str) -> None:
    data = _read_credentials()
    found = data.get("base_urls")
    urls = dict(found) if isinstance(found, dict) else {}
    if not url and entry not in urls:
        return  # nothing to forget: the file is not rewritten
    urls.pop(entry, None)
    if url:
        urls[entry] = url
    data["base_urls"] = urls
    _write_credentials(data)


def _stored_url(entry: str) -> str | None:
    url = _from_keyring(entry)
    if url:
        return url
    urls = _read_credentials().get("base_urls")
    url = urls.get(entry) if isinstance(urls, dict) else None
    return url if isinstance(url, str) and url else None


def resolve_base_url(settings: Settings, explicit: str | None = None) -> str | None:
    return explicit or settings.base_url or os.environ.get("OPENAI_BASE_URL") or None
