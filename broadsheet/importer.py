"""IMPORT: copied news text files -> content/articles/<date>-<slug>.md, never overwriting.

inbox text -parse_raw-> [RawArticle] -to_markdown-> content/articles/<date>-<slug>.md

Input: text files (or stdin) and ImportOptions. Output: an ImportReport of the files written,
the articles found already imported, warnings and errors. Every input is read and converted
before its files are written; a bad input is an error naming it, and the others still import.
Files are written to a temporary name and linked into place, so nothing is ever replaced.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from broadsheet.articlefiles import ArticleIndex, free_name, load_index, move_new, write_new
from broadsheet.config import Config, load_config
from broadsheet.errors import (
    BroadsheetError,
    ConfigError,
    ContentError,
    ImportFailure,
    SourceLocation,
)
from broadsheet.frontmatter import parse_document
from broadsheet.markup import render_markdown
from broadsheet.rawinput import inbox_files, read_input, shown_path
from broadsheet.rawmarkdown import article_day, article_stem, suggest_tags, to_markdown
from broadsheet.rawtext import RawArticle, parse_raw
from broadsheet.slugs import slugify
from broadsheet.taxonomy import tag_key

logger = logging.getLogger(__name__)

INBOX = "content/inbox"
ARTICLES = "content/articles"
_ONE_URL = "--url names one article, but {}; import them one at a time"


@dataclass(frozen=True)
class ImportOptions:
    """What one import was asked to do."""

    captured: datetime | None  # aware; when the text was copied; None = file mtime (stdin: now)
    source: str | None  # publication name for every article, e.g. "Arab News"
    url: str | None  # the original article, http(s); only for a single article
    tags: tuple[str, ...]  # added to the suggested tags
    dry_run: bool  # report what would be written, write nothing
    into: Path  # folder for the .md files


@dataclass(frozen=True)
class ImportReport:
    """What an import did; paths are relative to the project root when inside it."""

    written: tuple[Path, ...]  # files written (or that would be, in a dry run)
    already: tuple[tuple[Path, Path], ...]  # (input, existing file) skipped as already imported
    warnings: tuple[BroadsheetError, ...]  # uncertain things, each naming input file and line
    errors: tuple[BroadsheetError, ...]  # failed inputs; their files were not written
    dry_run: bool = False  # nothing was written


@dataclass
class _Batch:
    """What the inputs of one run have produced so far (private, filled in input order)."""

    written: list[Path] = field(default_factory=list)
    already: list[tuple[Path, Path]] = field(default_factory=list)
    warnings: list[BroadsheetError] = field(default_factory=list)
    errors: list[BroadsheetError] = field(default_factory=list)

    def report(self, dry_run: bool) -> ImportReport:
        return ImportReport(
            tuple(self.written),
            tuple(self.already),
            tuple(self.warnings),
            tuple(self.errors),
            dry_run,
        )


def import_files(
    inputs: Sequence[Path],
    options: ImportOptions,
    config: Config,
    root: Path,
    stdin: TextIO | None = None,
) -> ImportReport:
    """Import each input (`-` is stdin); a bad input is reported in `errors`, never raised."""
    batch = _Batch()
    if options.url and len(inputs) > 1:
        batch.errors.append(ImportFailure(_ONE_URL.format(f"{len(inputs)} files were given")))
        return batch.report(options.dry_run)
    index = load_index(options.into, config.zone)
    for path in inputs:
        _import_one(path, options, config, root, stdin, index, batch)
    logger.info("imported %d articles from %d files", len(batch.written), len(inputs))
    return batch.report(options.dry_run)


def import_inbox(root: Path, config: Config, captured_now: datetime | None = None) -> ImportReport:
    """Import every text file in content/inbox/ and move each imported one to content/inbox/done/.

    A file that fails stays in the inbox, its error in the report. `captured_now`, when given,
    is the capture time of every file; otherwise each file's modification time is.
    """
    inbox = root / INBOX
    files, warnings = inbox_files(inbox, root)
    batch = _Batch(warnings=warnings)
    if not files:  # the usual case on every build: do not read the articles folder
        return batch.report(dry_run=False)
    options = ImportOptions(captured_now, None, None, (), False, root / ARTICLES)
    index = load_index(options.into, config.zone)
    for path in files:
        if not _import_one(path, options, config, root, None, index, batch):
            continue
        try:
            move_new(path, inbox / "done")
        except OSError as exc:
            message = f"imported, but not moved to {INBOX}/done/ ({exc.strerror or exc})"
            batch.errors.append(ImportFailure(message, SourceLocation(shown_path(path, root))))
    logger.info("inbox: imported %d articles from %d files", len(batch.written), len(files))
    return batch.report(dry_run=False)


def _import_one(
    path: Path,
    options: ImportOptions,
    config: Config,
    root: Path,
    stdin: TextIO | None,
    index: ArticleIndex,
    batch: _Batch,
) -> bool:
    """Import one input into `batch`; tell whether all its articles are now in place."""
    shown = shown_path(path, root)
    try:
        articles, warnings = _convert(path, shown, options, config, stdin)
    except BroadsheetError as exc:
        batch.errors.append(exc)
        return False
    before = len(batch.written)
    for article, text in articles:
        day = article_day(article.date, config.zone)
        existing = index.find(article.title, day, options.url)
        if existing is not None and index.written.get(existing, text) != text:
            message = (
                f"same title and day as the article just written to {shown_path(existing, root)},"
                " but other text: written as an article of its own"
            )  # a live page copied twice, say: both are kept
            warnings += (BroadsheetError(message, SourceLocation(shown, article.line)),)
            existing = None
        if existing is not None:
            batch.already.append((shown, shown_path(existing, root)))
            continue
        try:
            stem = index.free_stem(article_stem(article, config.zone))
            target = _place(options, stem, text, index)
        except OSError as exc:
            folder = shown_path(options.into, root)
            message = f"cannot write the article into {folder} ({exc.strerror or exc})"
            batch.errors.append(ImportFailure(message, SourceLocation(shown, article.line)))
            return False
        index.add(article.title, day, options.url, target)
        index.written[target] = text
        batch.written.append(shown_path(target, root))
    if len(batch.written) > before:  # an input already imported has nothing new to say
        batch.warnings.extend(warnings)
    return True


def _convert(
    path: Path, shown: Path, options: ImportOptions, config: Config, stdin: TextIO | None
) -> tuple[list[tuple[RawArticle, str]], tuple[BroadsheetError, ...]]:
    """Read and convert one input completely, before anything of it is written."""
    text, captured = read_input(path, shown, options.captured, config.zone, stdin)
    if not text.strip():
        raise ImportFailure(
            "file is empty" if not text else "file holds only blank lines", SourceLocation(shown)
        )
    if _is_article_file(text, shown):
        raise ImportFailure(
            "already an article with front matter; move it to content/articles/ instead of "
            "importing it",
            SourceLocation(shown, 1),
        )
    raw = parse_raw(text, shown, captured, config.zone)
    if options.url and len(raw.articles) > 1:
        held = f"the file holds {len(raw.articles)}"
        raise ImportFailure(_ONE_URL.format(held), SourceLocation(shown))
    converted = []
    for article in raw.articles:
        tags = suggest_tags(article, config.tag_vocabulary, options.tags)
        markdown = to_markdown(article, options.source, options.url, tags)
        _check_reads_back(markdown, article, shown)
        converted.append((article, markdown))
    return converted, raw.warnings


def _is_article_file(text: str, shown: Path) -> bool:
    """Tell whether `text` is a finished article (front matter with a title), not copied text."""
    if not text.startswith("---"):
        return False
    try:
        return "title" in parse_document(text, shown).meta
    except ContentError:
        return False


def _check_reads_back(markdown: str, article: RawArticle, shown: Path) -> None:
    """Refuse to write a file the build would not read back as it was meant."""
    where = SourceLocation(shown, article.line)
    try:
        document = parse_document(markdown, shown)
    except ContentError as exc:
        raise ImportFailure(
            f"the article's front matter does not read back ({exc.message})", where
        ) from exc
    try:
        render_markdown(document.body)
    except ValueError as exc:  # too large or too deep for the build to render
        raise ImportFailure(f"the article's text would not build ({exc})", where) from exc
    meta = document.meta
    if meta.get("title") != article.title:
        raise ImportFailure("the article's title does not read back as written", where)


def _place(options: ImportOptions, stem: str, text: str, index: ArticleIndex) -> Path:
    """Write the article under a free name; in a dry run only choose the name."""
    if options.dry_run:
        return free_name(options.into, stem, ".md", index.paths)
    return write_new(options.into, stem, ".md", text)


def format_report(report: ImportReport) -> list[str]:
    """Return the report as lines for the terminal: written files, skips, warnings, errors."""
    verb = "would write" if report.dry_run else "wrote"
    lines = [f"{verb} {path}" for path in report.written]
    lines += [f"{source}: already imported as {existing}" for source, existing in report.already]
    for warning in report.warnings:
        where = f"{warning.location}: " if warning.location else ""
        lines.append(f"{where}warning: {warning.message}")
    lines += [str(error) for error in report.errors]
    return lines


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `import` command's arguments to its parser."""
    parser.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="copied text; - reads standard input"
    )
    parser.add_argument(
        "--captured",
        metavar="DATETIME",
        help="when the text was copied, ISO 8601 (default: the file's time)",
    )
    parser.add_argument("--source", metavar="NAME", help="the publication, e.g. 'Arab News'")
    parser.add_argument("--url", metavar="URL", help="the original article (one article only)")
    parser.add_argument(
        "--tag",
        action="append",
        default=[],
        dest="tags",
        metavar="TAG",
        help="add a tag (repeatable)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show the files it would write, write nothing"
    )
    parser.add_argument(
        "--into",
        metavar="DIR",
        default=ARTICLES,
        help=f"folder for the articles (default: {ARTICLES})",
    )


