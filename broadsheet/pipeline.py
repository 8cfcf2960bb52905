"""The build, as a checklist: load, model, render, write, each timed.

Input: a BuildContext. Output: a BuildResult with counts, timings and warnings. Everything is
read and validated before anything is written.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from broadsheet.content import Content, load_content
from broadsheet.digests import build_digests, digest_index
from broadsheet.errors import (
    BroadsheetError,
    ContentError,
    ErrorCollector,
    ErrorList,
    OutputError,
    SourceLocation,
)
from broadsheet.feeds import render_feeds
from broadsheet.model import Article, BuildContext, Output, Site
from broadsheet.render import make_environment, render_site, render_static
from broadsheet.taxonomy import build_taxonomy, newest_first
from broadsheet.write import WriteStats, check_output_dir, write_site

log = logging.getLogger(__name__)


@dataclass
class BuildResult:
    """What a build did, for the summary line and -v."""

    site: Site
    outputs: tuple[Output, ...]
    stats: WriteStats | None  # None when nothing was written (render only)
    warnings: tuple[BroadsheetError, ...]
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds

    def summary(self) -> str:
        """The one line a build prints."""
        site = self.site
        return (
            f"built {len(site.articles)} articles, {len(site.digests)} digests, "
            f"{len(site.tags)} tags, {len(self.outputs)} files in {sum(self.timings.values()):.2f}s"
        )


def build(ctx: BuildContext, write: bool = True) -> BuildResult:
    """Run every stage; write the site only if all of them succeeded."""
    timings: dict[str, float] = {}
    output = check_output_dir(ctx.output or ctx.config.output_dir, ctx.root) if write else None
    with _timed(timings, "load"):
        content = load_content(ctx.root, ctx.config, drafts=ctx.drafts, strict=ctx.strict)
    with _timed(timings, "model"):
        site, model_warnings = build_site(content, ctx)
    with _timed(timings, "render"):
        outputs = render_outputs(site, ctx)
    stats = None
    if output is not None:
        with _timed(timings, "write"):
            stats = write_site(outputs, output)
    warnings = content.warnings + tuple(model_warnings)
    return BuildResult(site, tuple(outputs), stats, warnings, timings)


def build_site(content: Content, ctx: BuildContext) -> tuple[Site, list[BroadsheetError]]:
    """Assemble the Site: tags resolved, digests built, slugs proven unique."""
    _check_unique_slugs(content)
    taxonomy = build_taxonomy(content.articles)
    digests, warnings = build_digests(taxonomy.articles, content.notes, ctx.config)
    if ctx.strict and warnings:
        raise ErrorList(warnings)
    articles = tuple(sorted(taxonomy.articles, key=newest_first))
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


def render_outputs(site: Site, ctx: BuildContext) -> list[Output]:
    """Render pages, feeds and static files, plus any extra outputs of the context."""
    env = make_environment(ctx.root / "templates")
    pages = render_site(site, env, drafts=ctx.drafts)
    outputs = pages + render_feeds(site, env, pages) + render_static(ctx.root / "static")
    outputs += ctx.extra_outputs
    _check_unique_paths(outputs)
    return outputs


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


def _check_unique_paths(outputs: list[Output]) -> None:
    seen: set[str] = set()
    for item in outputs:
        key = item.path.as_posix().casefold()
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
