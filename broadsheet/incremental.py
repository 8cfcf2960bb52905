"""INCREMENTAL: after an edit that changes only what articles say, update the last build.

Input: the previous build's Plan (serve keeps it in memory; a command-line build loads the one
the last full build kept, snapshot.py) and the source files changed since. Output: a
BuildResult, or None when the change is not one this handles and a full build must run
instead: a file added or removed, anything but an article changed, an article's place in the
site changed (slug, date, tags, section, digest, draft), an article with warnings or errors, or
templates that read the whole site. (A draft edited while drafts are not shown changes nothing
and needs nothing.) Only the pages, feeds and files whose dependency key changed are rendered
and written, in O(changed) time: the tests build both ways and require the same bytes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from stat import S_ISREG
from typing import Any

from broadsheet.cache import ContentCache, collector_off, digest_of, file_digest
from broadsheet.content import parse_source
from broadsheet.errors import BroadsheetError
from broadsheet.model import Article, BuildContext, Digest, Output, Site
from broadsheet.pipeline import (
    BuildResult,
    OutputStream,
    Plan,
    build_record,
    site_counts,
    stale_outputs,
)
from broadsheet.render import page_parts, page_recipe
from broadsheet.snapshot import (
    Placed,
    Places,
    Resident,
    Snapshot,
    is_kept,
    leave_daemon,
    load_snapshot,
)
from broadsheet.sources import read_bytes
from broadsheet.stamp import Inputs
from broadsheet.write import WriteStats, patch_site, write_site

log = logging.getLogger(__name__)

# What places an article in the site; an edit to any of these needs the whole model rebuilt.
PLACE = ("slug", "published", "tags", "section", "digest_id", "draft", "path")

# Files edited since the last full build that a build takes from the kept plan; past this many
# (say after a checkout), the full build's parallel parsing is quicker.
MAX_KEPT_EDITS = 32
_ARTICLES = "content/articles/"

Known = Callable[[str], Placed | None]  # where a file's article was when last parsed
Edits = list[tuple[Article, Article]]  # (article in the site, its new version)


def update(
    plan: Plan, ctx: BuildContext, cache: ContentCache, changed: Sequence[str], output: Path
) -> BuildResult | None:
    """Bring serve's last build up to date with `changed` article edits, or return None."""
    if plan.deps.whole_site or not changed or not ctx.private_output:
        return None

    def known(name: str) -> Placed | None:
        entry = cache.entries.get(name)
        return None if entry is None else placed(*entry.value)

    with collector_off():
        timings: dict[str, float] = {}
        start = time.perf_counter()
        edits = _reparse(plan.site, ctx, known, cache.store, changed)
        timings["load"] = time.perf_counter() - start
        if edits is None:
            return None
        stale = _apply(plan, edits, timings)
        if stale is None:
            return None
        start = time.perf_counter()
        recipes = [plan.recipes[i] for i in stale]
        made = [Output(r.path, r.make(), r.key) for r in recipes]
        timings["render"] += time.perf_counter() - start
        start = time.perf_counter()
        if made:
            stats, plan.marker = patch_site(made, output, plan.marker)
        else:  # a draft edited, a file saved unchanged: nothing the site shows
            stats = WriteStats(0, len(plan.recipes), 0)
        timings["write"] = time.perf_counter() - start
        return _result(plan, tuple(item.path for item in made), stats, timings, len(edits))


def update_kept(
    ctx: BuildContext, output: Path, inputs: Inputs, scanned_ns: int, timings: dict[str, float]
) -> BuildResult | None:
    """Bring the plan the last full build kept (or the build daemon holds) up to date with the
    articles edited since (`inputs`, listed at `scanned_ns`), and write what differs from
    `output`; or return None (saying why with -v) when a full build must run. A plan read from
    disk is then left to a build daemon; the daemon's own moves on to `inputs`."""
    start = time.perf_counter()
    with load_snapshot(ctx, output) as snapshot:
        changed = snapshot.changed(inputs) if snapshot else None
        why = _why_not(snapshot, changed)
        kept = snapshot.plan(ctx) if snapshot and why is None else None
    if kept is None:
        log.debug("  full build: %s", why or "the kept plan cannot be read")
        return None
    plan, places = kept
    if isinstance(snapshot, Resident):
        log.debug("  daemon: process %d had the plan in memory", os.getpid())
    with collector_off():
        edits = _reparse(plan.site, ctx, places.get, None, changed or ())
        timings["load"] = time.perf_counter() - start
        if edits is None or _apply(plan, edits, timings) is None:
            log.debug("  full build: an edited article moved in the site, warns, or is a link")
            return None
        start = time.perf_counter()
        stale = stale_outputs(plan.recipes, output)  # the files on disk decide, as in any build
        if len(stale) > len(plan.recipes) // 2 or any(is_kept(plan.recipes[i]) for i in stale):
            log.debug("  full build: most pages, or a static file, are missing from the output")
            return None
        timings["render"] += time.perf_counter() - start
        made = OutputStream(plan.recipes, stale, ctx.workers)
        start = time.perf_counter()
        stats = write_site(made, output, build_record(plan, ctx))
        timings["write"] = time.perf_counter() - start - made.seconds
        timings["render"] += made.seconds
        rendered = tuple(plan.recipes[i].path for i in stale)
        if isinstance(snapshot, Resident):
            snapshot.advance(inputs, scanned_ns)
        else:
            leave_daemon(ctx, output, plan, places, inputs, scanned_ns)
        return _result(plan, rendered, stats, timings, len(edits))


