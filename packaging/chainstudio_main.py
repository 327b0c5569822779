"""PyInstaller entry point: the same as ``python -m chainstudio``."""

import sys

from chainstudio.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
