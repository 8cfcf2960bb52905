"""Recognise single lines of copied news text: furniture, captions, bylines, bullets, datelines.

Input: one stripped line. Output: what it is, or None. These are the patterns of the sites
curators copy from; rawtext.py decides from the line's place in the article what to do with it.
Every pattern is meant to be narrow: a line none of them matches stays in the body.
"""

from __future__ import annotations

import re

_MAX_FURNITURE = 150  # characters; longer lines are text, whatever they start with
# Lines that are nothing but page furniture, compared in lower case.
_FURNITURE_WORDS = frozenset(
    {
        "ad", "advertisement", "advertising", "article continues below", "audio", "back to top",
        "close", "comment", "comments", "continue reading", "continue reading the main story",
        "copied", "copy link", "e-mail", "email", "enlarge this image", "expand", "facebook",
        "follow", "gift this article", "hide caption", "image", "link copied", "linkedin",
        "listen", "listen to article", "listen to this article", "loading", "loading...", "menu",
        "more on this story", "most read", "open image in gallery", "pause", "photo", "play",
        "print", "read more", "read more below", "reddit", "related", "related articles",
        "related content", "related links", "related stories", "related topics", "save",
        "save article", "saved", "scroll to continue with content", "share", "share article",
        "share this", "share this article", "share this story", "short url", "show less",
        "show more", "sign up", "skip advertisement", "skip navigation", "skip to content",
        "skip to main content", "sponsored", "story continues below", "subscribe", "supported by",
        "telegram", "toggle caption", "top stories", "trending", "twitter", "video",
        "view image in fullscreen", "whatsapp", "x", "zoom"
    }
)  # fmt: skip
_FURNITURE = re.compile(
    r"(?:listen to (?:this )?article|\d+\s*min(?:ute)?s?\s+(?:read|listen)|"
    r"(?:topics|tags|filed under|more about|related topics|more on|categories)\s*:|"
    r"(?:read more|also read|read also|see also|related|recommended|more from [\w ]{1,30}"
    r"|watch|listen)\s*[:|»›>-]|advertisement\s*[-–—:·]|©|copyright\s+(?:©\s*)?\d{4}|"
    r"(?:share|follow)\s+(?:on|us on|via)\s|\d+\s+comments?$|sign up (?:to|for) (?:our|the)\s)",
    re.IGNORECASE,
)
_COUNTER = re.compile(
    r"(?:(?:image|photo|picture|slide)\s+)?(?P<at>\d{1,3})\s*(?:/|of)\s*(?P<of>\d{1,3})", re.I
)
_BULLET = re.compile(r"\s*[•·▪●◦‣∙■►]\s*(?P<text>\S.*)")
_DASH_BULLET = re.compile(r"\s+[-*–]\s+(?P<text>\S.*)")
_SUBHEAD = re.compile(r"[-–—]\s+(?P<text>\S.*?\S|\S)\s+[-–—]")
_NAME_WORD = r"(?:[A-Z][\w.'’-]*|and|&|de|da|di|del|van|von|der|den|al|el|bin|ibn|le|la|du)"
_BYLINE = re.compile(
    r"(?i:by|written by|author:|words by)\s+"
    rf"(?P<name>[A-Z][\w.'’-]*(?:(?:\s+|\s*,\s*){_NAME_WORD}){{0,9}})"
)
_CREDIT_PARENS = re.compile(r"(?P<caption>.*\S)\s*\((?P<credit>[^()]{1,60})\)")
_CREDIT_WORDS = re.compile(
    r"\b(?:AFP|Reuters|AP|Getty|EPA|Shutterstock|Bloomberg|Alamy|PA|Xinhua|Sputnik|Anadolu|"
    r"SPA|WAM|handout|file|photo|pool)\b",
    re.IGNORECASE,
)
_INLINE_CREDIT = re.compile(
    r"(?P<caption>.*[.!?”\"')])\s+(?:Photograph|Photo|Image|Picture|Illustration)s?:\s*"
    r"(?P<credit>[A-Z][^.:]{0,79})"
)
_CREDIT_LINE = re.compile(
    r"(?:image|photo|photograph|picture|credit|photo credit|image credit|image source|"
    r"photo source)s?\s*[:,]\s*(?P<credit>\S.{0,79})",
    re.IGNORECASE,
)
_IMAGE_CAPTION = re.compile(r"(?:image|photo) caption\s*[:,]\s*(?P<caption>.*)", re.IGNORECASE)
_DATELINE = re.compile(
    r"(?P<place>[A-Z][A-Z'’.-]+(?:\s+[A-Z][A-Z'’.-]*){0,3}"
    r"(?:,\s*[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,2})?)"
    r"(?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?"
    r"(?:\s*\((?:[A-Za-z][\w .&'’-]{0,29})\))?"
    r"\s*(?::|—|–|--|-)\s+(?P<rest>\S.*)"
)


def is_furniture(text: str) -> bool:
    """Tell whether a line is page furniture: share buttons, ads, topic lists, "Read more"."""
    if len(text) > _MAX_FURNITURE:
        return False
    key = text.strip(" :·|»›").casefold()
    return key in _FURNITURE_WORDS or _FURNITURE.match(text) is not None


def is_counter(text: str) -> bool:
    """Tell whether a line is a carousel counter such as `1 / 2` or `Image 3 of 5`."""
    match = _COUNTER.fullmatch(text)
    return match is not None and 1 <= int(match["at"]) <= int(match["of"])


def match_bullet(line: str, indented_dash: bool = False) -> str | None:
    """The text of a bullet point (`  • ...`), or None; `indented_dash` also takes `  - ...`."""
    match = _BULLET.fullmatch(line) or (indented_dash and _DASH_BULLET.fullmatch(line))
    return match["text"].strip() if match else None


def match_subhead(text: str) -> str | None:
    """The text of a subhead written `- Russian pressure -`, or None."""
    match = _SUBHEAD.fullmatch(text)
    return match["text"] if match and len(text) <= _MAX_FURNITURE else None


def match_byline(text: str) -> str | None:
    """The author named by a byline such as `By Jane Doe`, or None."""
    match = _BYLINE.fullmatch(text)
    return match["name"].strip(" ,") if match and len(text) <= _MAX_FURNITURE else None


def caption_with_credit(text: str, anywhere: bool) -> tuple[str, str] | None:
    """Split `Caption text. (AFP)` or `Caption. Photograph: Jane Roe/AP` into (caption, credit).

    A credit in brackets counts `anywhere` only in a carousel; in the body it must name an agency
    or a photo, or a sentence ending in "(AfD)" would lose its last word.
    """
    match = _CREDIT_PARENS.fullmatch(text)
    if match and (anywhere or _CREDIT_WORDS.search(match["credit"])):
        return match["caption"], match["credit"].strip()
    match = _INLINE_CREDIT.fullmatch(text)
    if match:
        return match["caption"], match["credit"].strip()
    return None


def credit_line(text: str) -> str | None:
    """The credit of a line such as `Photo: Jane Roe/Reuters` or `Image source, Getty`, or None."""
    match = _CREDIT_LINE.fullmatch(text)
    return match["credit"].strip() if match else None


def image_caption(text: str) -> str | None:
    """The caption of a line such as `Image caption, Rescuers at work`, or None."""
    match = _IMAGE_CAPTION.fullmatch(text)
    return match["caption"].strip() if match else None


def split_dateline(text: str) -> tuple[str, str] | None:
    """Split `MOSCOW: Top US negotiators...` into ("MOSCOW", "Top US negotiators...")."""
    match = _DATELINE.fullmatch(text)
    return (match["place"], match["rest"]) if match else None