def _why_not(snapshot: Snapshot | None, changed: list[str] | None) -> str | None:
    """Why a kept plan cannot serve this build, or None if it can."""
    if snapshot is None:
        return "no plan was kept by this version for this output and these settings"
    if changed is None:
        return "files were added or removed since the plan was kept"
    if len(changed) > MAX_KEPT_EDITS:
        return f"{len(changed)} files changed since the plan was kept"
    if snapshot.whole_site:
        return "the templates read the whole site"
    if any(not name.startswith(_ARTICLES) for name in changed):
        return "files other than articles changed since the plan was kept"
    return None


def _apply(plan: Plan, edits: Edits, timings: dict[str, float]) -> list[int] | None:
    """Put the edited articles into the plan: new model objects, new keys for the pages and
    feeds that show them. Return the indexes of the recipes whose key changed, or None when
    the feeds come out other than planned."""
    from broadsheet.feeds import render_feeds

    start = time.perf_counter()
    site, swaps = _swap_articles(plan.site, edits)
    renamed = _new_keys(plan, edits, swaps)
    timings["model"] = time.perf_counter() - start

    start = time.perf_counter()
    plan.env.globals.update(plan.globals, site=site)  # another build may have changed them
    plan.env.fragment_cache.clear()  # type: ignore[attr-defined]
    stale = _replan_pages(plan, renamed, swaps)
    recipes = plan.recipes
    feeds = render_feeds(site, plan.env, plan.deps, recipes[: plan.pages])
    for offset, recipe in enumerate(feeds):
        index = plan.pages + offset
        if recipes[index].path != recipe.path:  # the same site makes the same feeds
            return None
        if recipes[index].key != recipe.key:
            stale.append(index)
        recipes[index] = recipe  # made from this site (a kept plan's could not be made)
    plan.site = site
    timings["render"] = time.perf_counter() - start
    return stale


def _result(
    plan: Plan,
    rendered: tuple[str, ...],
    stats: WriteStats,
    timings: dict[str, float],
    parsed: int,
) -> BuildResult:
    return BuildResult(
        **site_counts(plan.site),
        files=len(plan.recipes),
        rendered=rendered,
        stats=stats,
        warnings=plan.warnings,
        timings=timings,
        cache_hits=0,
        cache_misses=parsed,
        updated=True,
        site=plan.site,
        plan=plan,
    )


def _new_keys(plan: Plan, edits: Edits, swaps: dict[int, Any]) -> dict[str, str]:
    """The edited articles' and their digests' keys: {old key: new key}."""
    olds = [old for old, _ in edits]
    old_digests = [d for d in plan.site.digests if id(d) in swaps]
    old_keys = [plan.deps.article(a) for a in olds] + [plan.deps.digest(d) for d in old_digests]
    plan.deps.refresh(olds, old_digests)
    new_keys = [plan.deps.article(new) for _, new in edits]
    new_keys += [plan.deps.digest(swaps[id(d)]) for d in old_digests]
    return dict(zip(old_keys, new_keys, strict=True))


def _replan_pages(plan: Plan, renamed: dict[str, str], swaps: dict[int, Any]) -> list[int]:
    """Give every page that used a renamed key its new key and the new objects to render;
    return their indexes."""
    users = _users(plan)
    stale = sorted({index for key in renamed for index in users.get(key, ())})
    moved = {new_key: users.pop(old_key, []) for old_key, new_key in renamed.items()}
    for new_key, indexes in moved.items():  # a key saved unchanged maps to itself
        users.setdefault(new_key, []).extend(indexes)
    for index in stale:
        path, _key, (template, parts), url, context, weight = page_parts(plan.recipes[index])
        new_parts = _swapped(parts, renamed)
        key = plan.deps.key(template, *new_parts)
        context = _swapped(context, swaps)
        inputs = (template, new_parts)
        plan.recipes[index] = page_recipe(plan.env, path, key, inputs, url, context, weight)
    return stale


def prepare(plan: Plan) -> None:
    """Index a new plan for the updates to come."""
    _users(plan)


def _users(plan: Plan) -> dict[str, list[int]]:
    """Which pages' keys use each article's and digest's key: made once, then kept current."""
    if plan.users is None:
        plan.users = {}
        for index, recipe in enumerate(plan.recipes[: plan.pages]):
            for part in _strings(recipe.inputs[1] if recipe.inputs else ()):
                plan.users.setdefault(part, []).append(index)
    return plan.users


