"""The types every stage passes along: dataclasses only, no behaviour beyond small views."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from broadsheet.config import Config


@dataclass(frozen=True)
class Tag:
    """A topic label; articles with tags of the same slug share one tag page."""

    name: str  # as first written, e.g. "Ukraine"
    slug: str  # url-safe, [a-z0-9-]+


@dataclass(frozen=True)
class Image:
    """A photo the source showed: we keep its caption and credit, never the picture."""

    caption: str
    credit: str | None = None  # e.g. "AFP"


@dataclass(frozen=True)
class Article:
    """One curated news item: the source's text plus our metadata."""

    slug: str  # url-safe, [a-z0-9-]+
    title: str
    published: datetime  # aware; the source's date, in the site's time zone
    source: str | None  # publication name, e.g. "Arab News"
    url: str | None  # original article, http(s) only
    author: str | None
    location: str | None  # the dateline, e.g. "Moscow"
    tags: tuple[Tag, ...]
    highlights: tuple[str, ...]  # the source's bullet points
    images: tuple[Image, ...]
    summary: str | None  # plain text, for listings, feeds and meta description
    note_html: str | None  # the curator's comment, rendered Markdown
    section: str | None  # one of config.sections, or None
    digest_id: str | None  # override of the digest it belongs to, e.g. "2025-12-02"
    draft: bool
    date_text: str | None  # the source's own wording of the date, e.g. "3 sec ago"
    extra: Mapping[str, Any]  # anything custom, passed to templates as it is
    body_html: str  # rendered Markdown
    path: Path  # source file, for error messages
    lines: Mapping[str, int]  # front matter key -> line in the file, for later errors
    fingerprint: str  # hash of the source file's bytes: changes whenever the file does


@dataclass(frozen=True)
class DigestNote:
    """The editor's optional title and introduction for one digest."""

    id: str  # "2025-12-02" or "2025-W49"
    title: str | None
    intro_html: str  # rendered Markdown, may be empty
    path: Path
    fingerprint: str  # hash of the source file's bytes


@dataclass(frozen=True)
class Page:
    """A standalone page such as About, served at /<slug>/."""

    slug: str
    title: str
    body_html: str
    draft: bool
    path: Path
    fingerprint: str  # hash of the source file's bytes


@dataclass(frozen=True)
class Section:
    """The articles of one digest that share a section, newest first."""

    name: str | None  # None for articles without a section
    articles: tuple[Article, ...]


@dataclass(frozen=True)
class Digest:
    """The articles of one period (a day or an ISO week), numbered from the oldest."""

    id: str  # "2025-12-02" or "2025-W49"
    number: int  # 1 for the oldest digest
    title: str  # the note's title, or one made from the dates
    start: date  # first day of the period
    end: date  # last day of the period (same as start for daily digests)
    intro_html: str  # from the DigestNote, may be empty
    sections: tuple[Section, ...]  # in config order, unsectioned last
    articles: tuple[Article, ...]  # every article, newest first
    prev_id: str | None  # the older neighbour
    next_id: str | None  # the newer neighbour
    updated: datetime  # newest article's date, for feeds


@dataclass(frozen=True)
class Site:
    """Everything the renderer needs, fully validated and cross-linked."""

    config: Config
    articles: tuple[Article, ...]  # newest first
    digests: tuple[Digest, ...]  # newest first
    tags: tuple[Tag, ...]  # sorted by slug
    pages: tuple[Page, ...]
    tag_articles: Mapping[str, tuple[Article, ...]]  # tag slug -> articles, newest first
    digest_of: Mapping[str, str]  # article slug -> digest id
    digests_by_id: Mapping[str, Digest]  # digest id -> digest
    updated: datetime  # newest content date: the site's "generated at"

    def digest(self, digest_id: str | None) -> Digest | None:
        """Return the digest with this id, or None."""
        return self.digests_by_id.get(digest_id) if digest_id else None


@dataclass(frozen=True)
class Output:
    """One file of the built site."""

    path: str  # relative to the output folder, e.g. articles/x/index.html (urls.safe_output_path)
    data: bytes | None  # None: the previous build's file is still right, keep it
    key: str = ""  # changes whenever anything the file is made from changes


@dataclass(frozen=True)
class Recipe:
    """How to make one output file, and a key that changes whenever its inputs do."""

    path: str  # relative to the output folder, proven safe by urls.safe_output_path
    key: str  # see deps.py
    make: Callable[[], bytes]  # renders the file; not called when the key is unchanged
    inputs: tuple[str, tuple[Any, ...]] | None = None  # a page's template and key parts
    # Its cost, in about as many article pages (a listing counts what it lists, a feed its
    # entries): parallel rendering hands out the costly first.
    weight: int = 1


@dataclass(frozen=True)
class BuildContext:
    """What one build run was asked to do."""

    root: Path  # the project folder
    config: Config
    drafts: bool = False  # include drafts
    strict: bool = False  # warnings are errors
    output: Path | None = None  # output folder; None means root / config.output_dir
    workers: int = 1  # processes for parsing and rendering many files
    use_cache: bool = True  # keep parsed files in .cache/ between builds
    private_output: bool = False  # no one else touches the output (serve's): trust its manifest
    daemon: bool = False  # leave a build daemon holding this build's plan (daemon.py)
