"""What the CLI writes to a terminal, made safe: text from graph files, servers and exceptions can neither
break the output nor take over the terminal.

* ``safe_streams()`` (around every command, in ``main``) puts a ``TerminalStream`` over ``sys.stdout`` and
  ``sys.stderr``: whatever is printed goes through ``core.text_safety.terminal_text`` (secrets scrubbed,
  escape sequences and control characters removed, characters the terminal cannot encode replaced).
* Under it, a ``SteadyStream`` keeps a stream from stopping a command: characters its encoding cannot show
  are replaced, and a reader that went away (``| head -1``) turns the rest of the output into /dev/null.
* ``make_console()`` gives a rich console without markup (``[/]`` in a name is text, not a tag) whose every
  string goes through the same ``terminal_text``; it writes to the real stream, so its own colours stay.
  Styled text is made with ``styled``, never with markup around untrusted text.
* ``check_output_path`` says, before a run starts, why a file given with ``--json`` and friends could not
  be written, or should not be: one the command reads, or one another flag writes.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from chainstudio.core.text_safety import scrub, terminal_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


class _Over(io.TextIOBase):
    """A text stream over another, ``raw``: what the terminal is, its encoding and its descriptor are raw's."""

    def __init__(self, raw: TextIO):
        self.raw = raw

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.raw, "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        return self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()

    def writable(self) -> bool:
        return True


class TerminalStream(_Over):
    """A text stream that writes ``terminal_text`` of everything to ``raw``."""

    def write(self, text: str) -> int:
        self.raw.write(terminal_text(text, self.encoding))
        return len(text)

    def flush(self) -> None:
        self.raw.flush()


def raw_stream(stream: TextIO) -> TextIO:
    """The stream under a ``TerminalStream`` (or ``stream`` itself)."""
    return stream.raw if isinstance(stream, TerminalStream) else stream


