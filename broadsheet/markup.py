"""Render untrusted Markdown to safe HTML, and check URLs.

One MarkdownIt instance for the whole process: CommonMark with raw HTML off (the preset turns it
on), tables on, and links limited to http(s), mailto and relative URLs.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_block import StateBlock
    from markdown_it.rules_core import StateCore

# Characters of Markdown we render for one field. Some inputs (a long run of "![") cost tens of
# microseconds per character in the parser, so the limit also bounds the time of one file;
# 256 KiB is several times the longest real article.
MAX_MARKDOWN = 256 * 1024
MAX_NESTING = 20  # blockquotes and lists inside each other; deeper content would be dropped
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s")  # what str.isspace() calls space


def is_http_url(value: str) -> bool:
    """Tell whether `value` is an absolute http(s) URL with a host."""
    if _CONTROL.search(value) or _SPACE.search(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def render_markdown(text: str, page_url: str | None = None) -> str:
    """Render Markdown to HTML with raw HTML escaped and unsafe link schemes dropped.

    Relative links and images are made relative to the site's root from `page_url`, the page
    the text was written for (`../other/` from /articles/x/ is /articles/other/), so they lead
    to the same place from every page and feed that shows the text.
    """
    if len(text) > MAX_MARKDOWN:
        raise MarkdownError(f"Markdown is larger than {MAX_MARKDOWN // 1024} KiB")
    return _parser().render(text, {"page_url": page_url})


class MarkdownError(ValueError):
    """Markdown we refuse to render; `line` is 0-based within the rendered text."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


def _refuse_deep(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """Raise where markdown-it would silently drop everything nested too deep."""
    if state.level >= MAX_NESTING:
        raise MarkdownError(f"Markdown is nested deeper than {MAX_NESTING} levels", start)
    return False


def _validate_link(url: str) -> bool:
    cleaned = _CONTROL.sub("", url).strip()
    if _SPACE.search(cleaned):
        return False
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", cleaned)
    return scheme is None or scheme.group(1).lower() in _SAFE_SCHEMES


@cache
def _parser() -> MarkdownIt:
    """The one parser, made on first use (a build with nothing to parse never loads it)."""
    from markdown_it import MarkdownIt

    options = {"html": False, "xhtmlOut": False, "maxNesting": MAX_NESTING + 1}
    md = MarkdownIt("commonmark", options)
    md.enable("table")
    md.block.ruler.before("table", "refuse_deep", _refuse_deep)
    md.validateLink = _validate_link  # type: ignore[method-assign]
    md.core.ruler.push("resolve_relative", _resolve_relative)
    return md


def _resolve_relative(state: StateCore) -> None:
    page_url = state.env.get("page_url")
    if not page_url:
        return
    for block in state.tokens:
        for token in block.children or ():
            name = "href" if token.type == "link_open" else "src" if token.type == "image" else ""
            value = token.attrGet(name) if name else None
            if isinstance(value, str) and value and not _NOT_RELATIVE.match(value):
                token.attrSet(name, urljoin(page_url, value))


_NOT_RELATIVE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:|[/#?]")  # a scheme, a path from the root
