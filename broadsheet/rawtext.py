"""PARSE (import): text copied out of news websites -> RawArticle records.

Input: the decoded text of one inbox file. Output: a RawText holding one RawArticle per article
found, plus warnings. Articles are split where a headline is printed twice a few lines apart
(the second copy starts the article proper); a file without such a pair is one article whose
first line is its headline. Around the headlines each line is recognised as page furniture
(dropped), a date, a byline, a carousel caption, a highlight bullet, a subhead or a paragraph.
When unsure a line stays in the body: losing words is worse than keeping a stray line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path

from broadsheet.errors import BroadsheetError, ImportFailure, SourceLocation
from broadsheet.model import Image
from broadsheet.rawdates import FoundDate, parse_date_line
from broadsheet.rawlines import (
    caption_with_credit,
    credit_line,
    image_caption,
    is_counter,
    is_furniture,
    is_furniture_word,
    match_bullet,
    match_byline,
    match_subhead,
    split_dateline,
)
from broadsheet.rawsplit import split_segments


@dataclass(frozen=True)
class Block:
    """One piece of an article's body."""

    kind: str  # "p" for a paragraph, "h" for a subhead
    text: str  # as written (a subhead without its dashes)
    line: int  # line of the input file


@dataclass(frozen=True)
class RawArticle:
    """One article read from copied text, before it becomes Markdown."""

    title: str  # the headline as written
    line: int  # line of the input where the headline is
    date: date | datetime  # the source's date, or the capture date when none was found
    date_text: str | None  # the date phrase as written, e.g. "Updated 3 sec ago"
    author: str | None  # from a byline such as "By Jane Doe"
    location: str | None  # the dateline as written, e.g. "MOSCOW"
    highlights: tuple[str, ...]  # the bullet points before the text, in order
    images: tuple[Image, ...]  # carousel captions with their credits
    body: tuple[Block, ...]  # paragraphs and subheads, in order


@dataclass(frozen=True)
class RawText:
    """Everything read from one input file."""

    articles: tuple[RawArticle, ...]  # at least one
    warnings: tuple[BroadsheetError, ...]  # uncertain readings, each with its line


def parse_raw(text: str, path: Path | str, captured: datetime, zone: tzinfo) -> RawText:
    """Split copied text into articles; raise ImportFailure when none looks like an article."""
    lines = [line.rstrip() for line in text.split("\n")]
    articles: list[RawArticle] = []
    warnings: list[BroadsheetError] = []
    segments = split_segments(lines)
    for segment in segments:
        builder = _Builder(path, captured, zone, header=segment.repeat is not None)
        for index in range(segment.start, segment.end):
            builder.feed(index, lines[index], index == segment.repeat)
        optional = segment.repeat is None and len(segments) > 1
        article = builder.finish(warnings, optional)
        if article is not None:
            articles.append(article)
    if not articles:
        raise ImportFailure(
            "no article found (expected a headline line followed by paragraphs)",
            SourceLocation(path),
        )
    return RawText(tuple(articles), tuple(warnings))


