"""Entry point for ``python -m model_tools``."""

from __future__ import annotations

import sys

from model_tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
