"""READ (import): the importer's inputs -> their text, their capture time, and how to name them.

Input: a path (`-` for standard input) or the inbox folder. Output: decoded text with the time
it was copied, or the list of inbox files worth importing. Unreadable, oversized, binary and
non-UTF-8 inputs raise an error that names the file.
"""

from __future__ import annotations

import sys
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TextIO

from broadsheet.errors import BroadsheetError, ImportFailure, SourceLocation
from broadsheet.frontmatter import decode_text

STDIN = Path("-")
MAX_INPUT = 5 * 1024 * 1024  # bytes; copied text is a few KiB
TEXT_SUFFIXES = ("", ".txt", ".text", ".md", ".markdown")  # what the inbox imports
_JUNK_SUFFIXES = (".swp", ".swo", ".tmp", ".part", ".crdownload", ".bak", ".orig")


def read_input(
    path: Path, shown: Path, captured: datetime | None, zone: tzinfo, stdin: TextIO | None
) -> tuple[str, datetime]:
    """Return the input's text and when it was copied (given, else the file's time, else now)."""
    if path == STDIN:
        stream = stdin if stdin is not None else sys.stdin
        data = (
            stream.buffer.read(MAX_INPUT + 1)
            if hasattr(stream, "buffer")
            else stream.read(MAX_INPUT + 1).encode("utf-8", "surrogatepass")
        )
        when = captured or datetime.now(zone)
    else:
        try:
            size, mtime = path.stat().st_size, path.stat().st_mtime
            data = path.read_bytes() if size <= MAX_INPUT else b""
        except OSError as exc:
            message = f"cannot read file ({exc.strerror or exc})"
            raise ImportFailure(message, SourceLocation(shown)) from exc
        data = data if size <= MAX_INPUT else bytes(MAX_INPUT + 1)
        when = captured or datetime.fromtimestamp(mtime, zone)
    if len(data) > MAX_INPUT:
        message = f"file is larger than {MAX_INPUT // 1024 // 1024} MiB; is it copied text?"
        raise ImportFailure(message, SourceLocation(shown))
    return decode_text(data, shown), when


def inbox_files(inbox: Path, root: Path) -> tuple[list[Path], list[BroadsheetError]]:
    """List the inbox's text files by name, skipping editor leftovers; warn about other files."""
    if not inbox.is_dir():
        return [], []
    files, warnings = [], []
    for path in sorted(inbox.iterdir()):
        name, suffix = path.name, path.suffix.lower()
        if name.startswith((".", "#", "~")) or name.endswith(("~", "#")) or not path.is_file():
            continue
        if suffix in TEXT_SUFFIXES:
            files.append(path)
        elif suffix not in _JUNK_SUFFIXES:
            message = f"not imported: only {', '.join(TEXT_SUFFIXES[1:])} files are read"
            warnings.append(BroadsheetError(message, SourceLocation(shown_path(path, root))))
    return files, warnings


def shown_path(path: Path, root: Path) -> Path:
    """Return `path` as shown in messages: relative to the project root when inside it."""
    if path == STDIN:
        return Path("<stdin>")
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:
        return path
