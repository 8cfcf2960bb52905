"""RENDER (import): a RawArticle -> the text of a content/articles/*.md file.

Input: a RawArticle plus the curator's source, url and tags. Output: YAML front matter written
with a safe dumper in a fixed key order, then the body as Markdown in which every character
Markdown would interpret is escaped, so each paragraph renders exactly as it was written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any

import yaml

from broadsheet.rawtext import RawArticle
from broadsheet.slugs import slugify

FALLBACK_SLUG = "article"
_YAML_WIDTH = 4096  # long highlights stay on one line
_INLINE = re.compile(r"([\\`*_\[\]<>~|])")  # escaped wherever they stand
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")  # "&amp;" would become "&"
_LINE_START = re.compile(r"[#+=-]|(\d{1,9})([.)])")  # a heading, list item or rule
_TRAILING_HASHES = re.compile(r"(\s)(#+)$")  # would close a "## heading #"
_REPEATED_IN_BODY = 2  # mentions of a tag's word in the body that suggest the tag


_LINE_BREAKS = re.compile(
    "[\x85\u2028\u2029]"
)  # PyYAML would write these raw and read them back wrong


class _Dumper(yaml.SafeDumper):
    """The safe dumper, writing datetimes as ISO 8601 with a "T" as the build expects, and
    strings holding Unicode line breaks double-quoted, where they are escaped."""


_Dumper.add_representer(
    datetime,
    lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:timestamp", value.isoformat()),
)
_Dumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style='"' if _LINE_BREAKS.search(value) else None
    ),
)


def to_markdown(
    article: RawArticle, source: str | None, url: str | None, tags: tuple[str, ...]
) -> str:
    """Return the article as a Markdown file: front matter, then the escaped body."""
    meta: dict[str, Any] = {
        "title": article.title,
        "date": article.date,
        "date_text": article.date_text,
        "source": source,
        "url": url,
        "author": article.author,
        "location": article.location,
        "tags": list(tags),
        "highlights": list(article.highlights),
        "images": [_image(image.caption, image.credit) for image in article.images],
    }
    kept = {key: value for key, value in meta.items() if value not in (None, [])}
    front = yaml.dump(kept, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=_YAML_WIDTH)
    blocks = [
        "## " + escape_markdown(block.text) if block.kind == "h" else escape_markdown(block.text)
        for block in article.body
    ]
    return f"---\n{front}---\n\n" + "\n\n".join(blocks) + "\n"


def _image(caption: str, credit: str | None) -> dict[str, str]:
    return {"caption": caption, "credit": credit} if credit else {"caption": caption}


def escape_markdown(text: str) -> str:
    """Escape one line of plain text so that CommonMark renders it exactly as written."""
    text = _ENTITY.sub(r"\\&", _INLINE.sub(r"\\\1", text.strip()))
    text = _TRAILING_HASHES.sub(lambda m: m[1] + "\\#" * len(m[2]), text)
    start = _LINE_START.match(text)
    if start is None:
        return text
    if start[1]:
        return f"{start[1]}\\{start[2]}{text[start.end() :]}"
    return "\\" + text


def suggest_tags(
    article: RawArticle, vocabulary: Mapping[str, tuple[str, ...]], extra: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Return the vocabulary tags the article's words signal, then `extra`, without repeats.

    A tag is signalled by one of its words in the title or highlights, or repeated in the body.
    Words with a capital letter match as written; lower-case words match in any case.
    """
    lead = "\n".join((article.title, *article.highlights))
    body = "\n".join(block.text for block in article.body)
    found = [
        tag
        for tag, words in vocabulary.items()
        if any(_count(word, lead) or _count(word, body) >= _REPEATED_IN_BODY for word in words)
    ]
    return tuple(dict.fromkeys([*found, *extra]))


def _count(word: str, text: str) -> int:
    flags = 0 if any(ch.isupper() for ch in word) else re.IGNORECASE
    return len(re.findall(rf"(?<!\w){re.escape(word.strip())}(?!\w)", text, flags))


def article_stem(article: RawArticle, zone: tzinfo) -> str:
    """Return the file name without suffix: `YYYY-MM-DD-<slug>`, the day in the site's zone."""
    return f"{article_day(article.date, zone)}-{slugify(article.title) or FALLBACK_SLUG}"


def article_day(value: date | datetime, zone: tzinfo) -> str:
    """Return the ISO day of a front matter date, a datetime counted in the site's zone."""
    if isinstance(value, datetime):
        return value.astimezone(zone).date().isoformat()
    return value.isoformat()
