"""``chainstudio cache info|clear``: the step cache (model answers kept by content address)."""

from __future__ import annotations

import argparse
import datetime


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("cache", help="the step cache: how big it is, or clear it")
    parser.add_argument("action", choices=("info", "clear"), help="info: entries and size; clear: remove them all")
    parser.add_argument("--json", metavar="OUT", help="info: write it as JSON ('-' for stdout)")
    parser.set_defaults(handler=run)


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return datetime.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M")


def run(args: argparse.Namespace) -> int:
    from chainstudio.cli.report import write_json
    from chainstudio.core.storage.step_cache import StepCacheStore

    store = StepCacheStore()
    if args.action == "clear":
        count = store.clear()
        print(f"Cleared the step cache: {count:,} entr{'y' if count == 1 else 'ies'} removed ({store.path})")
        return 0
    info = store.info()
    if args.json:
        write_json(args.json, info.to_json())
        return 0
    mb = 1024 * 1024
    print(f"Step cache:  {info.path}")
    print(f"Entries:     {info.entries:,} ({info.entries - info.simulated:,} real, {info.simulated:,} simulated)")
    print(
        f"Size:        {info.bytes / mb:,.2f} MB of {info.max_bytes / mb:,.0f} MB (file {info.file_bytes / mb:,.2f} MB)"
    )
    print(f"Last used:   {_when(info.oldest)} … {_when(info.newest)}")
    return 0
