"""The build, as a checklist: load, model, render, write, each timed.

Input: a BuildContext. Output: a BuildResult with counts, timings and warnings. Everything is
read and validated before anything is written.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from broadsheet.cache import CACHE_DIR, ContentCache, collector_off, digest_of
from broadsheet.config import CONFIG_FILE
from broadsheet.errors import (
    BroadsheetError,
    ConfigError,
    ContentError,
    ErrorCollector,
    ErrorList,
    OutputError,
    SourceLocation,
)
from broadsheet.manifest import (
    MARKER,
    are_current,
    check_output_dir,
    is_intact,
    marker_digest,
    read_manifest,
    read_record,
)
from broadsheet.model import Article, BuildContext, Output, Recipe, Site
from broadsheet.parallel import run_parallel
from broadsheet.stamp import Inputs, input_stamp, read_stamp, save_stamp, scan_inputs
from broadsheet.write import WriteStats, build_lock, put_file, write_site

if TYPE_CHECKING:
    import jinja2

    from broadsheet.content import Content
    from broadsheet.deps import Dependencies

log = logging.getLogger(__name__)


@dataclass
class BuildResult:
    """What a build did, for the summary line and -v."""

    articles: int  # counts for the summary line
    digests: int
    tags: int
    files: int  # output files of the site
    rendered: tuple[str, ...]  # files rendered this time (the others were current already)
    stats: WriteStats  # what writing changed on disk
    warnings: tuple[BroadsheetError, ...]
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    cache_hits: int = 0  # content files taken from the cache
    cache_misses: int = 0  # content files parsed
    updated: bool = False  # the last build's plan was brought up to date instead of made anew
    site: Site | None = None  # None when nothing had changed since the last build
    plan: Plan | None = None  # what was planned, for serve's next incremental update

    def summary(self) -> str:
        """The one line a build prints."""
        return (
            f"built {self.articles} articles, {self.digests} digests, {self.tags} tags, "
            f"{self.files} files in {sum(self.timings.values()):.2f}s"
        )


@dataclass
class Plan:
    """Every output of one build and what it was planned with: serve updates it in place."""

    site: Site
    recipes: list[Recipe]  # pages, then feeds, then static files
    pages: int  # how many of the recipes are pages; feeds.py's come next
    deps: Dependencies
    env: jinja2.Environment
    warnings: tuple[BroadsheetError, ...]
    users: dict[str, list[int]] | None = None  # key part -> pages using it; made when needed
    marker: tuple[dict, dict] | None = None  # the output's manifest and record, once read
    globals: dict[str, object] = field(default_factory=dict)  # what templates see as globals


def build(
    ctx: BuildContext,
    cache: ContentCache | None = None,
    previous: Plan | None = None,
    changed: Sequence[str] = (),
) -> BuildResult:
    """Run every stage; write the site only if all of them succeeded.

    `cache` keeps parsed files between builds (serve passes one it keeps in memory). Serve also
    passes its `previous` build's plan and the `changed` source files: edits to what articles
    say then update that build in place (incremental.py). The build holds the output's lock
    throughout, so two builds never interleave.
    """
    output = check_output_dir(ctx.output or ctx.config.output_dir, ctx.root)
    with build_lock(output):
        if previous is not None and cache is not None and changed:
            from broadsheet.incremental import update

            result = update(previous, ctx, cache, changed, output)
            if result is not None:
                return result
        result = _build(ctx, output, cache)
        if ctx.private_output and result.plan is not None:
            from broadsheet.incremental import prepare

            prepare(result.plan)  # now, so the first save after it is as quick as the rest
        return result


def _build(ctx: BuildContext, output: Path, cache: ContentCache | None) -> BuildResult:
    timings: dict[str, float] = {}
    stamp, inputs, scanned = None, None, time.time_ns()
    if ctx.use_cache:  # the stamp and the kept plan are in .cache/: none without it
        with _timed(timings, "check"):
            inputs = scan_inputs(ctx.root)
            stamp = input_stamp(ctx, inputs)
            done = _unchanged(ctx, output, stamp) if stamp else None
        if done is None and cache is None and not ctx.private_output:  # serve keeps its own
            done = _from_kept_plan(ctx, output, inputs, scanned, stamp, timings)
        if done is not None:
            done.timings.update(timings)
            return done
    from broadsheet.snapshot import can_leave_behind, refuse_full_build, save_snapshot

    refuse_full_build()  # the build daemon leaves full builds to the command that asked
    with _collector_frozen():  # and thawed whatever happens: serve builds again and again
        cache, content, site, model_warnings = _load_and_model(ctx, cache, timings)
        warnings = content.warnings + tuple(model_warnings)
        # Where a build daemon is to stay, the process left for it saves the content cache
        # first, off the build's path. Otherwise (CI, --no-daemon, scripts: where that process
        # may be cut short, or other steps read .cache/ next) it is saved while a helper renders.
        kept_from = inputs if not ctx.private_output else None  # serve keeps its own plan
        offload = kept_from is not None and ctx.daemon and can_leave_behind()
        try:
            result = _render_and_write(
                site, warnings, ctx, output, timings, None if offload else cache.save
            )
        except BaseException:
            if offload:
                cache.save()  # what was parsed still spares the next try the time
            raise
    if stamp:
        save_stamp(ctx.root, output, digest_of(stamp, marker_digest(output)))
    left = False
    if kept_from is not None and result.plan is not None:
        with _timed(timings, "keep"):
            left = save_snapshot(ctx, output, result.plan, kept_from, scanned, cache, offload)
    if not (offload and left):
        cache.save()  # if rendering did not get to it
    result.cache_hits, result.cache_misses = cache.hits, cache.misses
    return result


def _load_and_model(
    ctx: BuildContext, cache: ContentCache | None, timings: dict[str, float]
) -> tuple[ContentCache, Content, Site, list[BroadsheetError]]:
    """Parse the content (what the cache does not hold) and model the site from it."""
    # Not loaded by a build with nothing to do:
    from broadsheet.content import load_content
    from broadsheet.snapshot import wait_for_writer

    # Thousands of articles and pages made, none of them garbage: collections would walk them
    # again and again as they pile up (a third of the loading time), in the workers too. They
    # are frozen before the collector is back on, else its first collection walks them all.
    with collector_off(freeze=True):
        with _timed(timings, "load"):  # reading the cache and preparing templates included
            if cache is None and ctx.use_cache:
                wait_for_writer(ctx.root)  # the last full build's process may be saving it
                cache = ContentCache.load(ctx.root, ctx.config)
            elif cache is None:
                cache = ContentCache(None, "")
            content = load_content(
                ctx.root,
                ctx.config,
                ctx.drafts,
                ctx.strict,
                cache,
                ctx.workers,
                meanwhile=partial(_prepare_templates, ctx),
            )
        with _timed(timings, "model"):
            site, model_warnings = build_site(content, ctx)
    return cache, content, site, model_warnings


def _from_kept_plan(
    ctx: BuildContext,
    output: Path,
    inputs: Inputs,
    scanned: int,
    stamp: str | None,
    timings: dict[str, float],
) -> BuildResult | None:
    """The build as an update of the plan the last full build kept, when it can be one
    (incremental.update_kept); else None, the time spent finding out counted as checking."""
    from broadsheet.snapshot import may_have_plan

    if not may_have_plan(ctx.root):  # a first build: no need to load the update's modules
        log.debug("  full build: no plan was kept here")
        return None
    from broadsheet.incremental import update_kept

    start = time.perf_counter()
    done = update_kept(ctx, output, inputs, scanned, timings)
    if done is None:
        for stage in ("load", "model", "render"):
            timings.pop(stage, None)
        timings["check"] += time.perf_counter() - start
    elif stamp:
        save_stamp(ctx.root, output, digest_of(stamp, marker_digest(output)))
    return done


def _render_and_write(
    site: Site,
    warnings: tuple[BroadsheetError, ...],
    ctx: BuildContext,
    output: Path,
    timings: dict[str, float],
    meanwhile: Callable[[], None] | None = None,
) -> BuildResult:
    """Plan every output, render the stale ones and write them; run `meanwhile` (saving the
    content cache) while another process renders."""
    with _timed(timings, "render"):
        plan = plan_outputs(site, ctx, warnings)
        recipes = plan.recipes
        stale = stale_outputs(recipes, output, ctx.private_output)
    made = OutputStream(recipes, stale, ctx.workers, meanwhile)
    with _timed(timings, "write"):
        stats = write_site(made, output, build_record(plan, ctx))
    timings["render"] += made.seconds  # pages render while the writer takes them
    timings["write"] -= made.seconds
    return BuildResult(
        **site_counts(site),
        files=len(recipes),
        rendered=tuple(recipes[i].path for i in stale),
        stats=stats,
        warnings=warnings,
        timings=timings,
        site=site,
        plan=plan,
    )


@contextmanager
def _collector_frozen() -> Iterator[None]:
    """Keep the cycle collector off the model (it lives to the end of the build) while the
    thousands of pages are made; a long-running serve gets it back after each build."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _unchanged(ctx: BuildContext, output: Path, stamp: str) -> BuildResult | None:
    """The previous build's result, if no input changed since and its files are all in place."""
    if read_stamp(ctx.root, output) != digest_of(stamp, marker_digest(output)):
        return None
    record = read_record(output)
    if not is_intact(output, read_manifest(output)):
        return None
    try:
        warnings = tuple(
            ContentError(m, SourceLocation(p, line)) for p, line, m in record["warnings"]
        )
        counts = {k: int(record[k]) for k in ("articles", "digests", "tags", "files")}
    except (KeyError, TypeError, ValueError):
        return None
    os.utime(output / MARKER)  # its time says when the site was last built (deploy reads it)
    return BuildResult(
        **counts, rendered=(), stats=WriteStats(0, counts["files"], 0), warnings=warnings
    )


