"""A fingerprint of every input a build reads, so a build with nothing to do stops early.

Input: the BuildContext. Output: a short hash of the settings and of the name, size and
modification time of every file under content/ (but the inbox and editor leftovers), templates/
and static/. A build saves its stamp in .cache/ together with a hash of the manifest it wrote
(the stamp holds file times, so it stays out of the site, which must repeat byte for byte); when
both agree next time and every file of the manifest is in place, there is nothing to do.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from broadsheet.cache import RACY_NS, digest_of, generator, replace_file
from broadsheet.model import BuildContext
from broadsheet.sources import is_junk

_SKIPPED = frozenset({"inbox"})  # content/inbox holds raw text, not content
STAMPS = Path(".cache") / "broadsheet" / "stamps.json"


Inputs = list[tuple[str, int, int]]  # (name relative to the project, size, time in ns)


def by_name(inputs: Inputs) -> dict[str, tuple[int, int]]:
    """Each input's (size, time in ns), by its name."""
    return {name: (size, mtime) for name, size, mtime in inputs}


def scan_inputs(root: Path) -> Inputs:
    """The name, size and modification time of every input file, sorted by name."""
    entries: Inputs = []
    for top in ("content", "templates", "static"):
        _scan(root / top, top, entries, set())
    return entries


def input_stamp(ctx: BuildContext, entries: Inputs) -> str | None:
    """Hash the settings and the scanned input files; None when a file changed so recently
    that another change in the same clock tick would not show (no early stop)."""
    if entries and max(e[2] for e in entries) > time.time_ns() - RACY_NS:
        return None
    epoch = os.environ.get("SOURCE_DATE_EPOCH")  # dates the feeds when set (pipeline)
    return digest_of(generator(), repr(ctx.config), ctx.drafts, ctx.strict, epoch, tuple(entries))


def _scan(folder: Path, prefix: str, entries: Inputs, seen: set[str]) -> None:
    """Add every file below `folder`, following linked folders once (a loop is cut)."""
    real = os.path.realpath(folder)
    if real in seen:
        return
    seen.add(real)
    try:
        listing = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in listing:
        if is_junk(entry.name):
            continue  # editor leftovers are never read, so they change nothing
        name = f"{prefix}/{entry.name}"
        try:
            is_folder = entry.is_dir()  # a linked folder's files are inputs too
            info = entry.stat()
        except OSError:  # a broken or looping link: its own size and time stand for it
            is_folder, info = False, entry.stat(follow_symlinks=False)
        if is_folder:
            if not (prefix == "content" and entry.name in _SKIPPED):
                _scan(Path(entry.path), name, entries, seen)
            continue
        entries.append((name, info.st_size, info.st_mtime_ns))


def read_stamp(root: Path, output: Path) -> str | None:
    """Return the stamp saved by the last build into `output`, or None."""
    try:
        stamps = json.loads((root / STAMPS).read_text(encoding="utf-8"))
        return str(stamps[str(output)])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_stamp(root: Path, output: Path, stamp: str) -> None:
    """Remember the stamp of a finished build; failing to only costs the next build time."""
    path = root / STAMPS
    try:
        stamps = json.loads(path.read_text(encoding="utf-8"))
        stamps = stamps if isinstance(stamps, dict) else {}
    except (OSError, ValueError):
        stamps = {}
    stamps[str(output)] = stamp
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, json.dumps(stamps, sort_keys=True).encode("utf-8"))
    except OSError:
        pass  # read-only project: every build is a full check, nothing worse
