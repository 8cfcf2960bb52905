"""Turn titles and tag names into url-safe slugs: ASCII, [a-z0-9-], cut at a word."""

from __future__ import annotations

import re
import unicodedata

MAX_SLUG = 80
# Letters that Unicode does not decompose into an ASCII base letter.
_SPELLED = str.maketrans(
    {
        "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th",
        "ı": "i", "&": " and ", "'": "", "\u2019": "",
    }
)  # fmt: skip
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_FILE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}-")
SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def slugify(text: str, max_length: int = MAX_SLUG) -> str:
    """Return `text` as a slug, or "" when nothing of it is ASCII-representable."""
    ascii_text = (
        unicodedata.normalize("NFKD", text.translate(_SPELLED))
        .encode("ascii", "ignore")
        .decode("ascii")
        .lower()
    )
    slug = _NOT_SLUG.sub("-", ascii_text).strip("-")
    if len(slug) > max_length:
        cut = slug[: max_length + 1].rfind("-")
        slug = slug[: cut if cut > 0 else max_length].strip("-")
    return slug


def is_slug(text: str) -> bool:
    """Tell whether `text` is already a valid slug."""
    return len(text) <= MAX_SLUG and SLUG_RE.fullmatch(text) is not None


def slug_from_name(stem: str) -> str:
    """The slug of an article without a `slug` key: its file name without the date."""
    return slugify(_FILE_DATE.sub("", stem))
