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
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from broadsheet.cache import ContentCache, Entry, cache_salt, file_digest
from broadsheet.config import Config
from broadsheet.errors import BroadsheetError, ContentError, ErrorCollector, SourceLocation
from broadsheet.frontmatter import Document, decode_text, parse_document
from broadsheet.markup import is_http_url, render_markdown
from broadsheet.model import Article, DigestNote, Image, Page, Tag
from broadsheet.parallel import run_parallel
from broadsheet.slugs import is_slug, slugify
from broadsheet.sources import list_sources

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
_DIGEST_ID = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}-W\d{2}")
_FILE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}-")


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
) -> Content:
    """Read and validate content/articles, content/digests and content/pages.

    Files unchanged since `cache` saw them are not read again; the rest are parsed, across
    `workers` processes when there are many.
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
    for name, outcome in _parse_changed(found, root, config, cache, workers):
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


def parse_source(kind: str, data: bytes, shown: Path, config: Config) -> Parsed | BroadsheetError:
    """Parse one file's bytes as `kind`; return its item and warnings, or its error."""
    try:
        text = decode_text(data, shown)
        document = parse_document(text, shown, file_digest(data))
        return PARSERS[kind](document, config), tuple(unknown_key_warnings(document, ALLOWED[kind]))
    except BroadsheetError as exc:
        return exc


def _read_and_parse(
    kind: str, path: str, name: str, config: Config
) -> tuple[str, Parsed | BroadsheetError]:
    """Read and parse one file (in a worker process); return its content hash too."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return "", ContentError(f"cannot read file ({exc.strerror})", SourceLocation(name))
    return file_digest(data), parse_source(kind, data, Path(name), config)


def _parse_changed(
    found: list[tuple[str, str]], root: Path, config: Config, cache: ContentCache, workers: int
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
    outcomes = run_parallel(_read_and_parse, todo, workers, share=True)
    for (_, _, name, _), stat, (digest, outcome) in zip(todo, stats, outcomes, strict=True):
        if not isinstance(outcome, BroadsheetError):
            cache.store(name, stat, digest, outcome)
        cache.misses += 1
        yield name, outcome


def _same_bytes(cache: ContentCache, name: str, path: str, stat: os.stat_result) -> Entry | None:
    """A cached file whose time changed but whose bytes did not (a checkout, a touch)."""
    if name not in cache.entries:
        return None
    with open(path, "rb") as handle:
        return cache.lookup_digest(name, file_digest(handle.read()), stat)


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
    f = _Fields(document)
    title = f.text("title", required=True)
    published = f.check("date", lambda v: _parse_date(v, config.zone), required=True)
    section = f.text("section")
    if section is not None and config.sections and section not in config.sections:
        f.fail("section", f"'section' must be one of {', '.join(config.sections)}, got {section!r}")
    slug = f.check("slug", _check_slug) or _slug_from_name(document.path)
    article = Article(
        slug=slug or "",
        title=title or "",
        published=published or datetime.min.replace(tzinfo=config.zone),
        source=f.text("source"),
        url=f.check("url", _check_url),
        author=f.text("author"),
        location=f.text("location"),
        tags=tuple(Tag(name, slugify(name)) for name in f.texts("tags")),  # resolved by taxonomy
        highlights=f.texts("highlights"),
        images=f.check("images", _parse_images) or (),
        summary=f.text("summary"),
        note_html=f.markdown("note"),
        section=section,
        digest_id=f.check("digest", _check_digest_id),
        draft=f.check("draft", _check_bool) or False,
        date_text=f.text("date_text"),
        extra=f.check("extra", _check_mapping) or {},
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
    f = _Fields(document)
    digest_id = document.path.stem
    if _check_digest_id(digest_id) is None or (
        ("-W" in digest_id) != (config.digest_period == "week")
    ):
        example = "2025-W49" if config.digest_period == "week" else "2025-12-02"
        f.fail(
            None,
            f"digest note file must be named like {example}.md for {config.digest_period}ly digests",
        )
    note = DigestNote(
        digest_id, f.text("title"), f.body_html(), document.path, document.fingerprint
    )
    f.raise_if_any()
    return note


def parse_page(document: Document, config: Config) -> Page:
    """Validate a standalone page such as About."""
    f = _Fields(document)
    slug = f.check("slug", _check_slug) or slugify(document.path.stem)
    if slug in RESERVED_PAGE_SLUGS:
        f.fail("slug", f"page slug '{slug}' is reserved for the site's own pages; choose another")
    title = f.text("title", required=True) or ""
    draft = f.check("draft", _check_bool) or False
    page = Page(slug, title, f.body_html(), draft, document.path, document.fingerprint)
    f.raise_if_any()
    return page


PARSERS: dict[str, Callable[[Document, Config], Any]] = {
    "articles": parse_article,
    "digests": parse_digest_note,
    "pages": parse_page,
}
ALLOWED = {"articles": ARTICLE_KEYS, "digests": NOTE_KEYS, "pages": PAGE_KEYS}


class _Fields:
    """Read typed values out of one document, collecting an error per bad key."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.errors = ErrorCollector()

    def fail(self, key: str | None, message: str) -> None:
        """Record an error at the line of `key` (or the first line)."""
        line = self.document.lines.get(key, 1) if key else 1
        self.errors.add(ContentError(message, SourceLocation(self.document.path, line)))

    def check(self, key: str, convert: Callable[[Any], T], required: bool = False) -> T | None:
        """Return the converted value of `key`, or None when absent or invalid."""
        if key not in self.document.meta or self.document.meta[key] is None:
            if required:
                self.fail(None, f"'{key}' is required")
            return None
        try:
            return convert(self.document.meta[key])
        except ValueError as exc:
            self.fail(key, f"'{key}' {exc}")
            return None

    def text(self, key: str, required: bool = False) -> str | None:
        """Return a text value; `title: no` or `title: 2024` is an error, not a bool or int."""
        value = self.check(key, _check_text, required)
        if value is not None and not value.strip():
            if required:
                self.fail(key, f"'{key}' must not be empty")
            return None
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        """Return a list of text values as a tuple."""
        return self.check(key, _check_texts) or ()

    def markdown(self, key: str) -> str | None:
        """Return a text value rendered as Markdown."""
        value = self.text(key)
        return self._render(value, self.document.lines.get(key, 1)) if value else None

    def body_html(self) -> str:
        """Return the document's body rendered as Markdown."""
        return self._render(self.document.body, self.document.body_line)

    def _render(self, text: str, line: int) -> str:
        try:
            return render_markdown(text)
        except ValueError as exc:
            where = SourceLocation(self.document.path, line + getattr(exc, "line", 0))
            self.errors.add(ContentError(str(exc), where))
            return ""

    def raise_if_any(self) -> None:
        """Raise every error found in this document."""
        self.errors.raise_if_any()


