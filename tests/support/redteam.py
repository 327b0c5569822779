"""The third round's hostile answers (issue 14, the red-team round): modes of the fake server beyond
``hostile.py``'s and ``heldout.py``'s, selected the same way by ``[[hostile=MODE]]`` in a prompt;
``[[size=N]]`` sets the size where a mode has one.

    key_after_pad       HTTP 500 whose message is [[size]] characters of text, then the key (default 1,990):
                        wherever a message is cut short, the cut may fall inside the key
    key_after_pad_400   the same as a 400 (not retried)
    html_200            HTTP 200 with an HTML page (a captive portal or a web server's index) for a stream
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.support import heldout

if TYPE_CHECKING:
    from tests.support.fake_openai_server import FakeOpenAIServer

MODES = frozenset(("key_after_pad", "key_after_pad_400", "html_200"))


async def answer(mode: str, server: FakeOpenAIServer, request: web.Request, entry: dict[str, Any], model: str) -> Any:
    if mode in ("key_after_pad", "key_after_pad_400"):
        status = 500 if mode == "key_after_pad" else 400
        padding = ("pad " * (heldout.size(entry, 1_990) // 4 + 1))[: heldout.size(entry, 1_990)]
        message = f"{padding}{heldout.key(request)} was refused"
        entry["status"] = status
        body = json.dumps({"error": {"message": message, "type": "server_error"}})
        return web.Response(status=status, text=body, content_type="application/json")
    entry["status"] = 200
    page = "<!doctype html><html><head><title>Sign in</title></head><body>Log in to the Wi-Fi</body></html>"
    return web.Response(status=200, text=page, content_type="text/html")
