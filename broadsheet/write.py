"""WRITE: put the rendered Outputs on disk as the new site/, atomically.

Input: Outputs and the output folder. The build goes into a temporary folder beside the output
and is swapped in with one atomic exchange only when every file is written, so site/ is always
wholly the old build or wholly the new one. Files whose bytes did not change are hard-linked
from the previous build, keeping their modification times. Folders without our marker file are
never deleted, and dot-entries (.git, .gitignore) and CNAME of the old site are carried over.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from broadsheet.errors import OutputError
from broadsheet.model import Output
from broadsheet.urls import safe_output_path

log = logging.getLogger(__name__)

MARKER = ".broadsheet-site"  # present in every folder we built; we delete nothing without it
LOCK_WAIT = 60.0  # seconds a build waits for another build to finish
_KEPT = ("CNAME",)  # plain files of the old site that survive a rebuild


@dataclass(frozen=True)
class WriteStats:
    """What writing the site changed on disk."""

    written: int  # files with new bytes
    unchanged: int  # files identical to the previous build (linked, not rewritten)
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
    content = root / "content"
    home = Path(os.path.expanduser("~"))
    reasons = [
        (path == Path(path.anchor), "it is the file system root"),
        (path == home, "it is your home folder"),
        (root.is_relative_to(path), "it is the project folder or one of its parents"),
        (path.is_relative_to(content), "it is inside content/"),
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


def write_site(outputs: Sequence[Output], output: Path) -> WriteStats:
    """Write `outputs` as the new content of `output` (already checked), atomically."""
    try:
        return _write_site(outputs, output)
    except OSError as exc:  # a full disk, a permission, a read-only file system
        where = f" ({exc.filename})" if exc.filename else ""
        raise OutputError(
            f"cannot write the site to {output.name}/: {exc.strerror}{where}"
        ) from exc


def _write_site(outputs: Sequence[Output], output: Path) -> WriteStats:
    output.parent.mkdir(parents=True, exist_ok=True)
    with build_lock(output):
        _remove_leftovers(output)
        if _same_as_before(outputs, output):
            return WriteStats(0, len(outputs), 0)
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-", dir=output.parent))
        try:
            (staging / MARKER).write_text(
                "Built by Broadsheet. This folder is replaced on every build.\n"
            )
            written = sum(_place(item, staging, output) for item in outputs)
            removed = _count_removed(outputs, output)
            _swap(staging, output)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _carry_over(staging, output)
        shutil.rmtree(staging, ignore_errors=True)
    return WriteStats(written, len(outputs) - written, removed)


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


def _remove_leftovers(output: Path) -> None:
    """Delete staging folders of builds that were interrupted, rescuing kept entries."""
    for prefix in (f".{output.name}.tmp-", f".{output.name}.old-"):
        for leftover in output.parent.glob(f"{prefix}*"):
            if leftover.is_dir() and not leftover.is_symlink() and (leftover / MARKER).is_file():
                if output.is_dir():
                    _carry_over(leftover, output)
                shutil.rmtree(leftover)


def _same_as_before(outputs: Sequence[Output], output: Path) -> bool:
    if not (output / MARKER).is_file():
        return False
    expected = {item.path.as_posix() for item in outputs}
    existing = {p for p in _site_files(output)}
    return existing == expected and all(_unchanged(item, output) for item in outputs)


def _site_files(output: Path) -> Iterator[str]:
    for folder, dirs, files in os.walk(output):
        relative = Path(folder).relative_to(output)
        if relative == Path("."):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files = [f for f in files if not f.startswith(".") and f not in _KEPT]
        for name in files:
            yield (relative / name).as_posix()


def _unchanged(item: Output, output: Path) -> bool:
    old = output / item.path
    try:
        if not old.is_file() or old.is_symlink() or old.stat().st_size != len(item.data):
            return False
        return old.read_bytes() == item.data
    except OSError:
        return False


def _place(item: Output, staging: Path, output: Path) -> bool:
    """Put one file into the staging folder; return True when its bytes are new."""
    relative = safe_output_path(item.path.as_posix())
    target = staging / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if _unchanged(item, output):
        try:
            os.link(output / relative, target, follow_symlinks=False)
            return False
        except OSError:
            pass  # another file system or no hard links: write the bytes instead
    with open(target, "xb") as handle:
        handle.write(item.data)
    return True


def _count_removed(outputs: Sequence[Output], output: Path) -> int:
    if not output.is_dir():
        return 0
    expected = {item.path.as_posix() for item in outputs}
    return sum(1 for name in _site_files(output) if name not in expected)


def _swap(staging: Path, output: Path) -> None:
    """Make `staging` the output folder; afterwards `staging` holds the old build."""
    if not output.exists():
        os.rename(staging, output)
        staging.mkdir()
        (staging / MARKER).touch()
        return
    if not _exchange(staging, output):
        old = output.parent / f".{output.name}.old-{os.getpid()}"
        os.rename(output, old)
        os.rename(staging, output)
        os.rename(old, staging)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step with renameat2(RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _carry_over(old: Path, output: Path) -> None:
    """Move the old site's dot-entries and kept files into the new one."""
    for entry in old.iterdir():
        keep = (entry.name.startswith(".") and entry.name != MARKER) or entry.name in _KEPT
        target = output / entry.name
        if keep and not target.exists() and not target.is_symlink():
            os.rename(entry, target)
