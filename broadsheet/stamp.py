"""A fingerprint of every input a build reads, so a build with nothing to do stops early.

Input: the BuildContext. Output: a short hash of the settings and of the name, size and
modification time of every file under content/ (but the inbox), templates/ and static/. The
previous build stores its stamp in the output's manifest; when the stamps agree and every file
of the manifest is still in place, there is nothing to parse, render or write.
"""

from __future__ import annotations

import os
from pathlib import Path

from broadsheet import __version__
from broadsheet.deps import digest_of
from broadsheet.model import BuildContext

_SKIPPED = frozenset({"inbox"})  # content/inbox holds raw text, not content


def input_stamp(ctx: BuildContext) -> str:
    """Hash the settings and the size and time of every input file."""
    entries: list[tuple[str, int, int]] = []
    for top in ("content", "templates", "static"):
        _scan(ctx.root / top, top, entries)
    extras = tuple((o.path, digest_of(o.data)) for o in ctx.extra_outputs)
    return digest_of(__version__, repr(ctx.config), ctx.drafts, ctx.strict, extras, tuple(entries))


def _scan(folder: Path, prefix: str, entries: list[tuple[str, int, int]]) -> None:
    try:
        listing = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in listing:
        name = f"{prefix}/{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            if not (prefix == "content" and entry.name in _SKIPPED):
                _scan(Path(entry.path), name, entries)
            continue
        try:
            info = entry.stat()
        except OSError:
            info = entry.stat(follow_symlinks=False)
        entries.append((name, info.st_size, info.st_mtime_ns))