class SteadyStream(_Over):
    """The real stream under everything the CLI prints (rich's consoles write to it too), so that no
    output can stop a command: a character its encoding cannot show is replaced (``LANG=C``,
    ``PYTHONIOENCODING=ascii``), and once the reader is gone (``| head -1`` closed the pipe) the stream's
    file descriptor is pointed at /dev/null, so the work, its files and its history are still done, as
    with an output closed from the start."""

    def __init__(self, raw: TextIO):
        super().__init__(raw)
        reconfigure = getattr(raw, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(Exception):
                reconfigure(errors="replace")

    def write(self, text: str) -> int:
        try:
            self.raw.write(text)
        except BrokenPipeError:
            self._reader_gone()
        except UnicodeEncodeError:  # a stream that could not be reconfigured
            self.raw.write(text.encode(self.encoding, "replace").decode(self.encoding, "replace"))
        return len(text)

    def flush(self) -> None:
        try:
            self.raw.flush()
        except BrokenPipeError:
            self._reader_gone()

    def _reader_gone(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.raw.fileno())  # what is still buffered, and all that follows, goes nowhere
            os.close(devnull)
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            self.raw.flush()


def _steady(stream: TextIO) -> TextIO:
    return stream if isinstance(stream, SteadyStream) else cast("TextIO", SteadyStream(stream))


@contextmanager
def safe_streams() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` as TerminalStreams over SteadyStreams for the duration of the block."""
    saved = sys.stdout, sys.stderr
    if sys.stdout is None:  # started with the stream closed (``>&-``): what it would print goes nowhere
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the process's lifetime
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if not isinstance(sys.stdout, TerminalStream):
        sys.stdout = TerminalStream(_steady(sys.stdout))
    if not isinstance(sys.stderr, TerminalStream):
        sys.stderr = TerminalStream(_steady(sys.stderr))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


class OneLineLog(logging.Formatter):
    """What the app logs (a warning, a step cache that failed), as one line on stderr: ``warning: …``, with
    the exception's type and first line instead of its traceback (``CHAINSTUDIO_TRACEBACK=1`` shows it)."""

    def format(self, record: logging.LogRecord) -> str:
        if os.environ.get("CHAINSTUDIO_TRACEBACK"):
            return super().format(record)
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            first = (str(error).strip().splitlines() or [""])[0]
            text += f" ({type(error).__name__}: {first})" if first else f" ({type(error).__name__})"
        return " ".join(text.split())


class _ToStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a record comes (the safe stream while a command runs)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def log_in_one_line() -> None:
    """The root logger's one handler, for the commands and the window started from them: WARNING and up
    (the root's level), one line each (without it, Python printed ``log.exception``'s traceback)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = _ToStderr()
        handler.setFormatter(OneLineLog())
        root.addHandler(handler)
    if not os.environ.get("CHAINSTUDIO_TRACEBACK"):
        sys.unraisablehook = _unraisable


def _unraisable(unraisable: Any) -> None:
    """An error Python cannot raise (in a finalizer, or while the garbage collector closes an async generator
    under many concurrent requests) was printed as "Exception ignored in …" with a traceback: it is logged
    instead, as a debug record (not shown unless ``CHAINSTUDIO_TRACEBACK=1`` restores Python's own print)."""
    error = unraisable.exc_value
    logging.getLogger("chainstudio").debug(
        "ignored: %s (%s: %s)", unraisable.err_msg or "Exception ignored", type(error).__name__, scrub(str(error))
    )


def make_console(stderr: bool = False) -> Console:
    from rich.console import Console

    class _SafeConsole(Console):
        def render_str(self, text: str, **options: Any) -> Text:
            return super().render_str(terminal_text(text, self.encoding), **options)

    stream = raw_stream(sys.stderr if stderr else sys.stdout)
    console = _SafeConsole(file=stream, highlight=False, markup=False, emoji=False)
    if not console.is_terminal:
        console.width = max(console.width, 130)  # files and pipes get whole lines, not wrapped tables
    return console


def styled(*parts: str | tuple[str, str]) -> Text:
    """Text from parts, each plain or ``(text, style)``; every part made safe for a terminal."""
    from rich.text import Text

    text = Text()
    for part in parts:
        if isinstance(part, tuple):
            text.append(terminal_text(part[0]), style=part[1])
        else:
            text.append(terminal_text(part))
    return text


def check_output_path(flag: str, target: str | None, others: Sequence[tuple[str, str]] = ()) -> str | None:
    """Why ``target`` (given with ``flag``) cannot be written, or None: checked before any work starts.
    ``others``: (what, path) of the files the command reads and the other files it writes: writing one of
    them would lose it (``run g.chain.json --json g.chain.json`` replaced the graph with the run record)."""
    if not target or target == "-":
        return None
    path = Path(target)
    own = _own_folder(path)
    if own:
        return f"{flag} {target}: that is in ChainStudio's {own} (the run history, settings and keys live there)"
    if path.exists() and not path.is_file() and not path.is_dir():  # /dev/null, /dev/stdout, a FIFO: written into
        return None if os.access(path, os.W_OK) else f"{flag} {target}: it is not writable"
    for what, other in others:
        if other and other != "-" and _same_file(path, Path(other)):
            return f"{flag} {target}: that is {what}, which would be overwritten"
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        return f"{flag} {target}: that is a folder, not a file"
    if not folder.is_dir():
        return f"{flag} {target}: the folder {str(folder)!r} does not exist"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{flag} {target}: the file is not writable"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{flag} {target}: the folder {str(folder)!r} is not writable"
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        return False
    return os.path.realpath(a) == os.path.realpath(b)


def _own_folder(path: Path) -> str | None:
    """'data folder' or 'config folder' when ``path`` is in one of the app's own folders, else None."""
    from chainstudio.paths import own_folders

    real = Path(os.path.realpath(path))
    for name, folder in own_folders().items():  # (not made here: an unusable one is said where it is used)
        if real.is_relative_to(os.path.realpath(folder)):
            return name
    return None