def _describe(value: Any) -> str:
    kinds = {
        bool: "yes/no",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
    }
    kind = next((name for t, name in kinds.items() if isinstance(value, t)), type(value).__name__)
    return f"{kind}: {value!r}" if not isinstance(value, list | dict) else kind


def _check_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {_describe(value)} (put it in quotes)")
    return value.strip()


def _check_texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"must be a list of text, got {_describe(value)}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"must be a list of text, got an item that is {_describe(item)}")
    return tuple(item.strip() for item in value)


def _check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {_describe(value)}")
    return value


def _check_mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"must be a mapping of 'key: value' lines, got {_describe(value)}")
    return value


def _check_url(value: Any) -> str:
    url = _check_text(value)
    if not is_http_url(url):
        raise ValueError(f"must be an http(s) URL, got {url!r}")
    return url


def _check_slug(value: Any) -> str:
    slug = _check_text(value)
    if not is_slug(slug):
        raise ValueError(
            f"must be lowercase letters, digits and hyphens (at most 80), got {slug!r}"
        )
    return slug


def _check_digest_id(value: Any) -> str | None:
    text = str(value) if isinstance(value, date) else _check_text(value)
    if not _DIGEST_ID.fullmatch(text):
        raise ValueError(f"must be a digest id like 2025-12-02 or 2025-W49, got {text!r}")
    return text


def _parse_images(value: Any) -> tuple[Image, ...]:
    if not isinstance(value, list):
        raise ValueError(f"must be a list of {{caption, credit}} entries, got {_describe(value)}")
    images = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"caption", "credit"}:
            raise ValueError("entries must have only 'caption' and 'credit'")
        caption, credit = item.get("caption"), item.get("credit")
        if not isinstance(caption, str) or not (credit is None or isinstance(credit, str)):
            raise ValueError("'caption' and 'credit' must be text")
        images.append(Image(caption.strip(), credit.strip() if credit else None))
    return tuple(images)


def _parse_date(value: Any, zone: ZoneInfo) -> datetime:
    """Accept a date, a datetime (naive means the site's zone) or the same as ISO text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"must look like 2025-12-02 or 2025-12-02T09:30:00+00:00, got {value!r}"
            ) from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), zone)
    raise ValueError(f"must look like 2025-12-02, got {_describe(value)}")


def _slug_from_name(path: Path) -> str:
    return slugify(_FILE_DATE.sub("", path.stem))
