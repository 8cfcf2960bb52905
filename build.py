#!/usr/bin/env python3
"""Broadsheet: build the site (`python build.py`), or run `import`, `serve`, `deploy`."""

import sys

from broadsheet.cli import run

if __name__ == "__main__":
    run(sys.argv[1:])