def site_counts(site: Site) -> dict[str, int]:
    """What the summary line and the build record count."""
    return {"articles": len(site.articles), "digests": len(site.digests), "tags": len(site.tags)}


def build_record(plan: Plan, ctx: BuildContext) -> dict[str, object]:
    """What the output's manifest notes about the build that made it."""
    return {
        **site_counts(plan.site),
        "files": len(plan.recipes),
        "warnings": [_warning_record(w) for w in plan.warnings],
        "drafts": ctx.drafts,  # deploy refuses to publish drafts
    }


def _warning_record(warning: BroadsheetError) -> list[object]:
    where = warning.location
    return [str(where.path) if where else "", where.line if where else None, warning.message]


def build_site(content: Content, ctx: BuildContext) -> tuple[Site, list[BroadsheetError]]:
    """Assemble the Site: tags resolved, digests built, slugs proven unique."""
    from broadsheet.digests import build_digests, digest_index
    from broadsheet.taxonomy import build_taxonomy

    _check_unique_slugs(content)
    taxonomy = build_taxonomy(content.articles)
    digests, warnings = build_digests(taxonomy.articles, content.notes, ctx.config)
    if not ctx.config.origin:  # feeds, sitemap and canonical links need a full address
        message = (
            f"base_url {ctx.config.base_url!r} has no https:// address, so the feeds, the sitemap"
            " and canonical links are not valid; set base_url to the site's full address"
        )
        warnings.append(ConfigError(message, SourceLocation(CONFIG_FILE)))
    if ctx.strict and warnings:
        raise ErrorList(warnings)
    articles = taxonomy.articles  # newest first
    site = Site(
        config=ctx.config,
        articles=articles,
        digests=digests,
        tags=taxonomy.tags,
        pages=content.pages,
        tag_articles=taxonomy.tag_articles,
        digest_of=digest_index(digests),
        digests_by_id={d.id: d for d in digests},
        updated=_site_updated(articles, ctx),
    )
    return site, warnings


