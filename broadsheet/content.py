"""LOAD: content files -> Article, DigestNote and Page, validated.

Input: the project folder and its Config. Output: Content, whose articles still carry their tag
names as written (taxonomy.py merges and checks them). Every file is read and checked; every
problem of every file is collected and raised once as an ErrorList. Warnings (unknown keys,
skipped files) are returned, or raised as errors under --strict.
"""

from __future__ import annotations

import difflib
import logging
import os
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from broadsheet.cache import ContentCache, Entry, cache_salt, file_digest
from broadsheet.config import Config
from broadsheet.errors import BroadsheetError, ContentError, ErrorCollector, SourceLocation
from broadsheet.fields import (
    Fields,
    check_bool,
    check_digest_id,
    check_mapping,
    check_slug,
    check_url,
    is_digest_of_period,
    parse_date,
    parse_images,
)
from broadsheet.frontmatter import Document, decode_text, parse_document
from broadsheet.model import Article, DigestNote, Page, Tag
from broadsheet.parallel import run_parallel
from broadsheet.slugs import slug_from_name, slugify
from broadsheet.sources import list_sources, read_bytes
from broadsheet.urls import Urls

log = logging.getLogger(__name__)
T = TypeVar("T")

Parsed = tuple[Any, tuple[BroadsheetError, ...]]  # an item and its warnings
ARTICLE_KEYS = (
    "title", "date", "date_text", "source", "url", "author", "location", "tags", "highlights",
    "images", "summary", "note", "section", "digest", "slug", "draft", "extra",
)  # fmt: skip
NOTE_KEYS = ("title",)
PAGE_KEYS = ("title", "slug", "draft")
RESERVED_PAGE_SLUGS = frozenset(
    {"articles", "digests", "tags", "archive", "page", "static", "index", "404", "feed.xml",
     "feed.json", "sitemap.xml", "robots.txt", "cname", "livereload"}
)  # fmt: skip


@dataclass(frozen=True)
class Content:
    """Everything read from content/, before the site is assembled."""

    articles: tuple[Article, ...]  # in file order, drafts left out unless asked for
    notes: tuple[DigestNote, ...]
    pages: tuple[Page, ...]
    warnings: tuple[BroadsheetError, ...]


def load_content(
    root: Path,
    config: Config,
    drafts: bool = False,
    strict: bool = False,
    cache: ContentCache | None = None,
    workers: int = 1,
    meanwhile: Callable[[], None] | None = None,
) -> Content:
    """Read and validate content/articles, content/digests and content/pages.

    Files unchanged since `cache` saw them are not read again; the rest are parsed, across
    `workers` processes when there are many. `meanwhile` runs in this process while a worker
    parses (or first, when none does).
    """
    cache = cache or ContentCache(None, cache_salt(config))
    errors = ErrorCollector()
    warnings: list[BroadsheetError] = []
    found: list[tuple[str, str]] = []  # (kind, name relative to root)
    for kind in PARSERS:
        names, skipped = list_sources(root / "content" / kind, root)
        warnings.extend(skipped)
        found.extend((kind, name) for name in names)
    values: dict[str, Any] = {}
    for name, outcome in _parse_changed(found, root, config, cache, workers, meanwhile):
        if isinstance(outcome, BroadsheetError):
            errors.add(outcome)
        else:
            values[name] = outcome
    cache.forget_except({name for _, name in found})
    loaded: dict[str, list[Any]] = {kind: [] for kind in PARSERS}
    for kind, name in found:
        if (value := values.get(name)) is not None:
            item, item_warnings = value
            loaded[kind].append(item)
            warnings.extend(item_warnings)
    if strict:
        for warning in warnings:
            errors.add(warning)
    errors.raise_if_any()
    articles = tuple(a for a in loaded["articles"] if drafts or not a.draft)
    pages = tuple(p for p in loaded["pages"] if drafts or not p.draft)
    return Content(articles, tuple(loaded["digests"]), pages, tuple(warnings))


def parse_source(
    kind: str, data: bytes, shown: Path, config: Config, digest: str | None = None
) -> Parsed | BroadsheetError:
    """Parse one file's bytes as `kind` (`digest` is their file_digest, if known); return its
    item and warnings, or its error."""
    try:
        text = decode_text(data, shown)
        document = parse_document(text, shown, digest or file_digest(data))
        return PARSERS[kind](document, config), tuple(unknown_key_warnings(document, ALLOWED[kind]))
    except BroadsheetError as exc:
        return exc


def _read_and_parse(
    kind: str, path: str, name: str, config: Config
) -> tuple[str, Parsed | BroadsheetError]:
    """Read and parse one file (in a worker process); return its content hash too."""
    try:
        data = read_bytes(path)
    except OSError as exc:
        return "", ContentError(f"cannot read file ({exc.strerror})", SourceLocation(name))
    digest = file_digest(data)
    return digest, parse_source(kind, data, Path(name), config, digest)


