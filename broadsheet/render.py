"""RENDER: the Site through Jinja templates into HTML Outputs.

Input: a Site and the project's templates/ and static/ folders. Output: one Output per page and
static file. Autoescape is on for every template whatever its name, undefined names are errors,
and a template error names the template file and line.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import jinja2

from broadsheet.errors import SourceLocation, TemplateError
from broadsheet.model import Digest, Output, Site
from broadsheet.sources import is_junk
from broadsheet.urls import Urls, output_path, safe_output_path


@dataclass(frozen=True)
class Pagination:
    """Where one page of a paginated listing sits among its siblings."""

    number: int  # 1-based
    total: int  # number of pages
    prev_url: str | None  # the newer page
    next_url: str | None  # the older page


def make_environment(templates: Path) -> jinja2.Environment:
    """Return the Jinja environment: autoescape always, StrictUndefined, our filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["longdate"] = long_date
    env.filters["isodate"] = lambda value: value.isoformat()
    return env


def long_date(value: date | datetime) -> str:
    """Format a date as '2 December 2025'."""
    return f"{value.day} {value:%B %Y}"


def render_site(site: Site, env: jinja2.Environment, drafts: bool = False) -> list[Output]:
    """Render every HTML page of the site."""
    urls = Urls(site.config)
    env.globals.update(site=site, config=site.config, urls=urls, drafts=drafts)
    return [
        _render(env, template, url, urls, context) for template, url, context in _pages(site, urls)
    ]


def render_template(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render one template to text, turning Jinja's errors into a TemplateError with a line."""
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where = SourceLocation(f"templates/{exc.name or name}", exc.lineno)
        raise TemplateError(f"template syntax error: {exc.message}", where) from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(
            f"template not found: {exc.name}", SourceLocation(f"templates/{name}")
        ) from exc
    except Exception as exc:  # a template's own runtime error: name its line, keep the cause
        raise TemplateError(f"error while rendering: {exc}", _template_frame(exc, name)) from exc


def _template_frame(exc: BaseException, name: str) -> SourceLocation:
    """Find the innermost template line in a rendering traceback."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".html") or frame.filename.endswith(".xml"):
            return SourceLocation(f"templates/{Path(frame.filename).name}", frame.lineno)
    return SourceLocation(f"templates/{name}")


def _render(
    env: jinja2.Environment, template: str, url: str, urls: Urls, context: dict[str, Any]
) -> Output:
    html = render_template(env, template, page_url=url, **context)
    return Output(output_path(url, urls), html.encode("utf-8"))


def _pages(site: Site, urls: Urls) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Yield (template, url, context) for every HTML page."""
    size = site.config.home_digests
    older = site.digests[1:]
    chunks = [older[i : i + size] for i in range(0, len(older), size)] or [()]
    for number, chunk in enumerate(chunks, start=1):
        pager = _pager(number, len(chunks), urls.home)
        latest = site.digests[0] if number == 1 and site.digests else None
        yield (
            "index.html",
            urls.home(number),
            {"latest": latest, "digests": chunk, "pagination": pager},
        )
    for digest in site.digests:
        neighbours = {"prev": site.digest(digest.prev_id), "next": site.digest(digest.next_id)}
        yield "digest.html", urls.digest(digest), {"digest": digest, **neighbours}
    for article in site.articles:
        digest = site.digest(site.digest_of.get(article.slug))
        yield "article.html", urls.article(article), {"article": article, "digest": digest}
    counts = [(tag, len(site.tag_articles[tag.slug])) for tag in site.tags]
    yield "tags.html", urls.file("tags/"), {"tags": counts}
    yield from _tag_pages(site, urls)
    yield "archive.html", urls.file("archive/"), {"years": archive_groups(site.digests)}
    for page in site.pages:
        yield "page.html", urls.page(page), {"page": page}
    yield "404.html", urls.file("404.html"), {}


def _tag_pages(site: Site, urls: Urls) -> Iterator[tuple[str, str, dict[str, Any]]]:
    size = site.config.tag_page_size
    for tag in site.tags:
        articles = site.tag_articles[tag.slug]
        chunks = [articles[i : i + size] for i in range(0, len(articles), size)]
        for number, chunk in enumerate(chunks, start=1):
            pager = _pager(number, len(chunks), lambda n, tag=tag: urls.tag(tag, n))
            context = {"tag": tag, "articles": chunk, "pagination": pager, "count": len(articles)}
            yield "tag.html", urls.tag(tag, number), context


def _pager(number: int, total: int, url_for: Any) -> Pagination:
    return Pagination(
        number,
        total,
        url_for(number - 1) if number > 1 else None,
        url_for(number + 1) if number < total else None,
    )


def archive_groups(digests: Sequence[Digest]) -> list[tuple[int, list[tuple[date, list[Digest]]]]]:
    """Group digests (newest first) by year, then by month."""
    years = []
    for year, in_year in groupby(digests, key=lambda d: d.start.year):
        months = [
            (date(year, month, 1), list(in_month))
            for month, in_month in groupby(in_year, key=lambda d: d.start.month)
        ]
        years.append((year, months))
    return years


def render_static(folder: Path) -> list[Output]:
    """Copy every file of static/ (editor junk left out) to static/ in the output."""
    if not folder.is_dir():
        return []
    outputs = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and not any(is_junk(p) for p in relative.parts):
            target = safe_output_path(f"static/{relative.as_posix()}")
            outputs.append(Output(target, path.read_bytes()))
    return outputs
