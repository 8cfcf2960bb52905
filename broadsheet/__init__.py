"""Broadsheet: a static site generator for curated news digests."""

from __future__ import annotations

import functools
import importlib.util
import os

__version__ = "0.1.0"

LIBRARIES = ("markdown_it", "yaml", "jinja2", "markupsafe")  # what makes pages, besides our code


@functools.cache
def generator() -> tuple[object, ...]:
    """Which copy of our code and of each library that shapes the output is in use, found
    without importing any (a build with nothing to do loads none): changing one (an upgrade, a
    `git pull`) changes its files, and so every cache entry, page key and build stamp made with
    the old one, and turns the build daemon's help down (daemon.py)."""
    found: list[object] = [__version__]
    with os.scandir(os.path.dirname(__file__)) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.endswith(".py"):
                info = entry.stat()
                found.append((entry.name, info.st_size, info.st_mtime_ns))
    for name in LIBRARIES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        try:
            info = os.stat(origin) if origin else None
        except OSError:
            info = None
        found.append((name, origin, info.st_size, info.st_mtime_ns) if info else (name, None))
    return tuple(found)
