"""``chainstudio``: with no subcommand it opens the GUI; subcommands run headless on the core.

How the first argument is read: a command's name runs that command; an option (``-…``) goes to the
parser; anything that looks like a graph file — it exists, ends in ``.json``, or has a path separator —
opens the app on it (``gui`` is implied). Any other word is an unknown command: an error listing the
commands, never a GUI opened on a file that is not there.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import pkgutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import chainstudio
import chainstudio.cli as cli_package
from chainstudio.cli.terminal import log_in_one_line, safe_streams
from chainstudio.core.errors import ChainStudioError


def _command_modules() -> Iterator[ModuleType]:
    for info in sorted(pkgutil.iter_modules(cli_package.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in {"main", "common"}:
            continue
        module = importlib.import_module(f"chainstudio.cli.{info.name}")
        if hasattr(module, "register"):
            yield module


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainstudio",
        description="Design chains of LLM calls and watch them run. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"chainstudio {chainstudio.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = subparsers.add_parser("gui", help="open the app (the default), optionally with graph files")
    gui.add_argument("files", nargs="*", help="graph files to open")
    gui.set_defaults(handler=_run_gui)
    for module in _command_modules():
        module.register(subparsers)
    return parser


def _run_gui(args: argparse.Namespace) -> int:
    from chainstudio.ui.app import run_app

    return run_app(list(args.files))


def command_names(parser: argparse.ArgumentParser) -> list[str]:
    """The subcommands ``parser`` knows, in the order they were added."""
    return [
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)  # argparse keeps its subparsers private
        for name in action.choices
    ]


def looks_like_file(word: str) -> bool:
    """Whether a first argument that is no command names a graph file (the GUI opens it)."""
    return Path(word).exists() or word.lower().endswith(".json") or "/" in word or "\\" in word


def unknown_command(word: str, commands: list[str]) -> str:
    """One line: the word is no command, what it may have meant, and the commands there are."""
    close = difflib.get_close_matches(word, commands, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"chainstudio: error: unknown command {word!r}{hint}; commands: {', '.join(commands)}. "
        "To open a graph file, give its path (e.g. ./my.chain.json)."
    )


def main(argv: list[str]) -> int:
    parser = build_parser()
    commands = command_names(parser)
    if argv and argv[0] not in commands and not argv[0].startswith("-"):
        if not looks_like_file(argv[0]):
            print(unknown_command(argv[0], commands), file=sys.stderr)
            return 2
        argv = ["gui", *argv]  # a graph file: open the app on it
    elif not argv:
        argv = ["gui"]
    with safe_streams():  # whatever a command prints is made safe for the terminal (chainstudio.cli.terminal)
        log_in_one_line()
        args = parser.parse_args(argv)
        try:
            check_all_outputs(args)  # every command's output files, before it does anything
            return int(args.handler(args) or 0)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            return 0
        except ChainStudioError as exc:  # a refusal no command explained itself: its sentence
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except (OSError, sqlite3.Error, MemoryError, RecursionError) as exc:
            print(f"error: {_reason(exc)}", file=sys.stderr)
            return 1
        except Exception as exc:  # a bug: one line, not a traceback (CHAINSTUDIO_TRACEBACK=1 shows it)
            if os.environ.get("CHAINSTUDIO_TRACEBACK"):
                raise
            print(f"error: internal error ({type(exc).__name__}: {_reason(exc)})", file=sys.stderr)
            return 70


OUTPUT_FLAGS = ("json", "trace", "csv", "gantt", "out", "chart", "summary", "state", "canvas")


def check_all_outputs(args: argparse.Namespace) -> None:
    """Refuse an output a command could not write, or should not (a file it reads, one another flag writes,
    one in the app's folders): ``advise g.chain.json --json g.chain.json`` replaced the graph, as ``run`` did."""
    flags = tuple(flag for flag in OUTPUT_FLAGS if isinstance(getattr(args, flag, None), str))
    if flags:
        from chainstudio.cli.run import check_outputs

        check_outputs(args, flags)


def _reason(exc: BaseException) -> str:
    """One line saying why: an OSError's strerror and file, else the message's first line."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__
