"""WRITE: put the rendered Outputs on disk as the new site/, never leaving a half-written site.

Input: Outputs (data None means "the file from the previous build is still right") and the
output folder. A first build goes into a staging folder beside the output and is renamed into
place in one step. Later builds touch only what changed: new bytes are staged first, then a
journal is written and the files are renamed into place; a build killed during that short
commit is finished from the journal by the next one. The marker file `.broadsheet-site` holds
the manifest of every file we wrote; we never delete a folder without it, and files we did not
write (dot-entries such as .git, a CNAME) are left alone.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import stat as stat_module
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from broadsheet.cache import file_digest
from broadsheet.errors import OutputError
from broadsheet.model import Output
from broadsheet.urls import safe_output_path

log = logging.getLogger(__name__)

MARKER = ".broadsheet-site"  # in every folder we built: the manifest of the files we wrote
LOCK_WAIT = 60.0  # seconds a build waits for another build of the same folder to finish
_KEPT = ("CNAME",)  # plain files at the top of the output we leave alone unless we made them
Manifest = dict[str, list]  # output path -> [key, sha256, size]; no times, so builds repeat


@dataclass(frozen=True)
class WriteStats:
    """What writing the site changed on disk."""

    written: int  # files with new bytes
    unchanged: int  # files left as they were
    removed: int  # files of the previous build that are gone


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
    try:
        data = json.loads((output / MARKER).read_text(encoding="utf-8"))
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return files if isinstance(files, dict) else {}


def is_current(output: Path, path: str, key: str, manifest: Manifest) -> bool:
    """Tell whether the file at `path` is still the one a build with this key wrote."""
    entry = manifest.get(path)
    if not entry or entry[0] != key:
        return False
    try:
        info = os.lstat(os.path.join(output, path))
    except OSError:
        return False
    return stat_module.S_ISREG(info.st_mode) and info.st_size == entry[2]


def read_record(output: Path) -> dict[str, object]:
    """Return what the previous build noted about itself in the manifest (its stamp, counts)."""
    try:
        record = json.loads((output / MARKER).read_text(encoding="utf-8")).get("build", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return record if isinstance(record, dict) else {}


def marker_digest(output: Path) -> str:
    """A hash of the manifest as it is on disk now, or "" when there is none."""
    try:
        return file_digest((output / MARKER).read_bytes())
    except OSError:
        return ""


def is_intact(output: Path, manifest: Manifest) -> bool:
    """Tell whether every file the previous build wrote is still there as it was written."""
    return bool(manifest) and all(
        is_current(output, p, e[0], manifest) for p, e in manifest.items()
    )


def write_site(
    outputs: Iterable[Output], output: Path, record: dict[str, object] | None = None
) -> WriteStats:
    """Write `outputs` as the new content of `output` (already checked); keep `record` (the
    build's stamp and counts) in the manifest."""
    try:
        return _write_site(outputs, output, record or {})
    except OSError as exc:  # a full disk, a permission, a read-only file system
        where = f" ({exc.filename})" if exc.filename else ""
        raise OutputError(
            f"cannot write the site to {output.name}/: {exc.strerror}{where}"
        ) from exc


def _write_site(outputs: Iterable[Output], output: Path, record: dict[str, object]) -> WriteStats:
    output.parent.mkdir(parents=True, exist_ok=True)
    with build_lock(output):
        _recover(output)
        previous = read_manifest(output) if (output / MARKER).is_file() else None
        if previous is None and (not output.exists() or not any(output.iterdir())):
            return _write_fresh(outputs, output, record)
        return _write_changes(outputs, output, previous or _scan(output), record)


@contextmanager
def build_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive lock for `output`; a second build waits, then fails clearly."""
    lock_path = output.parent / f".{output.name}.lock"
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OutputError(
                        f"another build is still writing {output.name}/; try again when it ends"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_fresh(outputs: Iterable[Output], output: Path, record: dict[str, object]) -> WriteStats:
    """Build the whole site in a staging folder and rename it into place."""
    staging = _staging(output)
    manifest: Manifest = {}
    try:
        for item in outputs:
            if item.data is None:
                raise OutputError(f"{item.path} was to be kept from a previous build that is gone")
            relative = item.path  # proven safe when planned (urls.safe_output_path)
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            manifest[relative] = _write_file(target, item)
        _write_manifest(staging / MARKER, _manifest_document(manifest, record))
        if output.exists():
            output.rmdir()  # empty, checked by the caller
        os.rename(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return WriteStats(len(manifest), 0, 0)


def _write_changes(
    outputs: Iterable[Output], output: Path, previous: Manifest, record: dict[str, object]
) -> WriteStats:
    """Stage the changed files, then commit them through a journal."""
    staging = _staging(output)
    manifest: Manifest = {}
    renames: list[tuple[str, str]] = []
    try:
        for item in outputs:
            relative = item.path  # proven safe when planned (urls.safe_output_path)
            old = previous.get(relative)
            if item.data is None or (
                old and old[1] == file_digest(item.data) and _intact(output, relative, old)
            ):
                if old is None:
                    raise OutputError(
                        f"{relative} was to be kept from a previous build that is gone"
                    )
                manifest[relative] = [item.key, *old[1:]]
                continue
            staged = staging / str(len(renames))
            manifest[relative] = _write_file(staged, item)
            renames.append((staged.name, relative))
        removals = sorted(set(previous) - set(manifest))
        if not renames and not removals and manifest == previous and record == read_record(output):
            shutil.rmtree(staging)
            os.utime(output / MARKER)  # its time says when the site was last built (deploy)
            return WriteStats(0, len(manifest), 0)
        _write_manifest(staging / "manifest", _manifest_document(manifest, record))
        renames.append(("manifest", MARKER))
        journal = {"staging": staging.name, "renames": renames, "removals": removals}
        _write_manifest(_journal_path(output), journal)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _recover(output)
    return WriteStats(len(renames) - 1, len(manifest) - len(renames) + 1, len(removals))


def _recover(output: Path) -> None:
    """Finish a journalled commit (a build killed while committing), then clear leftovers."""
    journal_path = _journal_path(output)
    try:
        journal = json.loads(journal_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        journal = None
    if journal is not None:
        staging = output.parent / journal["staging"]
        for name, relative in journal["renames"]:
            if (staging / name).exists():
                target = output / safe_output_path(relative)
                _make_parents(target, output)
                os.replace(staging / name, target)
        for relative in journal["removals"]:
            _remove(output / safe_output_path(relative), output)
        journal_path.unlink()
    for leftover in output.parent.glob(f".{output.name}.tmp-*"):
        if leftover.is_dir() and not leftover.is_symlink() and (leftover / MARKER).is_file():
            shutil.rmtree(leftover)


def _journal_path(output: Path) -> Path:
    return output.parent / f".{output.name}.journal"


def _staging(output: Path) -> Path:
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-", dir=output.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the site must be readable by a web server
    (staging / MARKER).write_text("Staging folder of a Broadsheet build; safe to delete.\n")
    return staging


def _manifest_document(manifest: Manifest, record: dict[str, object]) -> dict[str, object]:
    note = "Made by Broadsheet: this folder is rebuilt by `python build.py`; do not edit it."
    return {"about": note, "build": record, "files": manifest}


def _write_file(target: Path, item: Output) -> list:
    data = item.data or b""
    with open(target, "xb") as handle:
        handle.write(data)
    return [item.key, file_digest(data), len(data)]


def _write_manifest(path: Path, data: object) -> None:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    temp = path.with_name(path.name + ".part")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def _intact(output: Path, relative: str, entry: list) -> bool:
    return is_current(output, relative, entry[0], {relative: entry})


def _make_parents(target: Path, output: Path) -> None:
    """Create the folders above `target`, replacing any symbolic link on the way (never followed)."""
    folder = output
    for part in target.relative_to(output).parts[:-1]:
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            folder.unlink()
        if not folder.exists():
            folder.mkdir()


def _remove(path: Path, output: Path) -> None:
    """Delete a file we wrote before and the folders it leaves empty."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    folder = path.parent
    while (
        folder != output
        and folder.is_dir()
        and not folder.is_symlink()
        and not any(folder.iterdir())
    ):
        folder.rmdir()
        folder = folder.parent


def _scan(output: Path) -> Manifest:
    """List the files of an output folder without a manifest: everything but dot-entries."""
    found: Manifest = {}
    for folder, dirs, files in os.walk(output):
        relative = Path(folder).relative_to(output)
        if relative == Path("."):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files = [f for f in files if not f.startswith(".") and f not in _KEPT]
        for name in files:
            found[(relative / name).as_posix()] = ["", "", -1]
    return found
