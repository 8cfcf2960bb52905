"""MODEL: group articles into dated digests, number them, link neighbours.

Input: articles (tags resolved), the editor's digest notes and the Config. Output: digests
newest first, each numbered from the oldest (No. 1), its articles grouped by section in the
order config.sections lists them (unsectioned last), newest first within a section.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from broadsheet.config import Config
from broadsheet.errors import BroadsheetError, ContentError, SourceLocation
from broadsheet.model import Article, Digest, DigestNote, Section


def build_digests(
    articles: Sequence[Article], notes: Sequence[DigestNote], config: Config
) -> tuple[tuple[Digest, ...], list[BroadsheetError]]:
    """Return the digests newest first, and a warning for each note without articles.

    `articles` come newest first (taxonomy sorts them), and so they stay in each digest."""
    groups: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        groups[article.digest_id or digest_id_for(article.published, config)].append(article)
    by_id = {note.id: note for note in notes}
    warnings: list[BroadsheetError] = [
        ContentError(
            f"digest {note.id} has no articles; its note is not shown", SourceLocation(note.path)
        )
        for note in notes
        if note.id not in groups
    ]
    ids = sorted(groups, key=lambda i: (period_start(i), i))
    digests = []
    for number, digest_id in enumerate(ids, start=1):
        members = groups[digest_id]  # in the order given: newest first
        note = by_id.get(digest_id)
        start = period_start(digest_id)
        end = start + timedelta(days=6) if "-W" in digest_id else start
        digests.append(
            Digest(
                id=digest_id,
                number=number,
                title=(note.title if note and note.title else default_title(start, end)),
                start=start,
                end=end,
                intro_html=note.intro_html if note else "",
                sections=_sections(members, config.sections),
                articles=tuple(members),
                prev_id=ids[number - 2] if number > 1 else None,
                next_id=ids[number] if number < len(ids) else None,
                updated=max(a.published for a in members),
            )
        )
    return tuple(reversed(digests)), warnings


def digest_id_for(moment: datetime, config: Config) -> str:
    """Return the id of the digest a moment falls in, in the site's time zone."""
    local = moment.astimezone(config.zone).date()
    if config.digest_period == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.isoformat()


def period_start(digest_id: str) -> date:
    """Return the first day of a digest id: the day itself, or the Monday of an ISO week."""
    if "-W" in digest_id:
        year, week = digest_id.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    return date.fromisoformat(digest_id)


def default_title(start: date, end: date) -> str:
    """Title a digest that has no note: 'Tuesday 2 December 2025' or a week's range."""
    if start == end:
        return f"{start:%A} {start.day} {start:%B %Y}"
    first = f"{start.day} {start:%B}" if start.year == end.year else f"{start.day} {start:%B %Y}"
    return f"Week {start.isocalendar()[1]}: {first} to {end.day} {end:%B %Y}"


def digest_index(digests: Sequence[Digest]) -> Mapping[str, str]:
    """Map every article slug to the id of the digest it appears in."""
    return {a.slug: d.id for d in digests for a in d.articles}


def _sections(articles: Sequence[Article], order: Sequence[str]) -> tuple[Section, ...]:
    grouped: dict[str | None, list[Article]] = defaultdict(list)
    for article in articles:
        grouped[article.section].append(article)
    names: list[str | None] = [name for name in order if name in grouped]
    names += sorted(n for n in grouped if n is not None and n not in order)
    if None in grouped:
        names.append(None)
    return tuple(Section(name, tuple(grouped[name])) for name in names)
