"""WATCH: tell which source files changed, as soon as a save has settled.

Input: the project folder, a folder inside it to leave out (the preview's own) and a stop event.
Output: batches of changed paths (relative, with /), one per burst of saving, and on request an
empty batch once a while has passed after one with no change begun. Files under
content/, templates/ and static/ are reported by the operating system's file notifications
(inotify, FSEvents, ...) through watchfiles, so a save is seen SETTLE after it ends, however
many files the site has; config.yml, and those folders appearing or going away, are polled every
POLL. Where notifications cannot be had (no watchfiles, too many folders for the system's
limit), every file is polled instead, which is slower to notice and costs a scan per poll.
"""

from __future__ import annotations

import logging
import os
import queue
import stat
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from broadsheet.sources import is_junk

log = logging.getLogger(__name__)

TREES = ("content", "templates", "static")  # folders watched with everything under them
WATCHED = (*TREES, "config.yml")  # relative to the project folder
POLL = 0.1  # seconds between two looks at what is polled
STEP = 0.005  # seconds the notifier gathers events before it hands them over
SETTLE = 0.02  # seconds without a notified change before a burst counts as finished
# ... but a burst that starts within QUIET of the last rebuild (a tool writing many files, a
# checkout) waits for QUIET seconds of quiet instead, so it is not rebuilt piece by piece.
QUIET = 0.3  # the same when polling every file: a change shows only at the next scan
MAX_WAIT = 3.0  # seconds after the first change of a burst when we rebuild anyway

Signature = tuple[int, int, int]  # mtime_ns, size, inode: changes on every save, rename included


class SourceWatcher:
    """Batches of changed source files, from notifications where possible."""

    def __init__(self, root: Path, skip: Path | None, stop: threading.Event) -> None:
        self.root = root
        self.skip = skip
        self.stop = stop
        self._events: queue.SimpleQueue[set[str] | None] = queue.SimpleQueue()
        self._notified: tuple[str, ...] | None = None  # the trees notifications cover now
        self._notifier_stop = threading.Event()
        self._polled = self._poll_state()
        self._start_notifier()
        # polling compares each scan with the one before: the first is taken now
        self._snapshot = scan_sources(root, skip) if self._notified is None else {}

    def batches(self, idle: float | None = None) -> Iterator[tuple[str, ...]]:
        """Yield the paths each burst of changes touched, until the stop event is set.

        With `idle`, an empty batch also follows a batch once `idle` seconds after it passed
        with no change begun: the sign that the sources are still as that batch left them.
        """
        snapshot = self._snapshot
        notified = Debouncer(quiet=SETTLE)
        polled = Debouncer(quiet=QUIET)
        last = -QUIET  # when the last batch was handed out
        quiet_after = None  # when an empty batch is due, if one is
        try:
            while not self.stop.is_set():
                if quiet_after is not None and time.monotonic() >= quiet_after:
                    quiet_after = None
                    if not self.stop.is_set():
                        yield ()
                    continue
                if self._notified is not None:
                    debouncer = notified
                    wait = debouncer.remaining(time.monotonic())
                    if wait is None and quiet_after is not None:
                        wait = max(0.0, quiet_after - time.monotonic())
                    events = self._wait_for_events(POLL if wait is None else min(wait, POLL))
                    if events and not debouncer.pending:  # a new burst: how long to wait
                        busy = time.monotonic() - last < QUIET
                        debouncer.quiet = QUIET if busy else SETTLE
                    debouncer.add(events, time.monotonic())
                    debouncer.add(self._poll(), time.monotonic())
                    if self._notified is None:  # it just failed: scan from here on
                        snapshot = scan_sources(self.root, self.skip)
                        yield debouncer.take()
                        quiet_after = None if idle is None else time.monotonic() + idle
                        continue
                else:
                    debouncer = polled
                    self.stop.wait(POLL)
                    current = scan_sources(self.root, self.skip)
                    debouncer.add(changed_paths(snapshot, current), time.monotonic())
                    snapshot = current
                if debouncer.pending:
                    quiet_after = None  # a change began: its batch comes instead
                if debouncer.due(time.monotonic()) and not self.stop.is_set():
                    yield debouncer.take()
                    last = time.monotonic()
                    quiet_after = None if idle is None else last + idle
        finally:
            self._notifier_stop.set()

    def _wait_for_events(self, timeout: float) -> set[str]:
        """Changed paths notified since the last call, waiting up to `timeout` for the first."""
        found: set[str] = set()
        try:
            item = self._events.get(timeout=max(timeout, 0.001))
            while True:
                if item is None:  # the notifier failed: poll everything from now on
                    log.warning("file notifications stopped; watching by polling instead")
                    self._notified = None
                    return set(WATCHED)
                found |= item
                item = self._events.get_nowait()
        except queue.Empty:
            return found

    def _poll(self) -> set[str]:
        """config.yml's changes, and the trees that appeared or went (then watched anew)."""
        state = self._poll_state()
        changed = {name for name in WATCHED if state.get(name) != self._polled.get(name)}
        self._polled = state
        if changed & set(TREES):
            self._notifier_stop.set()
            self._notifier_stop = threading.Event()
            self._start_notifier()
        return changed

    def _poll_state(self) -> dict[str, object]:
        state: dict[str, object] = {name: _folder_identity(self.root / name) for name in TREES}
        try:
            info = (self.root / "config.yml").stat()
            state["config.yml"] = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError:
            state["config.yml"] = None
        return state

    def _start_notifier(self) -> None:
        """Watch the trees that exist in a thread; leave _notified None if it cannot be done."""
        trees = tuple(name for name in TREES if (self.root / name).is_dir())
        try:
            import watchfiles  # noqa: F401  (checked here, used in the thread)
        except ImportError:
            self._notified = None
            return
        self._notified = trees
        if trees:
            ready = threading.Event()
            thread = threading.Thread(
                target=self._notify,
                args=(trees, self._notifier_stop, ready),
                name="preview-notify",
                daemon=True,
            )
            thread.start()
            ready.wait(timeout=5)  # a save from now on is seen: none falls between two watchers

    def _notify(
        self, trees: tuple[str, ...], stop: threading.Event, ready: threading.Event
    ) -> None:
        from watchfiles import watch

        folders = [str(self.root / name) for name in trees]
        try:
            for changes in watch(
                *folders,
                watch_filter=None,
                debounce=int(MAX_WAIT * 1000),
                step=int(STEP * 1000),
                stop_event=stop,
                rust_timeout=int(POLL * 1000),
                yield_on_timeout=True,  # the first yield says the watches are in place
                raise_interrupt=False,
            ):
                ready.set()
                paths = {self._relative(path) for _, path in changes}
                paths.discard(None)
                if paths:
                    self._events.put(paths)  # type: ignore[arg-type]
        except Exception as exc:  # an inotify limit, a folder gone: fall back to polling
            if not stop.is_set():
                log.debug("file notifications failed: %s", exc)
                self._events.put(None)
        finally:
            ready.set()

    def _relative(self, path: str) -> str | None:
        """The project-relative name of a notified path, or None for junk and the skip folder."""
        relative = Path(os.path.relpath(path, self.root))
        if relative.parts[:1] == ("..",) or any(is_junk(part) for part in relative.parts):
            return None
        if self.skip is not None and (self.root / relative).resolve().is_relative_to(self.skip):
            return None
        return relative.as_posix()


