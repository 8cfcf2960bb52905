"""The last full build's plan, kept in .cache/ so that editing an article needs no full build.

Input: a finished build's Plan, the input files it was planned from (name, size, time) and
where parsing put each article. Output, for the next `python build.py`: that plan, bound to a
fresh Jinja environment, if it was made by this code with these settings for this output
folder; and which input files changed since. incremental.py brings it up to date with edited
articles as serve does in memory. A snapshot missing, corrupt or made otherwise is ignored: the
build runs in full and saves a new one. The snapshot describes inputs, not the output folder:
what is written is decided by comparing each page's key with the folder's manifest.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import logging
import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from broadsheet.cache import (
    CACHE_DIR,
    RACY_NS,
    ContentCache,
    cache_salt,
    collector_off,
    digest_of,
    replace_file,
)
from broadsheet.model import BuildContext, Recipe
from broadsheet.stamp import Inputs, by_name
from broadsheet.write import take_lock

if TYPE_CHECKING:
    from broadsheet.pipeline import Plan

log = logging.getLogger(__name__)

_MAGIC = b"broadsheet-plan-1\n"
_FILE = "plan.pickle"
LOCK_NAME = "plan.lock"  # in CACHE_DIR, held by whoever is writing the plan
_ERROR = "plan.error"  # why the last writer failed
LOCK_WAIT = 10.0  # seconds to wait for a writer still at work; then do without the plan
_MAX_FD = 65536  # closed in the writer: every file but its lock
Placed = tuple[str, bool, bool]  # an article's place in the site (a digest), warned, draft
Places = dict[str, Placed]  # by article file


@dataclass
class Snapshot:
    """What a kept plan was planned from; the plan itself is read only when it is of use."""

    inputs: dict[str, tuple[int, int]]  # input file -> (size, modification time in ns)
    scanned_ns: int  # when the inputs were listed
    whole_site: bool  # the templates read the whole site: no page can be updated alone
    rest: BinaryIO | None  # the file, at the plan (None for a plan held in memory)

    def changed(self, now: Inputs) -> list[str] | None:
        """The input files changed since the snapshot (or changed so close to its making that
        a second change would not show), or None when files were added or removed."""
        current = by_name(now)
        if current.keys() != self.inputs.keys():
            return None
        racy = self.scanned_ns - RACY_NS
        return [n for n, sig in current.items() if sig != self.inputs[n] or sig[1] > racy]

    def plan(self, ctx: BuildContext) -> tuple[Plan, Places] | None:
        """The kept plan, bound to this build's Jinja environment, and where each article file
        sat; None if it cannot be read. Once only: the plan is then this build's."""
        from broadsheet.pipeline import Plan, template_environment
        from broadsheet.render import page_recipe

        try:
            with collector_off(freeze=True):
                state = pickle.load(self.rest)
            env, _store = template_environment(ctx)
            env.globals.update(state["globals"])
            deps = state["deps"]
            deps.env = env
            recipes = [page_recipe(env, *parts) for parts in state["pages"]]
            recipes += [Recipe(path, key, _kept) for path, key in state["others"]]
            plan = Plan(
                state["site"], recipes, len(state["pages"]), deps, env, state["warnings"],
                users=state["users"], globals=state["globals"],
            )  # fmt: skip
            return plan, state["places"]
        except Exception as exc:  # a kept plan is only ever a shortcut
            log.debug("ignoring the kept plan (%s)", exc)
            return None


@dataclass
class Resident(Snapshot):
    """A plan the build daemon holds in memory (daemon.py): a snapshot whose plan is at hand,
    brought forward by every build it serves."""

    kept: Plan
    places: Places
    header: bytes  # what it was made with (see _header)
    output: Path  # the folder it builds

    def plan(self, ctx: BuildContext) -> tuple[Plan, Places] | None:
        return self.kept, self.places

    def advance(self, now: Inputs, scanned_ns: int) -> None:
        """Take `now` as what the plan was made from: its edits are in it."""
        self.inputs = by_name(now)
        self.scanned_ns = scanned_ns


_resident: Resident | None = None  # in the build daemon: the plan it serves builds with


class FullBuildNeeded(Exception):
    """Raised in the build daemon where the build would run in full: the asking command runs
    it instead, in a process of its own."""


def keep_resident(resident: Resident) -> None:
    """Make this process the build daemon for `resident`'s plan."""
    global _resident
    _resident = resident


