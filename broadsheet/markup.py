"""Render untrusted Markdown to safe HTML, and check URLs.

One MarkdownIt instance for the whole process: CommonMark with raw HTML off (the preset turns it
on), tables on, and links limited to http(s), mailto and relative URLs.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

MAX_MARKDOWN = 2 * 1024 * 1024  # characters of Markdown we render for one field
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_http_url(value: str) -> bool:
    """Tell whether `value` is an absolute http(s) URL with a host."""
    if _CONTROL.search(value) or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def render_markdown(text: str) -> str:
    """Render Markdown to HTML with raw HTML escaped and unsafe link schemes dropped."""
    if len(text) > MAX_MARKDOWN:
        raise ValueError(f"Markdown is larger than {MAX_MARKDOWN // (1024 * 1024)} MB")
    return _MD.render(text)


def _validate_link(url: str) -> bool:
    cleaned = _CONTROL.sub("", url).strip()
    if any(c.isspace() for c in cleaned):
        return False
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", cleaned)
    return scheme is None or scheme.group(1).lower() in _SAFE_SCHEMES


def _make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "xhtmlOut": False, "maxNesting": 20})
    md.enable("table")
    md.validateLink = _validate_link  # type: ignore[method-assign]
    return md


_MD = _make_parser()
