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

import fcntl
import gc
import logging
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from broadsheet import __version__
from broadsheet.cache import (
    CACHE_DIR,
    RACY_NS,
    collector_paused,
    digest_of,
    generator,
    replace_file,
)
from broadsheet.model import BuildContext, Recipe
from broadsheet.stamp import Inputs

if TYPE_CHECKING:
    from broadsheet.pipeline import Plan

log = logging.getLogger(__name__)

_MAGIC = b"broadsheet-plan-1\n"
_FILE = "plan.pickle"
_LOCK = "plan.lock"  # held by whoever is writing the file
Placed = tuple[str, bool, bool]  # an article's place in the site (a digest), warned, draft
Places = dict[str, Placed]  # by article file


@dataclass
class Snapshot:
    """A build's plan, as it was kept, and what it was planned from."""

    state: dict[str, Any]  # as save_snapshot put it
    inputs: dict[str, tuple[int, int]]  # input file -> (size, modification time in ns)
    scanned_ns: int  # when the inputs were listed
    places: Places  # where each article file's front matter put it, drafts left out included

    def changed(self, now: Inputs) -> list[str] | None:
        """The input files changed since the snapshot (or changed so close to its making that
        a second change would not show), or None when files were added or removed."""
        current = {name: (size, mtime) for name, size, mtime in now}
        if current.keys() != self.inputs.keys():
            return None
        racy = self.scanned_ns - RACY_NS
        return [n for n, sig in current.items() if sig != self.inputs[n] or sig[1] > racy]

    @property
    def whole_site(self) -> bool:
        """Whether the templates read the whole site (then no page can be updated alone)."""
        return bool(self.state["deps"].whole_site)

    def plan(self, ctx: BuildContext) -> Plan:
        """The kept plan, bound to this build's Jinja environment (once: it is then used up)."""
        from broadsheet.pipeline import Plan
        from broadsheet.render import make_environment, page_recipe

        state = self.state
        env = make_environment(ctx.root / "templates", ctx.root / CACHE_DIR / "templates")
        env.globals.update(state["globals"])
        deps = state["deps"]
        deps.env = env
        recipes = [page_recipe(env, *parts) for parts in state["pages"]]
        recipes += [Recipe(path, key, _kept) for path, key in state["others"]]
        return Plan(
            state["site"], recipes, len(state["pages"]), deps, env, state["warnings"],
            users=state["users"], globals=state["globals"],
        )  # fmt: skip


def save_snapshot(
    ctx: BuildContext, output: Path, plan: Plan, inputs: Inputs, scanned_ns: int, places: Places
) -> None:
    """Keep `plan` for the next build, writing it in the background where the system can fork
    (it takes about as long as a small build); failing to only costs the next build time."""
    pages = [_page_parts(recipe) for recipe in plan.recipes[: plan.pages]]
    others = [(recipe.path, recipe.key) for recipe in plan.recipes[plan.pages :]]
    state = {
        "site": plan.site,
        "pages": pages,
        "others": others,
        "deps": plan.deps,  # its environment is left out: see Dependencies.__getstate__
        "users": plan.users,
        "warnings": plan.warnings,
        "globals": plan.globals,
        "inputs": {name: (size, mtime) for name, size, mtime in inputs},
        "scanned_ns": scanned_ns,
        "places": places,
    }
    folder = ctx.root / CACHE_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = os.open(folder / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        log.debug("could not keep the build's plan in %s (%s)", folder, exc)
        return
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # after a writer still busy with an earlier plan
        if hasattr(os, "fork"):
            _in_background(lambda: _write(folder, _header(ctx, output), state))
        else:
            _write(folder, _header(ctx, output), state)
    finally:
        os.close(lock)  # a writer in the background holds the lock until it is done


def _in_background(work: Callable[[], None]) -> None:
    """Run `work` in a detached grandchild process that holds this process's open files (the
    lock among them) but not its output streams, and that nobody needs to wait for."""
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    code = 1
    try:  # in the child: never return into the build
        os.setsid()  # out of the terminal's process group: an interrupt of the next command
        if os.fork() == 0:  # does not cut the writing short
            gc.disable()  # nothing here makes cycles; a collection would copy every page
            null = os.open(os.devnull, os.O_RDWR)
            for stream in (0, 1, 2):  # a caller reading the build's output is not kept waiting
                os.dup2(null, stream)
            work()
        code = 0
    finally:
        os._exit(code)


def _write(folder: Path, header: bytes, state: dict[str, Any]) -> None:
    try:
        replace_file(folder / _FILE, header + pickle.dumps(state, protocol=5))
    except OSError as exc:
        log.debug("could not keep the build's plan in %s (%s)", folder, exc)


def load_snapshot(ctx: BuildContext, output: Path) -> Snapshot | None:
    """The plan the last full build kept for `output` with these settings, or None."""
    folder = ctx.root / CACHE_DIR
    try:
        lock = os.open(folder / _LOCK, os.O_RDONLY)
    except OSError:
        return None  # no plan was ever kept here
    try:
        fcntl.flock(lock, fcntl.LOCK_SH)  # a writer in the background finishes first
        data = (folder / _FILE).read_bytes()
    except OSError:
        return None
    finally:
        os.close(lock)
    header = _header(ctx, output)
    if not data.startswith(header):
        return None
    try:
        with collector_paused():
            state = pickle.loads(memoryview(data)[len(header) :])
        return Snapshot(state, state["inputs"], state["scanned_ns"], state["places"])
    except Exception as exc:  # a kept plan is only ever a shortcut
        log.debug("ignoring the kept plan (%s)", exc)
        return None


def is_kept(recipe: Recipe) -> bool:
    """Tell whether `recipe` can only keep the file a previous build wrote (a feed or static
    file of a snapshot: its way of making the file is not kept)."""
    return recipe.make is _kept


def _kept() -> bytes:
    raise RuntimeError("a file of a kept plan cannot be made again")


def _header(ctx: BuildContext, output: Path) -> bytes:
    """What a snapshot must have been made with: this code, libraries, settings and output."""
    made_with = digest_of(
        __version__, generator(), repr(ctx.config), ctx.drafts, ctx.strict, str(output)
    )
    return _MAGIC + made_with.encode("ascii") + b"\n"


def _page_parts(recipe: Recipe) -> tuple[Any, ...]:
    """A page recipe as render.page_recipe takes it, without its Jinja environment."""
    make = recipe.make
    assert isinstance(make, partial)
    _env, _template, url, context = make.args
    return recipe.path, recipe.key, recipe.inputs, url, context