def in_daemon() -> bool:
    """Whether this process is the build daemon."""
    return _resident is not None


def refuse_full_build() -> None:
    """Raise FullBuildNeeded in the build daemon; elsewhere do nothing."""
    if in_daemon():
        raise FullBuildNeeded


def save_snapshot(
    ctx: BuildContext,
    output: Path,
    plan: Plan,
    inputs: Inputs,
    scanned_ns: int,
    cache: ContentCache,
    save_cache: bool = False,
) -> bool:
    """Keep `plan` (made from `inputs`, parsed into `cache`) for the next build; say whether a
    process was left to do it.

    Pickling it takes about as long as a small build, so a process left in the background
    writes it (saving `cache` first if `save_cache`), then stays as the build daemon if the
    build leaves one (ctx.daemon). Where there can be no such process (see _leave_behind) the
    plan is not kept. Failing to write it only costs the next build time; the writer leaves
    the reason in plan.error for `-v` to show.
    """

    def write(lock: int) -> None:
        from broadsheet.incremental import places, prepare
        from broadsheet.render import page_parts

        folder = ctx.root / CACHE_DIR
        if save_cache:
            cache.save()
        try:
            prepare(plan)
            index = {
                "inputs": by_name(inputs),
                "scanned_ns": scanned_ns,
                "whole_site": plan.deps.whole_site,
            }
            state = {
                "site": plan.site,
                "pages": [page_parts(recipe) for recipe in plan.recipes[: plan.pages]],
                "others": [(recipe.path, recipe.key) for recipe in plan.recipes[plan.pages :]],
                "deps": plan.deps,  # without its environment: see Dependencies.__getstate__
                "users": plan.users,
                "warnings": plan.warnings,
                "globals": plan.globals,
                "places": places(cache),
            }
            header = _header(ctx, output)
            _write(folder, header, index, state)
            (folder / _ERROR).unlink(missing_ok=True)
        except Exception as exc:
            with contextlib.suppress(OSError):
                (folder / _ERROR).write_text(f"{type(exc).__name__}: {exc}\n", encoding="utf-8")
            return
        if ctx.daemon:
            _stay(ctx, output, plan, state["places"], inputs, scanned_ns, lock)

    return _leave_behind(ctx, write)


def leave_daemon(
    ctx: BuildContext, output: Path, plan: Plan, places: Places, inputs: Inputs, scanned_ns: int
) -> None:
    """Leave a build daemon holding `plan`, a kept plan this build brought up to date (the one
    on disk stays as it is: the daemon reads what changed since it from the files)."""
    if ctx.daemon:
        _leave_behind(ctx, lambda lock: _stay(ctx, output, plan, places, inputs, scanned_ns, lock))


def _stay(
    ctx: BuildContext,
    output: Path,
    plan: Plan,
    places: Places,
    inputs: Inputs,
    scanned_ns: int,
    lock: int,
) -> None:
    """Become the build daemon for `plan` (made from `inputs`), letting go of `lock` once it
    listens."""
    from broadsheet.daemon import serve

    resident = Resident(
        by_name(inputs), scanned_ns, plan.deps.whole_site, None,
        kept=plan, places=places, header=_header(ctx, output), output=output,
    )  # fmt: skip
    serve(resident, ctx.root, lock)


def can_leave_behind() -> bool:
    """Whether a process can outlive the build: not without fork, nor from a container's first
    process, whose end takes every other with it."""
    return hasattr(os, "fork") and os.getpid() != 1


def _leave_behind(ctx: BuildContext, work: Callable[[int], None]) -> bool:
    """Run `work` in a process of its own that outlives this one, holding the plan's lock (the
    next build waits for it, at most LOCK_WAIT) until `work` lets go of it or ends; say whether
    it runs. Where no process can outlive the build (can_leave_behind) it does not."""
    if not can_leave_behind():
        return False
    folder = ctx.root / CACHE_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        log.debug("could not keep the build's plan in %s (%s)", folder, exc)
        return False
    try:
        if take_lock(lock, fcntl.LOCK_EX, LOCK_WAIT):  # after a writer busy with an earlier plan
            return _in_background(lambda: work(lock), lock)
    except OSError as exc:  # no locks on this file system, no process to spare
        log.debug("could not keep the build's plan in %s (%s)", folder, exc)
    finally:
        os.close(lock)  # the process left behind holds the lock until it is done
    return False