def _parse_changed(
    found: list[tuple[str, str]],
    root: Path,
    config: Config,
    cache: ContentCache,
    workers: int,
    meanwhile: Callable[[], None] | None,
) -> Iterator[tuple[str, Parsed | BroadsheetError]]:
    """Yield (name, parsed) for every file: from the cache when unchanged, else parsed now."""
    todo: list[tuple[str, str, str, Config]] = []
    stats: list[os.stat_result] = []
    for kind, name in found:
        path = os.path.join(root, name)
        try:
            stat = os.stat(path)
            entry = cache.lookup(name, stat) or _same_bytes(cache, name, path, stat)
        except OSError as exc:
            yield name, ContentError(f"cannot read file ({exc.strerror})", SourceLocation(name))
            continue
        if entry is not None:
            yield name, entry.value
        else:
            todo.append((kind, path, name, config))
            stats.append(stat)
    outcomes = run_parallel(_read_and_parse, todo, workers, share=True, meanwhile=meanwhile)
    for (_, _, name, _), stat, (digest, outcome) in zip(todo, stats, outcomes, strict=True):
        if not isinstance(outcome, BroadsheetError):
            cache.store(name, stat, digest, outcome)
        cache.misses += 1
        yield name, outcome


def _same_bytes(cache: ContentCache, name: str, path: str, stat: os.stat_result) -> Entry | None:
    """A cached file whose time changed but whose bytes did not (a checkout, a touch)."""
    if name not in cache.entries:
        return None
    return cache.lookup_digest(name, file_digest(read_bytes(path)), stat)


def unknown_key_warnings(document: Document, allowed: tuple[str, ...]) -> list[BroadsheetError]:
    """Return a warning for every key not in `allowed`, with a "did you mean"."""
    warnings: list[BroadsheetError] = []
    for key, line in document.lines.items():
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            where = SourceLocation(document.path, line)
            warnings.append(ContentError(f"unknown key '{key}'{suggestion}", where))
    return warnings


def parse_article(document: Document, config: Config) -> Article:
    """Validate one article's front matter and render its body."""
    f = Fields(document)
    title = f.text("title", required=True)
    published = f.check("date", lambda v: parse_date(v, config.zone), required=True)
    section = f.text("section")
    if section is not None and config.sections and section not in config.sections:
        f.fail("section", f"'section' must be one of {', '.join(config.sections)}, got {section!r}")
    slug = f.check("slug", check_slug) or slug_from_name(document.path.stem)
    f.page_url = Urls(config).article(slug) if slug else None  # relative links start there
    digest_id = f.check("digest", check_digest_id)
    if digest_id is not None and not is_digest_of_period(digest_id, config.digest_period):
        f.fail("digest", f"'digest' must be like {_digest_shape(config)}")
    article = Article(
        slug=slug or "",
        title=title or "",
        published=published or datetime.min.replace(tzinfo=config.zone),
        source=f.text("source"),
        url=f.check("url", check_url),
        author=f.text("author"),
        location=f.text("location"),
        tags=tuple(map(_tag, f.texts("tags"))),  # see taxonomy
        highlights=f.texts("highlights"),
        images=f.check("images", parse_images) or (),
        summary=f.text("summary"),
        note_html=f.markdown("note"),
        section=section,
        digest_id=digest_id,
        draft=f.check("draft", check_bool) or False,
        date_text=f.text("date_text"),
        extra=f.check("extra", check_mapping) or {},
        body_html=f.body_html(),
        path=document.path,
        lines=document.lines,
        fingerprint=document.fingerprint,
    )
    if not slug:
        f.fail(None, "cannot make a URL slug from the file name; add a 'slug' key")
    f.raise_if_any()
    return article


def parse_digest_note(document: Document, config: Config) -> DigestNote:
    """Validate an editor's digest introduction; its file name is the digest id."""
    f = Fields(document)
    digest_id = document.path.stem
    try:
        valid = is_digest_of_period(check_digest_id(digest_id) or "", config.digest_period)
    except ValueError:
        valid = False
    if not valid:
        f.fail(None, f"digest note file must be named like {_digest_shape(config, '.md')}")
    f.page_url = Urls(config).digest(digest_id) if valid else None
    note = DigestNote(
        digest_id, f.text("title"), f.body_html(), document.path, document.fingerprint
    )
    f.raise_if_any()
    return note


def parse_page(document: Document, config: Config) -> Page:
    """Validate a standalone page such as About."""
    f = Fields(document)
    slug = f.check("slug", check_slug) or slugify(document.path.stem)
    if slug in RESERVED_PAGE_SLUGS:
        f.fail("slug", f"page slug '{slug}' is reserved for the site's own pages; choose another")
    title = f.text("title", required=True) or ""
    f.page_url = Urls(config).page(slug)
    draft = f.check("draft", check_bool) or False
    page = Page(slug, title, f.body_html(), draft, document.path, document.fingerprint)
    f.raise_if_any()
    return page


PARSERS: dict[str, Callable[[Document, Config], Any]] = {
    "articles": parse_article,
    "digests": parse_digest_note,
    "pages": parse_page,
}
ALLOWED = {"articles": ARTICLE_KEYS, "digests": NOTE_KEYS, "pages": PAGE_KEYS}


@lru_cache(maxsize=4096)
def _tag(name: str) -> Tag:
    """A tag as written. One spelling for one tag however it was typed or pasted: "é" as one
    character or as "e" and an accent are the same name. (Made once per name and process: a
    site uses a few dozen tags thousands of times.)"""
    name = unicodedata.normalize("NFC", name)
    return Tag(name, slugify(name))


def _digest_shape(config: Config, suffix: str = "") -> str:
    """How a digest id looks on this site: '2025-12-02.md for daily digests'."""
    if config.digest_period == "week":
        return f"2025-W49{suffix} for weekly digests"
    return f"2025-12-02{suffix} for daily digests"