def plan_outputs(site: Site, ctx: BuildContext, warnings: tuple[BroadsheetError, ...] = ()) -> Plan:
    """Plan every page, feed and static file."""
    # Jinja and the renderers load here, so a build with nothing to do never pays for them.
    from broadsheet.feeds import render_feeds
    from broadsheet.render import dependencies, render_site, render_static

    env, store = template_environment(ctx)
    deps = dependencies(site, env, ctx.drafts, store)
    pages = render_site(site, env, deps, drafts=ctx.drafts)
    recipes = pages + render_feeds(site, env, deps, pages) + render_static(ctx.root / "static")
    _check_unique_paths(recipes)
    shared = {name: env.globals[name] for name in ("site", "config", "urls", "drafts")}
    return Plan(site, recipes, len(pages), deps, env, warnings, globals=shared)


def _prepare_templates(ctx: BuildContext) -> None:
    """Compile and analyse the templates planning and rendering will use (render.py)."""
    from broadsheet.render import prepare_templates

    prepare_templates(*template_environment(ctx))


def template_environment(ctx: BuildContext) -> tuple[jinja2.Environment, Path | None]:
    """The project's Jinja environment, keeping compiled templates in .cache/ (made if missing)
    between processes, and the file there that keeps what is known of them (deps.py), if any."""
    from broadsheet.render import make_environment

    bytecode = ctx.root / CACHE_DIR / "templates" if ctx.use_cache else None
    if bytecode is not None:
        bytecode.mkdir(parents=True, exist_ok=True)
    store = bytecode / "analysis.json" if bytecode else None
    return make_environment(ctx.root / "templates", bytecode), store


