"""``chainstudio export FILE --canvas OUT.png|OUT.svg``: draw a graph's canvas offscreen, as File → Export does."""

from __future__ import annotations

import argparse
import os
import sys

from chainstudio.cli.common import load_or_explain


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("export", help="render a graph's canvas to a PNG or SVG image")
    parser.add_argument("file", metavar="FILE", help="a .chain.json graph")
    parser.add_argument("--canvas", required=True, metavar="OUT", help="the image to write: OUT.png or OUT.svg")
    parser.add_argument("--scale", type=float, default=1.5, help="PNG pixels per canvas unit (default 1.5)")
    parser.add_argument("--no-layers", action="store_true", help="leave out the layer bands")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    suffix = os.path.splitext(args.canvas)[1].lower()
    if suffix not in (".png", ".svg"):
        print(f"{args.canvas}: error: the image must end in .png or .svg", file=sys.stderr)
        return 2
    if not 0.1 <= args.scale <= 8:
        print("error: --scale must be between 0.1 and 8", file=sys.stderr)
        return 2
    graph = load_or_explain(args.file)
    if graph is None:
        return 1
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from chainstudio.ui.app import create_application
    from chainstudio.ui.canvas.export import export_canvas

    create_application()
    try:
        path = export_canvas(graph, args.canvas, scale=args.scale, show_layers=not args.no_layers)
    except (OSError, ValueError) as exc:
        print(f"{args.canvas}: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({len(graph.nodes)} steps)")
    return 0
