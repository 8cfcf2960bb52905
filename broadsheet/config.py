"""Read and validate config.yml into a frozen Config.

Unknown keys are errors with a "did you mean"; every problem names config.yml and its line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from broadsheet.errors import ConfigError, ContentError, ErrorCollector, SourceLocation
from broadsheet.frontmatter import parse_mapping, read_text

CONFIG_FILE = "config.yml"


@dataclass(frozen=True)
class Config:
    """The site's settings, validated."""

    title: str = "Broadsheet"  # site name, shown in the header and feeds
    description: str = ""  # for the home page's meta description and feeds
    base_url: str = "/"  # "https://user.github.io/repo/" or just a path such as "/news/"
    language: str = "en"  # the <html lang> value
    timezone: str = "UTC"  # IANA name; article dates are grouped in it
    digest_period: str = "day"  # "day" or "week" (ISO week, Monday first)
    sections: tuple[str, ...] = ()  # digest sections, in display order
    home_digests: int = 10  # digests listed on each home page
    tag_page_size: int = 20  # articles per tag page
    feed_size: int = 20  # entries in each feed
    author: str | None = None  # the site's author, for feeds
    cname: str | None = None  # custom domain for GitHub Pages, written to CNAME
    output_dir: str = "site"  # relative to the project root
    tag_vocabulary: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # for import

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def base_path(self) -> str:
        """The URL path the site lives under, always with slashes at both ends."""
        path = urlsplit(self.base_url).path.strip("/")
        return f"/{path}/" if path else "/"

    @property
    def origin(self) -> str:
        """Scheme and host of base_url, or "" when base_url is only a path."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


_FIELDS = {f.name: f for f in fields(Config)}
_TEXT = {"title", "description", "language", "timezone", "author", "cname", "output_dir"}
_COUNTS = {"home_digests", "tag_page_size", "feed_size"}


def load_config(root: Path, base_url: str | None = None) -> Config:
    """Read root/config.yml (a missing file means defaults) and apply a --base-url override."""
    path = root / CONFIG_FILE
    if path.exists():
        try:
            data, lines = parse_mapping(read_text(path, CONFIG_FILE), Path(CONFIG_FILE))
        except ContentError as exc:
            raise ConfigError(exc.message, exc.location) from exc
    else:
        data, lines = {}, {}
    if base_url is not None:
        try:
            data["base_url"] = _check("base_url", base_url)
        except ValueError as exc:  # the option's value, not the file's
            raise ConfigError(f"--base-url {exc}") from exc
    return parse_config(data, lines, Path(CONFIG_FILE))


def parse_config(data: Mapping[str, Any], lines: Mapping[str, int], path: Path) -> Config:
    """Validate a settings mapping into a Config, reporting every bad key at once."""
    errors = ErrorCollector()
    values: dict[str, Any] = {}
    for key, value in data.items():
        where = SourceLocation(path, lines.get(key))
        if key not in _FIELDS:
            hint = difflib.get_close_matches(key, _FIELDS, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            errors.add(ConfigError(f"unknown setting '{key}'{suggestion}", where))
            continue
        try:
            values[key] = _check(key, value)
        except ValueError as exc:
            errors.add(ConfigError(f"'{key}' {exc}", where))
    errors.raise_if_any()
    return replace(Config(), **values)


def _check(key: str, value: Any) -> Any:
    if key in _TEXT:
        if value is None and key in ("author", "cname"):
            return None
        if not isinstance(value, str):
            raise ValueError(f"must be text, got {value!r}")
        return _check_text(key, value)
    if key in _COUNTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"must be a whole number of at least 1, got {value!r}")
        return value
    if key == "base_url":
        return _check_base_url(value)
    if key == "digest_period":
        if value not in ("day", "week"):
            raise ValueError(f"must be 'day' or 'week', got {value!r}")
        return value
    if key == "sections":
        if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
            raise ValueError("must be a list of section names")
        return tuple(value)
    return _check_vocabulary(value)


def _check_text(key: str, value: str) -> str:
    if key == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"must be an IANA time zone such as Europe/London, got {value!r}"
            ) from exc
    if key == "cname" and not re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z]{2,}", value):
        raise ValueError(f"must be a domain name such as news.example.org, got {value!r}")
    if key == "output_dir" and not value.strip():
        raise ValueError("must not be empty")
    return value


def _check_base_url(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"must be a URL such as https://example.org/ or a path such as /news/, got {value!r}"
        )
    parts = urlsplit(value)
    if parts.scheme and (parts.scheme not in ("http", "https") or not parts.netloc):
        raise ValueError(f"must be an http(s) URL or a path starting with '/', got {value!r}")
    if not parts.scheme and (parts.netloc or not value.startswith("/")):
        raise ValueError(f"must be an http(s) URL or a path starting with '/', got {value!r}")
    if parts.query or parts.fragment or ".." in parts.path.split("/"):
        raise ValueError(f"must be a plain URL without '?', '#' or '..', got {value!r}")
    if _UNSAFE_IN_URL.search(value):  # it goes into every link and the sitemap as it is
        raise ValueError(
            f"must not contain spaces, quotes or <>; write %20 for a space, got {value!r}"
        )
    return value if value.endswith("/") else value + "/"


_UNSAFE_IN_URL = re.compile(r"[\s\"'<>\\^`{|}]")


def _check_vocabulary(value: Any) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise ValueError("must map each tag to a list of words, e.g. 'ukraine: [Ukraine, Kyiv]'")
    vocabulary = {}
    for tag, words in value.items():
        if not isinstance(tag, str) or not isinstance(words, list):
            raise ValueError(f"entry {tag!r} must be a tag with a list of words")
        if not all(isinstance(w, str) and w.strip() for w in words):
            raise ValueError(f"entry {tag!r} must list words as text")
        vocabulary[tag] = tuple(words)
    return vocabulary
