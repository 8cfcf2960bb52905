"""Typed reads of front matter values: each bad value becomes one error at its key's line.

Used by content.py's parse_* functions. A text field given `no` or `2024` is an error (YAML read
it as a bool or a number), never silently converted; URLs must be http(s); dates may be dates,
datetimes or the same as ISO text, a naive time being in the site's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from broadsheet.errors import ContentError, ErrorCollector, SourceLocation
from broadsheet.frontmatter import Document
from broadsheet.markup import is_http_url, render_markdown
from broadsheet.model import Image
from broadsheet.slugs import is_slug

T = TypeVar("T")
DIGEST_ID = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}-W\d{2}")


class Fields:
    """Read typed values out of one document, collecting an error per bad key."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.page_url: str | None = None  # the page its Markdown's relative links start from
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
        value = self.check(key, check_text, required)
        if value is not None and not value.strip():
            if required:
                self.fail(key, f"'{key}' must not be empty")
            return None
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        """Return a list of text values as a tuple."""
        return self.check(key, check_texts) or ()

    def markdown(self, key: str) -> str | None:
        """Return a text value rendered as Markdown."""
        value = self.text(key)
        return self._render(value, self.document.lines.get(key, 1)) if value else None

    def body_html(self) -> str:
        """Return the document's body rendered as Markdown."""
        return self._render(self.document.body, self.document.body_line)

    def _render(self, text: str, line: int) -> str:
        try:
            return render_markdown(text, self.page_url)
        except ValueError as exc:
            where = SourceLocation(self.document.path, line + getattr(exc, "line", 0))
            self.errors.add(ContentError(str(exc), where))
            return ""

    def raise_if_any(self) -> None:
        """Raise every error found in this document."""
        self.errors.raise_if_any()


def describe(value: Any) -> str:
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


def check_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {describe(value)} (put it in quotes)")
    return value.strip()


def check_texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"must be a list of text, got {describe(value)}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"must be a list of text, got an item that is {describe(item)}")
    return tuple(item.strip() for item in value)


def check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {describe(value)}")
    return value


def check_mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"must be a mapping of 'key: value' lines, got {describe(value)}")
    return value


def check_url(value: Any) -> str:
    url = check_text(value)
    if not is_http_url(url):
        raise ValueError(f"must be an http(s) URL, got {url!r}")
    return url


def check_slug(value: Any) -> str:
    slug = check_text(value)
    if not is_slug(slug):
        raise ValueError(
            f"must be lowercase letters, digits and hyphens (at most 80), got {slug!r}"
        )
    return slug


def check_digest_id(value: Any) -> str | None:
    """A digest id naming a real day (2025-12-02) or ISO week (2025-W49)."""
    text = str(value) if isinstance(value, date) else check_text(value)
    if not DIGEST_ID.fullmatch(text):
        raise ValueError(f"must be a digest id like 2025-12-02 or 2025-W49, got {text!r}")
    try:
        if "-W" in text:
            year, week = text.split("-W")
            date.fromisocalendar(int(year), int(week), 1)
        else:
            date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"must name a real day or ISO week, got {text!r}") from None
    return text


def is_digest_of_period(digest_id: str, period: str) -> bool:
    """Tell whether a digest id is a week's on a weekly site, a day's on a daily one."""
    return ("-W" in digest_id) == (period == "week")


def parse_images(value: Any) -> tuple[Image, ...]:
    if not isinstance(value, list):
        raise ValueError(f"must be a list of {{caption, credit}} entries, got {describe(value)}")
    images = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"caption", "credit"}:
            raise ValueError("entries must have only 'caption' and 'credit'")
        caption, credit = item.get("caption"), item.get("credit")
        if not isinstance(caption, str) or not (credit is None or isinstance(credit, str)):
            raise ValueError("'caption' and 'credit' must be text")
        images.append(Image(caption.strip(), credit.strip() if credit else None))
    return tuple(images)


def parse_date(value: Any, zone: ZoneInfo) -> datetime:
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
    raise ValueError(f"must look like 2025-12-02, got {describe(value)}")