class _Builder:
    """Collects one article line by line; `finish` turns what it gathered into a RawArticle."""

    def __init__(self, path: Path | str, captured: datetime, zone: tzinfo, header: bool) -> None:
        self.path, self.captured, self.zone = path, captured, zone
        self.title: str | None = None
        self.line = 0  # of the headline
        self.header = header  # between the headline and its repeat
        self.lead = True  # no paragraph of the article proper yet
        self.text_start = 0  # index in body of the first block after the headlines
        self.expect_caption = False  # a carousel counter was just seen
        self.found: FoundDate | None = None
        self.found_line = 0
        self.author: str | None = None
        self.highlights: list[str] = []
        self.images: list[Image] = []
        self.body: list[Block] = []
        self.open_image = False  # the last line taken was a caption or a credit
        self.dropped: list[Block] = []  # lines left out as furniture by a pattern
        self.late_dates: list[Block] = []  # date lines after the text began, kept as text

    def feed(self, index: int, line: str, is_repeat: bool) -> None:
        """Take one line of the input (0-based `index`)."""
        text = line.strip()
        if is_repeat:
            self.header = self.expect_caption = False
            self.text_start = len(self.body)
        elif not text:
            return
        elif is_furniture(text, headline=self.title is None):
            if self.title is not None and not is_furniture_word(text):
                self.dropped.append(Block("p", text, index + 1))  # a pattern's guess
            return
        elif self.title is None:
            self._take_title(index, text)
        elif is_counter(text):
            self.expect_caption = True
        elif not (self._take_meta(index, line, text) or self._take_image(text)):
            self._take_block(index, text)

    def _take_title(self, index: int, text: str) -> None:
        if is_counter(text) or self._take_meta(index, text, text):
            return
        self.title, self.line = text, index + 1

    def _take_meta(self, index: int, line: str, text: str) -> bool:
        before_text = self.header or self.lead
        found = parse_date_line(text, self.captured, self.zone, prefixed_only=not before_text)
        if found is not None:
            if self.found is None:
                self.found, self.found_line = found, index + 1
            elif not before_text:  # "Updated 3 sec ago" within the text: another article's?
                self.late_dates.append(Block("p", text, index + 1))
                return False  # kept as text, and said
            return True
        if not before_text or self.title is None:
            return False
        author = match_byline(text)
        if author is not None and self.author is None:
            self.author = author
            return True
        bullet = match_bullet(line, indented_dash=True)
        if bullet is not None:
            self.highlights.append(bullet)
        return bullet is not None

    def _take_image(self, text: str) -> bool:
        split = caption_with_credit(text, anywhere=self.header or self.expect_caption)
        caption = image_caption(text)
        credit = credit_line(text) if split is None and caption is None else None
        if split is not None:
            self._add_image(Image(*split))
        elif caption is not None:
            self._add_caption(caption)
        elif credit is not None:
            self._add_credit(credit)
        elif self.expect_caption:
            self._add_image(Image(text))
        else:
            return False
        return True

    def _add_image(self, image: Image) -> None:
        self.images.append(image)
        self.expect_caption = False
        self.open_image = True

    def _add_caption(self, caption: str) -> None:
        """Give an `Image caption,` line to the credit just before it, or start an image."""
        if self.open_image and not self.images[-1].caption:
            self.images[-1] = Image(caption, self.images[-1].credit)
        else:
            self._add_image(Image(caption))

    def _add_credit(self, credit: str) -> None:
        """Give a credit line to the caption just before it, or keep it as an image of its own."""
        if self.open_image and self.images[-1].credit is None:
            self.images[-1] = Image(self.images[-1].caption, credit)
        elif self.header and self.body and self.body[-1].kind == "p":
            self._add_image(Image(self.body.pop().text, credit))
        else:
            self._add_image(Image("", credit))

    def _take_block(self, index: int, text: str) -> None:
        subhead = match_subhead(text)
        self.body.append(Block("p" if subhead is None else "h", subhead or text, index + 1))
        self.open_image = False
        self.lead = self.lead and self.header
        self.expect_caption = False

    def finish(self, warnings: list[BroadsheetError], optional: bool) -> RawArticle | None:
        """Return the article, None for a stretch that holds none, or raise ImportFailure."""
        if self.title is None:
            return None
        where = SourceLocation(self.path, self.line)
        if not any(block.kind == "p" for block in self.body) or (
            optional and not _has_prose(self.body)
        ):
            if optional:
                warnings.append(
                    BroadsheetError(
                        f"text before the first headline was not imported: {_clip(self.title)}",
                        where,
                    )
                )
                return None
            raise ImportFailure(f"headline {_clip(self.title)} has no article text after it", where)
        self._warn_of_guesses(warnings)
        location, body = self._split_dateline()
        return RawArticle(
            title=self.title,
            line=self.line,
            date=self._date(warnings),
            date_text=self.found.text if self.found else None,
            author=self.author,
            location=location,
            highlights=tuple(self.highlights),
            images=tuple(self.images),
            body=body,
        )

    def _warn_of_guesses(self, warnings: list[BroadsheetError]) -> None:
        """Say which lines inside the text were left out as furniture or look like another
        article's date line: the curator checks those, nothing goes silently."""
        lines = [block.line for block in self.body if block.kind == "p"]
        for block in self.dropped:
            if lines and lines[0] < block.line < lines[-1]:
                message = (
                    f"left out as page furniture: {_clip(block.text)}; "
                    "copy it back if it belongs to the text"
                )
                warnings.append(BroadsheetError(message, SourceLocation(self.path, block.line)))
        for block in self.late_dates:
            message = (
                f"a date line inside the text, kept as text: {_clip(block.text)}; "
                f"does another article start here (headline on line {self.line} is this one's)?"
            )
            warnings.append(BroadsheetError(message, SourceLocation(self.path, block.line)))

    def _split_dateline(self) -> tuple[str | None, tuple[Block, ...]]:
        body = list(self.body)
        paragraphs = [i for i in range(self.text_start, len(body)) if body[i].kind == "p"]
        for index in paragraphs[:2]:
            split = split_dateline(body[index].text)
            if split is not None:
                body[index] = Block("p", split[1], body[index].line)
                return split[0], tuple(body)
        return None, tuple(body)

    def _date(self, warnings: list[BroadsheetError]) -> date | datetime:
        found = self.found
        if found is None:
            day = self.captured.astimezone(self.zone).date()
            message = f"no date line found; used the capture date {day.isoformat()}"
            warnings.append(BroadsheetError(message, SourceLocation(self.path, self.line)))
            return day
        where = SourceLocation(self.path, self.found_line)
        if found.relative:
            message = (
                f"relative date '{found.text}' read as {found.value.isoformat()}, "
                f"counted back from the capture time {self.captured.isoformat()}"
            )
            warnings.append(BroadsheetError(message, where))
        if found.note:
            warnings.append(BroadsheetError(found.note, where))
        return found.value


def _has_prose(body: list[Block]) -> bool:
    """Tell whether a stretch holds at least one sentence, not just a site's menu words."""
    return any(b.kind == "p" and len(b.text) >= 60 and b.text[-1] in ".!?”\"'" for b in body)


def _clip(text: str, length: int = 60) -> str:
    return repr(text if len(text) <= length else text[: length - 1] + "…")
