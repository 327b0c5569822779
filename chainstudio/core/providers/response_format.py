"""Which ``response_format`` an endpoint takes, learned per provider (one provider = one endpoint).

A request that asks for a structured answer is sent with ``{"type": "json_schema", ...}``. A server that
refuses it (HTTP 400 naming ``response_format``, ``json_schema`` or ``json_object``) is asked again at once
in JSON mode (``{"type": "json_object"}``), and a server that refuses that too, without a response format
(the schema is in the system message either way, and the answer is validated and repaired by the run). The
level reached is remembered, so later requests go straight to what the server takes.
"""

from __future__ import annotations

from typing import Any

from chainstudio.core.providers.base import ChatRequest, ProviderError

LEVELS = ("json_schema", "json_object", "none")
_NAMES = ("response_format", "json_schema", "json_object", "response format")


class ResponseFormats:
    def __init__(self) -> None:
        self.level = 0  # index into LEVELS: what this endpoint takes

    def arguments(self, request: ChatRequest) -> dict[str, Any]:
        """The ``response_format`` keyword for ``request`` at this endpoint (none when it asks for none)."""
        if request.response_format is None or LEVELS[self.level] == "none":
            return {}
        if LEVELS[self.level] == "json_object":
            return {"response_format": {"type": "json_object"}}
        return {"response_format": dict(request.response_format)}

    def refused(self, request: ChatRequest, error: ProviderError) -> bool:
        """Whether ``error`` is the server refusing the response format; if so, step down one level
        (True: send the request again)."""
        if request.response_format is None or error.status != 400 or LEVELS[self.level] == "none":
            return False
        message = error.message.lower()
        if not any(name in message for name in _NAMES):
            return False
        self.level += 1
        return True
