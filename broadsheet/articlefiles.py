"""WRITE (import): the articles folder as the importer sees it, and files that never clobber.

Input: a folder of content/articles/*.md. Output: an ArticleIndex that knows which articles are
already there (same url, or same title on the same day), and new files written under the first
free name: text goes to a temporary file that is then hard-linked to `stem.md`, `stem-2.md`, ...
A link fails rather than replace an existing file, so a file written meanwhile by someone else
is never lost.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path

from broadsheet.errors import ContentError
from broadsheet.frontmatter import parse_document, read_text
from broadsheet.rawmarkdown import article_day
from broadsheet.slugs import MAX_SLUG, slug_from_name, slugify

logger = logging.getLogger(__name__)

MAX_SUFFIX = 1000  # stem-2 ... stem-999, then give up
_DATED = re.compile(r"^(\d{4}-\d{2}-\d{2}-)(.+)$")


@dataclass
class ArticleIndex:
    """Articles already in the folder, and those this run has written (or would write)."""

    by_url: dict[str, Path] = field(default_factory=dict)
    by_title: dict[tuple[str, str], Path] = field(default_factory=dict)  # (title, ISO day)
    paths: set[Path] = field(default_factory=set)  # every file name taken
    slugs: set[str] = field(default_factory=set)  # every article slug taken, whatever its date
    written: dict[Path, str] = field(default_factory=dict)  # this run's files and their text

    def find(self, title: str, day: str, url: str | None) -> Path | None:
        """Return the file that already holds this article, or None."""
        found = self.by_url.get(url) if url else None
        return found or self.by_title.get((title, day))

    def add(self, title: str, day: str, url: str | None, path: Path) -> None:
        """Record an article file."""
        if url:
            self.by_url.setdefault(url, path)
        self.by_title.setdefault((title, day), path)
        self.take(path)

    def take(self, path: Path, slug: object = None) -> None:
        """Record a file name and the slug the build will give it."""
        self.paths.add(path)
        self.slugs.add(slug if isinstance(slug, str) else slug_from_name(path.stem))

    def free_stem(self, stem: str) -> str:
        """Return `stem` with its slug made unique among the articles: the build refuses two
        articles with one slug, even on different days. A number is added within the slug's
        80 characters, where the build would otherwise cut it off."""
        day, slug = _DATED.match(stem).groups() if _DATED.match(stem) else ("", stem)
        candidate = slug
        for number in range(2, MAX_SUFFIX + 1):
            if slug_from_name(f"{day}{candidate}") == candidate and candidate not in self.slugs:
                return f"{day}{candidate}"
            suffix = f"-{number}"
            candidate = f"{slugify(slug, MAX_SLUG - len(suffix))}{suffix}"
        raise _all_taken(stem, ".md")


def load_index(folder: Path, zone: tzinfo) -> ArticleIndex:
    """Read the front matter of every *.md in `folder`; files that do not parse are skipped."""
    index = ArticleIndex()
    if not folder.is_dir():
        return index
    for path in sorted(folder.glob("*.md")):
        try:
            meta = parse_document(read_text(path), path).meta
        except ContentError as exc:
            logger.debug("not indexed: %s", exc)
            index.take(path)
            continue
        index.take(path, meta.get("slug"))
        title, url, day = meta.get("title"), meta.get("url"), _day(meta.get("date"), zone)
        if isinstance(title, str) and day:
            index.add(title, day, url if isinstance(url, str) else None, path)
        elif isinstance(url, str):
            index.by_url.setdefault(url, path)
    return index


def _day(value: object, zone: tzinfo) -> str | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return article_day(value, zone) if isinstance(value, date) else None


def free_name(folder: Path, stem: str, suffix: str, taken: set[Path]) -> Path:
    """Return the first of stem.suffix, stem-2.suffix, ... that is neither on disk nor taken."""
    for path in _names(folder, stem, suffix):
        if path not in taken and not path.exists():
            return path
    raise _all_taken(stem, suffix)


def write_new(folder: Path, stem: str, suffix: str, text: str) -> Path:
    """Write `text` under the first free name of stem.suffix, stem-2.suffix, ...; never replace."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".import-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        return _link_free(Path(temp), folder, stem, suffix)
    finally:
        Path(temp).unlink(missing_ok=True)


def move_new(source: Path, folder: Path) -> Path:
    """Move `source` into `folder` under its own name, or name-2, ...; never replace a file."""
    folder.mkdir(parents=True, exist_ok=True)
    target = _link_free(source, folder, source.stem, source.suffix)
    source.unlink()
    return target


def _link_free(existing: Path, folder: Path, stem: str, suffix: str) -> Path:
    for target in _names(folder, stem, suffix):
        try:
            os.link(existing, target)
        except FileExistsError:
            continue
        return target
    raise _all_taken(stem, suffix)


def _names(folder: Path, stem: str, suffix: str) -> Iterator[Path]:
    yield folder / f"{stem}{suffix}"
    for number in range(2, MAX_SUFFIX):
        yield folder / f"{stem}-{number}{suffix}"


def _all_taken(stem: str, suffix: str) -> FileExistsError:
    return FileExistsError(f"{stem}{suffix} and {MAX_SUFFIX - 2} numbered copies already exist")