def _in_background(work: Callable[[], None], lock: int) -> bool:
    """Run `work` in a detached grandchild process that holds `lock` but no other file of this
    process (a caller reading the build's output is not kept waiting), and that nobody needs
    to wait for; say whether it started."""
    child = os.fork()
    if child:
        try:
            _, status = os.waitpid(child, 0)
        except ChildProcessError:  # SIGCHLD ignored: reaped already, its status unknown
            return True
        return os.waitstatus_to_exitcode(status) == 0  # 0 once the grandchild is forked
    code = 1
    try:  # in the child: never return into the build
        os.setsid()  # out of the terminal's process group: an interrupt of the next command
        if os.fork() == 0:  # does not cut the writing short
            gc.disable()  # nothing here makes cycles; a collection would copy every page
            null = os.open(os.devnull, os.O_RDWR)
            for stream in (0, 1, 2):
                os.dup2(null, stream)
            os.closerange(3, lock)
            os.closerange(lock + 1, _MAX_FD)
            work()
        code = 0
    finally:
        os._exit(code)


def _write(folder: Path, header: bytes, index: dict[str, Any], state: dict[str, Any]) -> None:
    """The header, then what the plan was made from, then the plan: two pickles, so that a
    build finds out whether the plan is of use without reading all of it."""
    for leftover in folder.glob(f".{_FILE}-*"):  # of a writer killed on the way
        leftover.unlink()
    parts = (header, pickle.dumps(index, protocol=5), pickle.dumps(state, protocol=5))
    replace_file(folder / _FILE, b"".join(parts))


def may_have_plan(root: Path) -> bool:
    """Whether a plan can have been kept for this project: the build daemon holds one, or a
    full build once left its lock file (load_snapshot says whether one fits)."""
    return _resident is not None or (root / CACHE_DIR / LOCK_NAME).exists()


@contextmanager
def load_snapshot(ctx: BuildContext, output: Path) -> Iterator[Snapshot | None]:
    """The plan the last full build kept for `output` with these settings, or None."""
    if _resident is not None:  # the build daemon's, in memory
        yield _resident if _resident.header == _header(ctx, output) else None
        return
    folder = ctx.root / CACHE_DIR
    try:
        lock = os.open(folder / LOCK_NAME, os.O_RDONLY)
    except OSError:
        yield None  # no plan was ever kept here
        return
    try:  # a writer in the background finishes first
        usable = take_lock(lock, fcntl.LOCK_SH, LOCK_WAIT)
        stream = open(folder / _FILE, "rb") if usable else None  # noqa: SIM115 - closed below
    except OSError:
        stream = None
    finally:
        os.close(lock)
    if stream is None:
        with contextlib.suppress(OSError):
            log.debug("  the last plan was not kept: %s", (folder / _ERROR).read_text().strip())
        yield None
        return
    with stream:
        header = _header(ctx, output)
        try:
            index = pickle.load(stream) if stream.read(len(header)) == header else None
        except Exception as exc:  # a kept plan is only ever a shortcut
            log.debug("ignoring the kept plan (%s)", exc)
            index = None
        if index is None:
            yield None
        else:
            yield Snapshot(index["inputs"], index["scanned_ns"], index["whole_site"], stream)


def wait_for_writer(root: Path) -> None:
    """Wait (at most LOCK_WAIT) for the process a full build left writing its plan, if any."""
    try:
        lock = os.open(root / CACHE_DIR / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return
    try:
        take_lock(lock, fcntl.LOCK_SH, LOCK_WAIT)
    except OSError:
        pass
    finally:
        os.close(lock)


def is_kept(recipe: Recipe) -> bool:
    """Tell whether `recipe` can only keep the file a previous build wrote: a static file of a
    kept plan, whose bytes are not kept (its feeds are made again from the site)."""
    return recipe.make is _kept


def _kept() -> bytes:
    raise RuntimeError("a file of a kept plan cannot be made again")


def _header(ctx: BuildContext, output: Path) -> bytes:
    """What a snapshot must have been made with: this code, Python, libraries, settings and
    output folder."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")  # dates the feeds when set (pipeline)
    made_with = digest_of(cache_salt(ctx.config), ctx.drafts, ctx.strict, str(output), epoch)
    return _MAGIC + made_with.encode("ascii") + b"\n"
