"""Text that came from outside (a server, a provider library, an exception, a graph file) made safe to
show, store and export: the one scrubbing point for secrets, and the terminal's sanitizer.

**Secrets.** Whoever holds a credential registers it (``register_secret``, ``register_url_secrets``); the
provider does so when it is built. ``scrub(text)`` replaces every registered secret in ``text`` with
``***`` and repairs lone surrogates (they cannot be encoded, so one would break a history write or an
export). The run's events go through ``scrub`` as they are emitted (``core.run.events.scrubbed``), so
everything made from them (the terminal, ``--json``, ``--csv``, ``--trace``, the run history, the GUI)
carries scrubbed text; error messages printed outside a run go through it too. A secret split across
two streamed chunks is caught by ``StreamScrubber``, which holds back a chunk's tail while it could be
the start of a secret.

A secret is registered with the forms it may be quoted back in (``secret_forms``: stripped of
surrounding whitespace, repr-escaped, percent-encoded, base64-encoded at any alignment), so an echo in
any of them is masked too.

Registered secrets are kept for the life of the process (a set of strings; the same key registered twice
is one entry). Values shorter than ``MIN_SECRET_CHARS`` are not registered: scrubbing ``"abc"`` out of
every text would mangle answers, and such a value is no credential worth the name.

**The terminal.** ``terminal_text`` strips control characters (ANSI escape sequences included) and bidi
overrides, and replaces what the terminal's encoding cannot show, so a name or a server message cannot
move the cursor, recolour, retitle or clear the terminal.
"""

from __future__ import annotations

import base64
import re
import threading
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

MIN_SECRET_CHARS = 6
MAX_HELD_PREFIX = 4_096  # a 100 KB key's prefixes took minutes and gigabytes; keys are refused past this
MIN_ENCODED_CHARS = 12  # an encoded form shorter than this could turn up in ordinary text by chance
MASK = "***"

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_pattern: re.Pattern[str] | None = None
_tails: dict[str, list[str]] = {}  # the secrets' proper prefixes by their last character (StreamScrubber)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def register_secret(value: str | None) -> None:
    """Scrub ``value`` out of every text from now on, in the forms a server or a library may quote it in
    (``secret_forms``)."""
    global _secrets, _pattern, _tails
    if not value or len(value.strip()) < MIN_SECRET_CHARS:
        return
    forms = secret_forms(value)
    with _lock:
        if forms <= _secrets:
            return
        _secrets = _secrets | forms
        # longest first, so a secret that contains another is masked whole
        _pattern = re.compile("|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True)))
        tails: dict[str, list[str]] = {}
        for secret in _secrets:  # every proper prefix, by its last character, longest first (up to a bound:
            for n in range(1, min(len(secret), MAX_HELD_PREFIX + 1)):  # the table grows as a secret's square)
                tails.setdefault(secret[n - 1], []).append(secret[:n])
        _tails = {c: sorted(set(p), key=len, reverse=True) for c, p in tails.items()}


def register_url_secrets(url: str | None) -> None:
    """Register the credentials a URL carries: ``user:password@`` and every query-string value."""
    if not url:
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    if parts.password:
        register_secret(unquote(parts.password))
        register_secret(parts.password)
        if parts.username:  # a client may send them as HTTP basic auth
            basic = f"{unquote(parts.username)}:{unquote(parts.password)}".encode("utf-8", "replace")
            register_secret(base64.b64encode(basic).decode("ascii"))
    elif parts.username:
        register_secret(unquote(parts.username))  # a bare user@ is often a token
    for _, value in parse_qsl(parts.query, keep_blank_values=False):
        register_secret(value)


_USER_INFO = re.compile(r"(?<=//)[^/?#]*@")  # everything up to the last @ of the authority
_QUERY_VALUE = re.compile(r"([?&;][^=&;#]*=)[^&;#]*")


def redact_url(url: str) -> str:
    """``url`` fit to show: the password and the query values masked."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
        query = "&".join(f"{k}={MASK}" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
        return scrub(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))
    except ValueError:  # not a URL (``http://u:pw@[::1``): its user info and query values masked all the same
        masked = _USER_INFO.sub(f"{MASK}@", url)
        return scrub(_QUERY_VALUE.sub(lambda m: f"{m.group(1)}{MASK}", masked))


def scrub(text: str) -> str:
    """``text`` without any registered secret, and with lone surrogates replaced by U+FFFD."""
    if not isinstance(text, str):
        text = str(text)
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    if _LONE_SURROGATE.search(text):
        text = _LONE_SURROGATE.sub("\ufffd", text)
    return text


def escape_lone_surrogates(json_text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with any lone surrogate written as its
    ``\\uXXXX`` escape: still the same JSON value, and encodable as UTF-8 (a raw one is not)."""
    if not _LONE_SURROGATE.search(json_text):
        return json_text
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)


