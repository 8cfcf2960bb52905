#!/usr/bin/env python3
"""Broadsheet: build the site (`python build.py`), or run `import`, `serve`, `deploy`, `daemon`."""

import sys

from broadsheet.daemon import ask

if __name__ == "__main__":
    code = ask(sys.argv[1:])  # the build daemon, when one holds this site (broadsheet/daemon.py)
    if code is not None:
        sys.exit(code)
    from broadsheet.cli import run

    run(sys.argv[1:])
