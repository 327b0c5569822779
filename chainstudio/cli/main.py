"""``chainstudio``: with no subcommand it opens the GUI; subcommands run headless on the core."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Iterator
from types import ModuleType

import chainstudio
import chainstudio.cli as cli_package


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


def main(argv: list[str]) -> int:
    parser = build_parser()
    known = {
        name for action in parser._actions if isinstance(action, argparse._SubParsersAction) for name in action.choices
    }
    if not argv or (argv[0] not in known and not argv[0].startswith("-")):
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