def secret_forms(value: str) -> set[str]:
    """``value`` as a server, a proxy or a library may quote it back: itself and without surrounding
    whitespace (a key pasted with a newline shows as ``...\\n`` in a repr), escaped as in a repr,
    percent-encoded (upper- and lower-case hex, every byte or only the unsafe ones), and base64-encoded
    (standard and URL-safe alphabets, at each of the three byte alignments it can have inside a longer
    encoded text such as ``Bearer KEY`` or ``user:KEY``; only the characters that depend on the value
    alone, and only when there are at least ``MIN_ENCODED_CHARS`` of them)."""
    from urllib.parse import quote

    core = value.strip()
    forms = {value, core}
    for text in (value, core):
        forms.add(text.encode("unicode_escape").decode("ascii"))
        encoded = quote(text, safe="")
        every = "".join(f"%{b:02X}" for b in text.encode("utf-8"))
        for form in (encoded, every):
            forms.update((form, re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), form)))
    raw = core.encode("utf-8")
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        first = -(-8 * shift // 6)  # the first character made of the value's bits only
        last = (8 * (shift + len(raw)) - 6) // 6  # the last one
        middle = encoded[first : last + 1]
        if len(middle) >= MIN_ENCODED_CHARS:
            forms.update((middle, middle.replace("+", "-").replace("/", "_")))
    return {f for f in forms if len(f) >= MIN_SECRET_CHARS}


class StreamScrubber:
    """Scrubs a text that arrives in chunks: ``feed`` returns what may be shown now, holding back a tail
    that could be the beginning of a secret; ``flush`` returns the rest at the end."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, chunk: str) -> str:
        secrets = _secrets
        if not secrets:
            out, self._held = self._held + chunk, ""
            return scrub(out) if out else out
        text = scrub(self._held + chunk)
        keep = _held_tail(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        out, self._held = self._held, ""
        return scrub(out)


def _held_tail(text: str) -> int:
    """The length of the longest tail of ``text`` that is a proper prefix of a secret (only the prefixes
    ending in ``text``'s last character are tried: a few, however many chunks stream)."""
    if not text:
        return 0
    for prefix in _tails.get(text[-1], ()):
        if text.endswith(prefix):
            return len(prefix)
    return 0


# --- the terminal -------------------------------------------------------------------------------
# C0 controls but tab and newline, DEL, C1 controls (a C1 CSI opens an escape sequence on its own), and
# the bidi embeddings, overrides and isolates that reorder what a terminal shows.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])"  # CSI, OSC, two-character
    r"|\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x9c]*[\x07\x9c]?"  # the same opened by a C1 character
)


def terminal_text(text: str, encoding: str | None = "utf-8") -> str:
    """``text`` fit for a terminal: secrets scrubbed, escape sequences and control characters removed, and
    characters the ``encoding`` cannot show replaced."""
    text = scrub(text)
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _UNSAFE.sub("", text)
    if encoding and encoding.lower().replace("-", "") not in ("utf8",):
        text = text.encode(encoding, "replace").decode(encoding, "replace")
    return text