class Debouncer:
    """Gather file changes until the sources have been quiet for a moment."""

    def __init__(self, quiet: float = QUIET, max_wait: float = MAX_WAIT) -> None:
        self.quiet = quiet
        self.max_wait = max_wait
        self.pending: set[str] = set()
        self._first = 0.0  # time of the burst's first change
        self._last = 0.0  # time of its latest change

    def add(self, paths: Iterable[str], now: float) -> None:
        """Record changed paths seen at time `now`."""
        paths = set(paths)
        if not paths:
            return
        if not self.pending:
            self._first = now
        self.pending |= paths
        self._last = now

    def due(self, now: float) -> bool:
        """Tell whether the burst is over (or has gone on too long) and a rebuild should run."""
        if not self.pending:
            return False
        return now - self._last >= self.quiet or now - self._first >= self.max_wait

    def remaining(self, now: float) -> float | None:
        """Seconds until the burst is due (0 if it is), or None when nothing is pending."""
        if not self.pending:
            return None
        return max(0.0, min(self._last + self.quiet, self._first + self.max_wait) - now)

    def take(self) -> tuple[str, ...]:
        """Return the gathered paths, sorted, and start a new burst."""
        paths = tuple(sorted(self.pending))
        self.pending = set()
        return paths


def scan_sources(root: Path, skip: Path | None = None) -> dict[str, Signature]:
    """Return each watched file (relative path with /) and its signature; junk left out."""
    found: dict[str, Signature] = {}
    for name in WATCHED:
        top = root / name
        paths = [top] if top.is_file() else _walk(top, skip)
        for path in paths:
            try:
                info = path.stat()
            except OSError:
                continue  # removed while we looked
            found[path.relative_to(root).as_posix()] = (info.st_mtime_ns, info.st_size, info.st_ino)
    return found


def _folder_identity(path: Path) -> tuple[int, int] | None:
    """Which folder is at `path` (one replaced by another is a new one), or None."""
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISDIR(info.st_mode) else None


def _walk(top: Path, skip: Path | None) -> Iterable[Path]:
    for folder, dirs, files in os.walk(top):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not is_junk(d) and not _inside(here / d, skip)]
        yield from (here / f for f in files if not is_junk(f))


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.resolve().is_relative_to(folder)


def changed_paths(before: dict[str, Signature], after: dict[str, Signature]) -> set[str]:
    """Return the paths added, removed or modified between two scans."""
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
