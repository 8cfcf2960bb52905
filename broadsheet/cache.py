"""A persistent cache of parsed content files, so unchanged files are not parsed again.

Input: the project folder and a salt naming everything parsing depends on besides the file (the
generator's version, the config). Each entry is keyed by the file's content hash; the file's size
and modification time are a fast path that skips even reading it. A cache that is missing,
corrupt, from another version or made with another config is ignored and rewritten: deleting
`.cache/` only costs time.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broadsheet import __version__, generator
from broadsheet.config import Config

log = logging.getLogger(__name__)

CACHE_DIR = Path(".cache") / "broadsheet"
_MAGIC = b"broadsheet-content-cache-2\n"
# A file modified this close (ns) to when it was read may have changed again within the same
# clock tick (coarse file systems tick every 2 s): its size and time are not trusted then.
RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class Entry:
    """One parsed source file as it was when it was parsed."""

    size: int
    mtime_ns: int
    digest: str  # sha256 of the file's bytes
    value: Any  # what the parse_* function returned, with its warnings
    checked_ns: int  # when the file was last read; a time this close to it proves nothing


class ContentCache:
    """Parsed files by project-relative name; `save` writes back what changed.

    On disk: a base file with every entry, and a small delta file with the entries changed since
    the base was written, so saving after editing one article writes one entry, not thousands.
    The delta names its base by a token; a delta of another base is ignored.
    """

    def __init__(
        self, path: Path | None, salt: str, entries: dict[str, Entry] | None = None, token: str = ""
    ) -> None:
        self.path = path  # None: a cache that lives only in memory (serve keeps one)
        self.salt = salt
        self.entries = entries or {}
        self.hits = 0
        self.misses = 0
        self._token = token  # names the base file these entries came from; "" for none
        self._delta: dict[str, Entry | None] = {}  # changed (or, as None, removed) since base
        self._dirty = False

    @classmethod
    def load(cls, root: Path, config: Config) -> ContentCache:
        """Read the project's cache, or start an empty one if it is unusable."""
        path = root / CACHE_DIR / "content.pickle"
        salt = cache_salt(config)
        base = _read(path, salt)
        if base is None:
            log.debug("content cache %s is missing, stale or corrupt; rebuilding it", path)
            return cls(path, salt)
        token, entries = base
        cache = cls(path, salt, entries, token)
        delta = _read(_delta_path(path), salt)
        if delta is not None and delta[0] == token:
            cache._delta = delta[1]
            for name, entry in cache._delta.items():
                if entry is None:
                    entries.pop(name, None)
                else:
                    entries[name] = entry
        return cache

    def lookup(self, name: str, stat: os.stat_result) -> Entry | None:
        """Return the entry for an unchanged file, judged by size and modification time."""
        entry = self.entries.get(name)
        if (
            entry
            and entry.size == stat.st_size
            and entry.mtime_ns == stat.st_mtime_ns
            and entry.mtime_ns < entry.checked_ns - RACY_NS  # else an edit in the same tick hides
        ):
            self.hits += 1
            return entry
        return None

    def lookup_digest(self, name: str, digest: str, stat: os.stat_result) -> Entry | None:
        """Return the entry for a file whose bytes are unchanged though its time is not."""
        entry = self.entries.get(name)
        if entry and entry.digest == digest:
            self.hits += 1
            self.store(name, stat, digest, entry.value)
            return entry
        return None

    def store(self, name: str, stat: os.stat_result, digest: str, value: Any) -> None:
        """Remember what parsing a file gave."""
        entry = Entry(stat.st_size, stat.st_mtime_ns, digest, value, time.time_ns())
        self.entries[name] = self._delta[name] = entry
        self._dirty = True

    def forget_except(self, names: set[str]) -> None:
        """Drop the entries of files that no longer exist."""
        for name in set(self.entries) - names:
            del self.entries[name]
            self._delta[name] = None
            self._dirty = True

    def save(self) -> None:
        """Write what changed, atomically; a failure only costs the next build time."""
        if self.path is None or not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self._token and len(self._delta) <= max(64, len(self.entries) // 20):
                _write(_delta_path(self.path), self.salt, self._token, self._delta)
            else:
                self._token = secrets.token_hex(8)
                _write(self.path, self.salt, self._token, self.entries)
                _delta_path(self.path).unlink(missing_ok=True)
                self._delta = {}
            self._dirty = False
        except OSError as exc:
            log.warning(
                "could not write the cache %s (%s); the next build will be slower", self.path, exc
            )


@contextmanager
def collector_off(freeze: bool = False) -> Iterator[None]:
    """Keep the cycle collector off meanwhile: the thousands of objects unpickling makes, or
    the few an update makes beside a large model, would set off full collections that walk all
    of them, again and again. With `freeze`, what was made is then left out of collections."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


def _delta_path(path: Path) -> Path:
    return path.with_suffix(".delta")


def _write(path: Path, salt: str, token: str, data: object) -> None:
    payload = _MAGIC + f"{salt}\n{token}\n".encode() + pickle.dumps(data, protocol=5)
    replace_file(path, payload)


def replace_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file beside it, so it changes in one step."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _read(path: Path, salt: str) -> tuple[str, dict[str, Any]] | None:
    """Return (token, entries) of a cache file made with this salt, or None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header = _MAGIC + salt.encode() + b"\n"
    if not data.startswith(header):
        return None
    end = data.find(b"\n", len(header))
    if end < 0:
        return None
    token = data[len(header) : end]
    try:
        with collector_off(freeze=True):
            entries = pickle.loads(memoryview(data)[end + 1 :])  # no copy of a large file
    except Exception:
        return None
    if not isinstance(entries, dict) or not all(
        e is None or isinstance(e, Entry) for e in entries.values()
    ):
        return None
    return token.decode("ascii", "replace"), entries


def cache_salt(config: Config) -> str:
    """Everything besides a file's bytes that parsing it depends on."""
    text = f"{__version__}|{sys.version_info[:2]}|{generator()!r}|{config!r}"
    return hashlib.sha256(text.encode()).hexdigest()


def digest_of(*parts: Any) -> str:
    """Hash any nesting of tuples, strings and numbers into a short key."""
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def file_digest(data: bytes) -> str:
    """The content hash used for cache entries and change tracking."""
    return hashlib.sha256(data).hexdigest()
