"""The output folder's marker file: the manifest of what a build wrote there, and the checks
that decide whether a folder is ours to write.

Every folder Broadsheet builds carries `.broadsheet-site`, a JSON document with the dependency
key, hash and size of every file it wrote (no times, so the same content gives the same bytes)
and what the build reported (counts, warnings). A folder without it is never emptied.
"""

from __future__ import annotations

import json
import os
import stat as stat_module
from collections.abc import Iterable, Iterator
from pathlib import Path

from broadsheet.cache import file_digest
from broadsheet.errors import OutputError

MARKER = ".broadsheet-site"  # in every folder we built: the manifest of the files we wrote
KEPT = ("CNAME",)  # plain files at the top of the output we leave alone unless we made them
Manifest = dict[str, list]  # output path -> [key, sha256, size]; no times, so builds repeat


def check_output_dir(output: Path | str, root: Path) -> Path:
    """Return the absolute output folder, or refuse one that could destroy the project."""
    text = str(output)
    if not text.strip():
        raise OutputError("output folder is empty; name a folder such as 'site'")
    if "$" in text or text.startswith("~"):
        raise OutputError(f"output folder {text!r} contains an unexpanded variable or '~'")
    path = Path(os.path.abspath(root / output))
    root = Path(os.path.abspath(root))
    home = Path(os.path.expanduser("~"))
    reasons = [
        (path == Path(path.anchor), "it is the file system root"),
        (path == home, "it is your home folder"),
        (root.is_relative_to(path), "it is the project folder or one of its parents"),
        (path.is_relative_to(root / "content"), "it is inside content/"),
        (path.is_relative_to(root / "templates"), "it is inside templates/"),
        (path.is_relative_to(root / "static"), "it is inside static/"),
    ]
    for refused, why in reasons:
        if refused:
            raise OutputError(f"refusing output folder {text!r}: {why}")
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise OutputError(f"refusing output folder {text!r}: it is not a plain folder")
    if path.is_dir() and any(path.iterdir()) and not (path / MARKER).is_file():
        raise OutputError(
            f"refusing to replace {text!r}: it is not empty and was not made by Broadsheet"
            f" (no {MARKER} file); move it away or choose another output folder"
        )
    return path


def read_manifest(output: Path) -> Manifest:
    """Return what the previous build wrote into `output`, or {} if unknown."""
    return read_marker(output)[0]


def read_marker(output: Path) -> tuple[Manifest, dict[str, object]]:
    """Return the manifest and the build record of `output`; empty ones if unknown."""
    try:
        data = json.loads((output / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, {}
    if not isinstance(data, dict):
        return {}, {}
    files, record = data.get("files"), data.get("build")
    return (
        files if isinstance(files, dict) else {},
        record if isinstance(record, dict) else {},
    )


def is_current(output: Path, path: str, key: str, manifest: Manifest) -> bool:
    """Tell whether the file at `path` is still the one a build with this key wrote."""
    return next(are_current(output, [(path, key)], manifest))


def are_current(
    output: Path, wanted: Iterable[tuple[str, str]], manifest: Manifest
) -> Iterator[bool]:
    """For each (path, key) of `wanted`, tell whether the file there is still the one a build
    with this key wrote. (Every build asks this of every output file: paths are looked up
    from the open folder, not joined to it.)"""
    try:
        folder = os.open(output, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield from (False for _ in wanted)
        return
    try:
        for path, key in wanted:
            entry = manifest.get(path)
            if not entry or entry[0] != key:
                yield False
                continue
            try:
                info = os.lstat(path, dir_fd=folder)
            except OSError:
                yield False
                continue
            yield stat_module.S_ISREG(info.st_mode) and info.st_size == entry[2]
    finally:
        os.close(folder)


def read_record(output: Path) -> dict[str, object]:
    """Return what the previous build noted about itself in the manifest (its stamp, counts)."""
    return read_marker(output)[1]


def marker_digest(output: Path) -> str:
    """A hash of the manifest as it is on disk now, or "" when there is none."""
    try:
        return file_digest((output / MARKER).read_bytes())
    except OSError:
        return ""


def is_intact(output: Path, manifest: Manifest) -> bool:
    """Tell whether every file the previous build wrote is still there as it was written."""
    return bool(manifest) and all(
        are_current(output, ((p, e[0]) for p, e in manifest.items()), manifest)
    )


def manifest_document(manifest: Manifest, record: dict[str, object]) -> dict[str, object]:
    note = "Made by Broadsheet: this folder is rebuilt by `python build.py`; do not edit it."
    return {"about": note, "build": record, "files": manifest}


def encode(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


def is_entry_intact(output: Path, relative: str, entry: list) -> bool:
    return is_current(output, relative, entry[0], {relative: entry})


def scan_output(output: Path) -> Manifest:
    """List the files of an output folder without a manifest: everything but dot-entries."""
    found: Manifest = {}
    for folder, dirs, files in os.walk(output):
        relative = Path(folder).relative_to(output)
        if relative == Path("."):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files = [f for f in files if not f.startswith(".") and f not in KEPT]
        for name in files:
            found[(relative / name).as_posix()] = ["", "", -1]
    return found