class OutputStream:
    """Every output in order: rendered when stale (in worker processes when there are many),
    else marked as kept (data None). Counts the seconds spent waiting for rendering."""

    def __init__(
        self,
        recipes: list[Recipe],
        stale: list[int],
        workers: int,
        meanwhile: Callable[[], None] | None = None,
    ) -> None:
        self.recipes = recipes
        self.stale = stale
        self.workers = workers
        self.meanwhile = meanwhile  # work for this process while others render
        self.seconds = 0.0

    def __iter__(self) -> Iterator[Output]:
        global _RECIPES
        _RECIPES = self.recipes  # forked workers find the recipes here
        jobs = [(i,) for i in self.stale]
        rendered = run_parallel(_make, jobs, self.workers, meanwhile=self.meanwhile)
        stale = set(self.stale)
        for index, recipe in enumerate(self.recipes):
            if index not in stale:
                yield Output(recipe.path, None, recipe.key)
                continue
            start = time.perf_counter()
            data = next(rendered)
            self.seconds += time.perf_counter() - start
            yield Output(recipe.path, data, recipe.key)

    def render_into(self, folder: Path) -> Iterator[tuple[str, list]]:
        """Render every output straight into `folder`, here and in a helper process for each
        other core (run_shared); yield each path and its entry. The outputs are listed costly
        first (a feed costs twenty article pages): this process starts with those and the helper
        with the cheap end, so the two meet among middling ones and finish together, and the
        listings, which share cached fragments (an article's card), are mostly made here."""
        global _RECIPES
        _RECIPES = self.recipes
        start = time.perf_counter()
        order = sorted(range(len(self.recipes)), key=lambda i: -self.recipes[i].weight)
        jobs = [(i, folder) for i in order]
        yield from run_parallel(
            _make_into, jobs, self.workers, share=True, meanwhile=self.meanwhile
        )
        self.seconds += time.perf_counter() - start


def stale_outputs(recipes: list[Recipe], output: Path, private: bool = False) -> list[int]:
    """The indexes of the recipes whose file in `output` is missing or was made from other inputs.

    A `private` output (serve's own folder) is trusted to hold what its manifest says; any other
    is checked file by file, in case someone deleted or replaced a page by hand.
    """
    previous = read_manifest(output)
    if private:
        return [i for i, r in enumerate(recipes) if previous.get(r.path, ("",))[0] != r.key]
    current = are_current(output, ((r.path, r.key) for r in recipes), previous)
    return [i for i, ok in enumerate(current) if not ok]


_RECIPES: list[Recipe] = []


def _make(index: int) -> bytes:
    return _RECIPES[index].make()


def _make_into(index: int, folder: Path) -> tuple[str, list]:
    recipe = _RECIPES[index]
    return put_file(folder, Output(recipe.path, recipe.make(), recipe.key))


def _check_unique_slugs(content: Content) -> None:
    """Articles, and pages, each need their own slug; a clash names both files."""
    errors = ErrorCollector()
    for items in (content.articles, content.pages):
        seen: dict[str, Path] = {}
        for item in items:
            first = seen.setdefault(item.slug, item.path)
            if first != item.path:
                lines = getattr(item, "lines", {})  # pages keep no key lines
                where = SourceLocation(item.path, lines.get("slug") or lines.get("title"))
                message = f"slug '{item.slug}' is already used by {first}; set a different 'slug'"
                errors.add(ContentError(message, where))
    errors.raise_if_any()


def _check_unique_paths(outputs: list[Recipe]) -> None:
    seen: set[str] = set()
    for item in outputs:
        key = item.path.casefold()
        if key in seen:
            raise OutputError(f"two outputs would be written to {item.path}")
        seen.add(key)


def _site_updated(articles: tuple[Article, ...], ctx: BuildContext) -> datetime:
    """The site's 'generated at': SOURCE_DATE_EPOCH if set, else the newest article's date."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    if articles:
        return articles[0].published
    return datetime(1970, 1, 1, tzinfo=UTC)


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[stage] = time.perf_counter() - start
