"""Named endpoint profiles: a model server a step may choose by name (issue 15, "endpoints per step").

A profile says where a server is and what is known of it: its base URL, a reference to its API key, a
default model, its rate limits (requests and tokens per minute), how many requests it runs at once
(``capacity``) and price overrides for its models. Profiles live in ``settings.json`` with the other
settings (the GUI and the CLI share that file); the key itself never does. ``key_ref`` names where the key
is: ``""`` no key (a local server), ``"stored"`` the key saved for this profile (the OS keyring, entry
``endpoint:<name>``, else ``credentials.json``, mode 0600), ``"env:VAR"`` the environment variable ``VAR``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PROFILE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,39}$")
KEY_REFS = ("", "stored")  # or "env:VAR"
_ENV_VAR = re.compile(r"^env:[A-Za-z_][A-Za-z0-9_]{0,99}$")


@dataclass
class EndpointProfile:
    """One named server. ``price_overrides``: model -> {"input": $/1M, "output": $/1M} for this server."""

    name: str
    base_url: str = ""
    key_ref: str = ""  # "" (no key), "stored" (keyring / credentials file), "env:VAR"
    default_model: str = ""  # empty: each step's own model
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    capacity: int | None = None  # requests the server runs at once, when known
    price_overrides: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base_url": self.base_url,
            "key_ref": self.key_ref,
            "default_model": self.default_model,
            "requests_per_minute": self.requests_per_minute,
            "tokens_per_minute": self.tokens_per_minute,
            "capacity": self.capacity,
            "price_overrides": self.price_overrides,
        }


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a profile, or None."""
    if not PROFILE_NAME.match(name):
        return "a profile name starts with a letter and has up to 40 letters, digits, '_', '-' or '.'"
    return None


def key_ref_problem(ref: str) -> str | None:
    if ref in KEY_REFS or _ENV_VAR.match(ref):
        return None
    return 'the key reference is "" (no key), "stored" or "env:VARIABLE"'


def _positive_int(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0)


def _prices(value: object) -> bool:
    if not isinstance(value, dict):
        return False
    for price in value.values():
        if not isinstance(price, dict):
            return False
        for number in price.values():
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
                return False
    return True


def parse_profiles(data: object) -> list[EndpointProfile]:
    """The profiles ``data`` (the settings file's ``endpoints``) holds; an entry that is not one (a bad
    name, a name used twice, a value of the wrong type) is left out, so a hand-edited file never breaks the
    app at start-up."""
    if not isinstance(data, list):
        return []
    profiles: list[EndpointProfile] = []
    seen: set[str] = set()
    for entry in data:
        if not isinstance(entry, dict):
            continue
        name = entry.get("name")
        if not isinstance(name, str) or name_problem(name) or name in seen:
            continue
        texts = {k: entry.get(k, "") for k in ("base_url", "key_ref", "default_model")}
        numbers = {k: entry.get(k) for k in ("requests_per_minute", "tokens_per_minute", "capacity")}
        prices = entry.get("price_overrides", {})
        if not all(isinstance(v, str) for v in texts.values()) or key_ref_problem(str(texts["key_ref"])):
            continue
        if not all(_positive_int(v) for v in numbers.values()) or not _prices(prices):
            continue
        seen.add(name)
        profiles.append(EndpointProfile(name, **texts, **numbers, price_overrides=prices))  # type: ignore[arg-type]
    return profiles


def profiles_by_name(profiles: Iterable[EndpointProfile]) -> dict[str, EndpointProfile]:
    return {p.name: p for p in profiles}