def options_from_args(
    args: argparse.Namespace, root: Path, config: Config | None = None
) -> ImportOptions:
    """Check the parsed arguments into ImportOptions; a bad value raises ConfigError (exit 2)."""
    zone = (config or load_config(root)).zone
    url = _check_url(args.url)
    if url and len(args.files) > 1:
        raise ConfigError(_ONE_URL.format(f"{len(args.files)} files were given"))
    into = root / args.into
    if into.exists() and not into.is_dir():
        raise ConfigError(f"--into must be a folder, got {args.into!r}")
    return ImportOptions(
        captured=_check_captured(args.captured, zone),
        source=_check_word("--source", args.source),
        url=url,
        tags=_check_tags(args.tags),
        dry_run=args.dry_run,
        into=into,
    )


def _check_tags(values: list[str]) -> tuple[str, ...]:
    """--tag values the build will accept: each makes a URL slug, and no two different names
    make the same one (the build's rules, taxonomy.py)."""
    tags = tuple(str(_check_word("--tag", value)) for value in values)
    seen: dict[str, str] = {}
    for tag in tags:
        slug = slugify(tag)
        if not slug:
            raise ConfigError(f"--tag {tag!r} has no letters or digits to make a URL from")
        other = seen.setdefault(slug, tag)
        if tag_key(other) != tag_key(tag):
            raise ConfigError(f"--tag {tag!r} and --tag {other!r} both make the URL slug {slug!r}")
    return tags


def _check_captured(value: str | None, zone: tzinfo) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ConfigError(
            f"--captured must be a date and time such as 2025-12-02T12:00:00+00:00, got {value!r}"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _check_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(ch.isspace() for ch in value.strip())
    ):
        raise ConfigError(
            f"--url must be an http(s) address such as https://example.org/news/1, got {value!r}"
        )
    return value.strip()


def _check_word(flag: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip() or any(ch < " " for ch in value):
        raise ConfigError(f"{flag} must be a non-empty name on one line, got {value!r}")
    return value.strip()
