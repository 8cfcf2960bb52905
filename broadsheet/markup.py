"""Render untrusted Markdown to safe HTML, and check URLs.

One MarkdownIt instance for the whole process: CommonMark with raw HTML off (the preset turns it
on), tables on, and links limited to http(s), mailto and relative URLs.

Most of a copied article is plain paragraphs, subheads, quotes and short lists whose only
Markdown is the importer's backslash escapes. Those blocks are written here directly, exactly as
markdown-it-py writes them (tests/test_markup_fast.py compares the two on many documents);
everything else, and any whole document where one block could reach into another (a fence, a
link reference definition), goes to markdown-it-py. A typical article renders four times faster.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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
    if any(mark in text for mark in _WHOLE_DOCUMENT):
        return _parser().render(text, {"page_url": page_url})
    return "".join(_render_blocks(text.split("\n"), page_url))


def _render_blocks(lines: list[str], page_url: str | None) -> Iterator[str]:
    """Yield the HTML of the document `lines`: plain blocks here, runs of the others by the parser.

    A block is a run of non-blank lines (an ATX heading is a block by itself). Once a blank
    line and a line at the left margin end it, no block but a fence (kept out by the caller)
    reaches into the next one, so the parser's HTML for a run is its HTML in the document.
    """
    start = end = None  # the run of blocks waiting for the parser
    count, line = len(lines), 0
    while line < count:
        if not lines[line].strip(" \t"):
            line += 1
            continue
        first = line
        line += 1
        if not _HEADING.match(lines[first]):
            while line < count and lines[line].strip(" \t"):
                line += 1
        html = _plain_block(lines, first, line, start is not None)
        if html is None:
            start = first if start is None else start
            end = line
            continue
        if start is not None:
            yield _render_run(lines, start, end, page_url)
            start = None
        yield html
    if start is not None:
        yield _render_run(lines, start, end, page_url)


def _plain_block(lines: list[str], first: int, end: int, after_run: bool) -> str | None:
    """The HTML of the block `lines[first:end]` when Markdown has nothing to do in it but
    escapes: a paragraph, a heading, a quoted paragraph or a tight list of one-line items; None
    for any other. `after_run` says the block before it goes to the parser (it might be a list
    this one would continue)."""
    block = lines[first:end]
    heading = _HEADING.match(block[0])  # a heading is a block by itself
    if heading is not None:
        level, content = len(heading.group(1)), heading.group(2)
        if not content or "#" in content or not _is_plain_line(content):
            return None  # empty, closing #s for the parser to take off, or indented
        inline = _inline(content)
        return None if inline is None else f"<h{level}>{inline}</h{level}>\n"
    if block[0].startswith("> "):
        if not all(line.startswith("> ") for line in block):
            return None  # a lazy continuation line, or a quote in a quote
        paragraph = _paragraph([line[2:] for line in block])
        return None if paragraph is None else f"<blockquote>\n{paragraph}</blockquote>\n"
    if block[0].startswith("- "):
        items_only = all(line.startswith("- ") for line in block)
        if after_run or not items_only or _list_runs_on(lines, end):
            return None
        items = [_inline(line[2:]) if _is_plain_line(line[2:]) else None for line in block]
        if None in items:
            return None
        return "<ul>\n" + "".join(f"<li>{item}</li>\n" for item in items) + "</ul>\n"
    return _paragraph(block)


def _paragraph(lines: list[str]) -> str | None:
    if not all(map(_is_plain_line, lines)):
        return None
    inline = _inline("\n".join(lines))
    return None if inline is None else f"<p>{inline}</p>\n"


def _is_plain_line(line: str) -> bool:
    """Whether a line of a paragraph could not start another block or end in a hard break."""
    if not line:
        return False
    first = line[0]
    if first in "#>+=-|:" or first.isspace() or line[-1].isspace():
        return False
    return not (first.isdigit() and _ORDERED.match(line))


def _inline(text: str) -> str | None:
    """The HTML of text whose only Markdown is backslash escapes; None if it has other markup."""
    if "\\" in text:
        if _has_markup(_ESCAPED.sub("", text)):
            return None  # markup, or a backslash that escapes nothing
        text = _ESCAPED.sub(r"\1", text)
    elif _has_markup(text):
        return None
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _has_markup(text: str) -> bool:
    return _MARKUP.search(text) is not None or ("&" in text and _ENTITY.search(text) is not None)


def _list_runs_on(lines: list[str], end: int) -> bool:
    """Whether a list ending before `lines[end]` could take in the block after it: an item after
    a blank line makes the list loose, an indented line continues its last item."""
    after = next((lines[i] for i in range(end, len(lines)) if lines[i].strip(" \t")), "")
    return after[:1] in ("-", " ", "\t")


def _render_run(lines: list[str], start: int, end: int, page_url: str | None) -> str:
    try:
        return _parser().render("\n".join(lines[start:end]), {"page_url": page_url})
    except MarkdownError as exc:
        raise MarkdownError(str(exc), exc.line + start) from None


# A fence, or a link reference definition's "]:", can reach past a blank line into other blocks;
# the normalisation markdown-it-py does first (line ends, NUL) is not done here.
_WHOLE_DOCUMENT = ("```", "~~~", "]:", "\r", "\x00")
# Inline markup (a backslash left over is one that escapes nothing), a tab; an entity.
_MARKUP = re.compile(r"[\\`*_\[\]<\t]")
_ENTITY = re.compile(r"&#?[A-Za-z0-9]+;")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # an escaped ASCII punctuation character
_ORDERED = re.compile(r"\d+[.)]")  # an ordered list item
_HEADING = re.compile(r"(#{1,6}) (.*)")


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
