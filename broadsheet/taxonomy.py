"""MODEL: merge the tags written on articles into one Tag per slug.

Input: articles whose tags carry only their names. Output: the same articles with resolved
Tag objects, every tag sorted by slug, and each tag's articles newest first. Names that differ
only in case or spacing ("AI", "ai ") are one tag; different names that make the same slug
("C++" and "C") are an error naming both files.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from broadsheet.errors import ContentError, ErrorCollector, SourceLocation
from broadsheet.model import Article, Tag
from broadsheet.slugs import slugify as _slugify


@dataclass(frozen=True)
class Taxonomy:
    """Tags resolved across the whole site."""

    articles: tuple[Article, ...]  # newest first, with resolved tags
    tags: tuple[Tag, ...]  # sorted by slug
    tag_articles: Mapping[str, tuple[Article, ...]]  # tag slug -> articles, newest first


def build_taxonomy(articles: Sequence[Article]) -> Taxonomy:
    """Resolve every article's tags; raise one error per colliding or unusable tag."""
    errors = ErrorCollector()
    spellings: dict[str, Counter[str]] = defaultdict(Counter)  # slug -> names as written
    owners: dict[str, dict[str, tuple[str, Article]]] = defaultdict(dict)  # slug -> normal -> user
    for article in articles:
        for tag in article.tags:
            slug = slugify(tag.name)
            if not slug:
                message = f"tag {tag.name!r} has no letters or digits to make a URL from"
                errors.add(ContentError(message, _tags_line(article)))
                continue
            owners[slug].setdefault(tag_key(tag.name), (tag.name, article))
            spellings[slug][tag.name] += 1
    for slug, users in owners.items():
        (first_name, first), *others = users.values()
        for name, article in others:
            message = (
                f"tag {name!r} and tag {first_name!r} (in {first.path}) both make the URL slug"
                f" '{slug}'; spell them the same or rename one"
            )
            errors.add(ContentError(message, _tags_line(article)))
    errors.raise_if_any()
    tags = {slug: Tag(_preferred(names), slug) for slug, names in spellings.items()}
    resolved = sorted((_resolve(article, tags) for article in articles), key=newest_first)
    tag_articles: dict[str, list[Article]] = defaultdict(list)
    for article in resolved:
        for tag in article.tags:
            tag_articles[tag.slug].append(article)
    return Taxonomy(
        tuple(resolved),
        tuple(tags[slug] for slug in sorted(tags)),
        {slug: tuple(items) for slug, items in sorted(tag_articles.items())},
    )


@lru_cache(maxsize=4096)
def slugify(name: str) -> str:
    """Tag names repeat across thousands of articles: slugify each once."""
    return _slugify(name)


def newest_first(article: Article) -> tuple[float, str]:
    """Sort key: newest article first, then by slug for a stable order."""
    return (-article.published.timestamp(), article.slug)


def _tags_line(article: Article) -> SourceLocation:
    return SourceLocation(article.path, article.lines.get("tags"))


def tag_key(name: str) -> str:
    """What two spellings of one tag share: "AI" and "ai " are one tag, "C++" and "C" are not."""
    return " ".join(name.split()).casefold()


def _preferred(names: Counter[str]) -> str:
    """The most used spelling; on a tie, the first in sorted order, so builds are stable."""
    return min(names, key=lambda name: (-names[name], name))


def _resolve(article: Article, tags: Mapping[str, Tag]) -> Article:
    """The article with each tag spelled as the site spells it, once; itself if it already is."""
    seen: dict[str, Tag] = {}
    for tag in article.tags:
        slug = slugify(tag.name)
        seen.setdefault(slug, tags[slug])
    resolved = tuple(seen.values())
    return article if resolved == article.tags else replace(article, tags=resolved)
