"""Find the source files of one content folder, skipping editor junk and unsafe links.

Input: a folder. Output: the Markdown files to read, sorted, and a warning for each file that
was passed over for a reason the curator should hear about (a link out of content/, a loop).
"""

from __future__ import annotations

import os
from pathlib import Path

from broadsheet.errors import BroadsheetError, ContentError, SourceLocation

# Files editors and operating systems leave behind: never content, never published. (String
# methods, not a regular expression: every build asks this of every input file.)
_JUNK_STARTS = (".", "~$", "#")
_JUNK_ENDS = ("~", ".swp", ".swo", ".swx", ".tmp", ".bak", ".orig")


def is_junk(name: str) -> bool:
    """Tell whether a file name is an editor's or a system's leftover."""
    return name.startswith(_JUNK_STARTS) or name.endswith(_JUNK_ENDS) or name == "4913"


def read_bytes(path: str) -> bytes:
    """A file's bytes, read with the three system calls it takes rather than Python's file
    object (which also asks for its size, whether it is a terminal, and where it is): every
    build reads every changed source this way."""
    handle = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(handle, _CHUNK):
            chunks.append(chunk)
    finally:
        os.close(handle)
    return b"".join(chunks)  # one chunk, nearly always: joined, it is that same object


_CHUNK = 1 << 20  # a source file far larger than any article is read in a few steps


def list_sources(
    folder: Path, root: Path, suffix: str = ".md"
) -> tuple[list[str], list[BroadsheetError]]:
    """Return the `suffix` files directly in `folder`, as names relative to `root`, and warnings
    for the files skipped."""
    if not folder.is_dir():
        return [], []
    prefix = folder.relative_to(root).as_posix()
    content = (root / "content").resolve()
    if folder.is_symlink() and not folder.resolve().is_relative_to(content):
        where = SourceLocation(prefix)
        return [], [ContentError("skipped: symbolic link points outside content/", where)]
    found: list[str] = []
    warnings: list[BroadsheetError] = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if is_junk(entry.name):
            continue
        name = f"{prefix}/{entry.name}"
        if not entry.name.endswith(suffix):
            if entry.is_file():  # a file meant as content, saved under another name: say so
                problem = f"not a {suffix} file; only {suffix} files are read"
                warnings.append(ContentError(f"skipped: {problem}", SourceLocation(name)))
            continue
        if entry.is_symlink():
            problem = _link_problem(Path(entry.path), content)
            if problem:
                warnings.append(ContentError(f"skipped: {problem}", SourceLocation(name)))
                continue
        if entry.is_file():
            found.append(name)
        else:  # a folder or a device named like content: say so rather than drop it
            warnings.append(ContentError("skipped: not a regular file", SourceLocation(name)))
    return found, warnings


def _link_problem(path: Path, content: Path) -> str | None:
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "symbolic link is broken or loops"
    if not target.is_relative_to(content):
        return "symbolic link points outside content/"
    return None