def _strings(value: Any) -> set[str]:
    """Every string in a nesting of tuples."""
    if isinstance(value, str):
        return {value}
    if type(value) is tuple:
        return set().union(*map(_strings, value)) if value else set()
    return set()


def _reparse(
    site: Site,
    ctx: BuildContext,
    known: Known,
    store: Callable[[str, os.stat_result, str, Any], None] | None,
    changed: Sequence[str],
) -> Edits | None:
    """Parse the changed files again: (article in the site, its new version) pairs, or None
    when one of them is not an existing article whose place in the site stays the same.
    `known` tells where each file was before; `store` keeps what parsing gave."""
    by_path = {article.path.as_posix(): article for article in site.articles}
    edits: Edits = []
    for name in changed:
        folder, _, file = name.rpartition("/")
        if folder == "content/articles" and not file.endswith(".md"):
            if os.path.isfile(os.path.join(ctx.root, name)):
                return None  # a file saved under another name: a full build warns of it
            continue  # gone already: a tool's temporary file (`sed -i` writes one, renames it)
        current = by_path.get(name)
        before = known(name)
        if before is None or before[1] or not name.startswith(_ARTICLES):
            return None
        hidden = before[2] and not ctx.drafts
        if (current is None) != hidden:
            return None
        path = os.path.join(ctx.root, name)
        try:
            stat = os.lstat(path)
            if not S_ISREG(stat.st_mode) or os.path.islink(os.path.dirname(path)):
                return None  # a link or something stranger: the full build's checks decide
            data = read_bytes(path)
        except OSError:
            return None
        digest = file_digest(data)
        if current is not None and digest == current.fingerprint:
            continue  # touched or saved unchanged: nothing to parse
        outcome = parse_source("articles", data, Path(name), ctx.config)
        if isinstance(outcome, BroadsheetError) or outcome[1]:
            return None
        after = outcome[0]
        if before[0] != placed(after, ())[0]:
            return None
        if store is not None:
            store(name, stat, digest, outcome)
        if current is not None:  # else a draft that stays one: nothing shown changes
            edits.append((current, replace(after, tags=current.tags)))  # tags as the site has
    return edits


def placed(article: Article, warnings: Sequence[BroadsheetError]) -> Placed:
    """Where `article` sits in the site (a digest of what places it, its date as written so a
    change of fold counts), whether parsing it warned, and whether it is a draft."""
    place = (*(getattr(article, key) for key in PLACE), article.published.isoformat())
    return digest_of(place), bool(warnings), article.draft


def places(cache: ContentCache) -> Places:
    """Where each article file of `cache` sits in the site."""
    return {
        name: placed(*entry.value)
        for name, entry in cache.entries.items()
        if name.startswith(_ARTICLES) and isinstance(entry.value[0], Article)
    }


def _swap_articles(site: Site, edits: Edits) -> tuple[Site, dict[int, Any]]:
    """The site with each edited article in place of the old one, the digests holding them
    made again; and what replaced what, by the old object's id."""
    swaps: dict[int, Any] = {id(old): new for old, new in edits}
    digests = dict(site.digests_by_id)
    for old, _ in edits:
        digest = digests[site.digest_of[old.slug]]
        new_digest = _swap_digest(digest, swaps)
        digests[digest.id] = new_digest
        swaps[id(site.digests_by_id[digest.id])] = new_digest
    tag_slugs = {tag.slug for old, _ in edits for tag in old.tags}
    tag_articles = {
        slug: _swapped(items, swaps) if slug in tag_slugs else items
        for slug, items in site.tag_articles.items()
    }
    new_site = replace(
        site,
        articles=_swapped(site.articles, swaps),
        digests=_swapped(site.digests, swaps),
        tag_articles=tag_articles,
        digests_by_id=digests,
    )
    return new_site, swaps


def _swap_digest(digest: Digest, swaps: dict[int, Any]) -> Digest:
    sections = tuple(replace(s, articles=_swapped(s.articles, swaps)) for s in digest.sections)
    return replace(digest, articles=_swapped(digest.articles, swaps), sections=sections)


def _swapped(value: Any, swaps: dict[Any, Any]) -> Any:
    """`value` with every item found in `swaps` replaced, through tuples, lists and dicts; the
    same object when nothing in it changed. Keys of `swaps` are ids, or strings for keys."""
    key = value if isinstance(value, str) else id(value)
    if key in swaps:
        return swaps[key]
    kind = type(value)
    if kind is tuple or kind is list:
        items = [_swapped(item, swaps) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return kind(items)
    if kind is dict:
        pairs = {name: _swapped(item, swaps) for name, item in value.items()}
        if all(pairs[name] is item for name, item in value.items()):
            return value
        return pairs
    return value
