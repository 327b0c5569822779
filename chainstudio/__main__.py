"""Entry point for ``chainstudio`` and ``python -m chainstudio``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    try:  # Ctrl+C while the libraries load (a second or two) was a KeyboardInterrupt traceback
        from chainstudio.cli.main import main as cli_main

        return cli_main(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:  # a command's own Ctrl+C is handled inside; this is the start-up's
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
