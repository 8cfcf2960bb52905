"""Split copied news text into stretches, one per article, at headlines printed twice.

Input: the lines of one file. Output: Segment records (first line, the headline's repeat, end).
Sites print a headline, then a carousel, dates and buttons, then the headline again above the
text; a headline counts only when what stands between its two copies looks like such furniture,
so a quotation repeated in the body does not split an article.
"""

from __future__ import annotations

from dataclasses import dataclass

from broadsheet.rawdates import is_date_line
from broadsheet.rawlines import (
    caption_with_credit,
    credit_line,
    is_counter,
    is_furniture,
    match_bullet,
    match_byline,
)

_PAIR_WINDOW = 60  # lines within which a repeated headline counts as the article's start
_PAIR_UNKNOWN = 2  # unrecognised lines allowed between a headline and its repeat
_MAX_HEADLINE = 300  # characters; longer lines are paragraphs, not headlines


@dataclass(frozen=True)
class Segment:
    """A stretch of the input's lines that holds at most one article."""

    start: int  # index of its first line
    repeat: int | None  # index of the headline's second copy, None when it has none
    end: int  # index just past its last line


def split_segments(lines: list[str]) -> list[Segment]:
    """Cut the text into stretches, each starting at a headline pair (or at the file's start)."""
    pairs = _headline_pairs(lines)
    starts = [start for start, _repeat in pairs]
    segments = []
    if not starts or any(line.strip() for line in lines[: starts[0]]):
        segments.append(Segment(0, None, starts[0] if starts else len(lines)))
    for number, (start, repeat) in enumerate(pairs):
        end = starts[number + 1] if number + 1 < len(starts) else len(lines)
        segments.append(Segment(start, repeat, end))
    return segments


def _headline_pairs(lines: list[str]) -> list[tuple[int, int]]:
    """Find headlines printed twice: (headline, repeat) line indexes, in order."""
    pairs: list[tuple[int, int]] = []
    index = 0
    while index < len(lines):
        repeat = _repeat_of(lines, index)
        if repeat is None:
            index += 1
        else:
            pairs.append((index, repeat))
            index = repeat + 1
    return pairs


def _repeat_of(lines: list[str], index: int) -> int | None:
    """The index of the repeat of a headline at `index`, or None when it does not start one.

    Between the two copies there must be nothing, or some page furniture (a date, a caption,
    a button) and at most a couple of other lines: a quotation repeated in the body has
    paragraphs between its copies and no furniture.
    """
    text = " ".join(lines[index].split())
    if not _could_be_headline(text) or (index and lines[index - 1].strip()):
        return None
    known, unknown, after_counter = 0, 0, False
    for other in range(index + 1, min(len(lines), index + _PAIR_WINDOW)):
        candidate = " ".join(lines[other].split())
        if candidate == text:
            return other if known or not unknown else None
        if candidate and (after_counter or _is_header_line(candidate)):
            known += 1
        elif candidate:
            unknown += 1
            if unknown > _PAIR_UNKNOWN:
                return None
        after_counter = is_counter(candidate) or (after_counter and not candidate)
    return None


def _could_be_headline(text: str) -> bool:
    return (
        0 < len(text) <= _MAX_HEADLINE
        and not text.endswith((".", ",", ";", ":"))
        and not is_furniture(text)
        and not is_counter(text)
        and match_bullet(text) is None
    )


def _is_header_line(text: str) -> bool:
    """Tell whether a line is what sites print between a headline and its repeat."""
    return (
        is_furniture(text)
        or is_counter(text)
        or caption_with_credit(text, anywhere=True) is not None
        or credit_line(text) is not None
        or match_byline(text) is not None
        or match_bullet(text) is not None
        or is_date_line(text)
    )
