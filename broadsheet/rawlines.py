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
    r"(?:listen to (?:this )?article|\d+\s*min(?:ute)?s?\s+(?:read|listen)\W*$|"
    r"(?:topics|tags|filed under|more about|related topics|more on|categories)\s*:|"
    r"advertisement\s*[-–—:·]|©|"
    r"(?:share|follow)\s+(?:on|us on|via)\s|\d+\s+comments?$|sign up (?:to|for) (?:our|the)\s)",
    re.IGNORECASE,
)
# "Read more: <a link's title>": furniture, unless what follows reads as a sentence of the text
# ("Watch - and wait: that is the advice...", "Related-party loans tripled...").
_LINK_LABEL = re.compile(
    r"(?:read more|also read|read also|see also|related|recommended|more from [\w ]{1,30}"
    r"|watch|listen)\s*(?:[:|»›>]|[-–—](?=\s))",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(r"copyright\s+(?:©\s*)?\d{4}", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?][\"”’')]*$")
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
_AGENCIES = re.compile(
    r"\b(?:AFP|Reuters|AP|Getty(?: Images)?|EPA|Shutterstock|Bloomberg|Alamy|PA|Xinhua|Sputnik|"
    r"Anadolu|SPA|WAM)\b"
)
_NAMES_CREDIT = re.compile(
    r"(?:(?:Photo|Image|Picture)s?:\s*)?[A-Z][\w.&'’-]*(?:\s*[/,]?\s*(?:via\s+)?[A-Z][\w.&'’-]*){0,5}"
)
_INLINE_CREDIT = re.compile(
    r"(?P<caption>.*[.!?”\"')])\s+(?:Photograph|Photo|Image|Picture|Illustration)s?:\s*"
    r"(?P<credit>[A-Z][^.:]{0,79})"
)
_CREDIT_LINE = re.compile(
    r"(?:(?:image|photo|photograph|picture|credit|photo credit|image credit)s?\s*:"
    r"|(?:image|photo) source\s*[:,])\s*(?P<credit>\S.{0,79})",
    re.IGNORECASE,
)
_IMAGE_CAPTION = re.compile(r"(?:image|photo) caption\s*[:,]\s*(?P<caption>.*)", re.IGNORECASE)
_DATELINE = re.compile(
    r"(?P<place>[A-Z][A-Z'’.-]+(?:\s+[A-Z][A-Z'’.-]*){0,3}"
    r"(?:,\s*[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,2})?)"
    r"(?P<day>,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?"
    r"(?P<agency>\s*\((?:[A-Za-z][\w .&'’-]{0,29})\))?"
    r"\s*(?P<separator>:|—|–|--|-)\s+(?P<rest>\S.*)"
)
_LABEL_WORDS = re.compile(
    r"\b(?:NOTE|UPDATE|UPDATED|WARNING|BREAKING|EXCLUSIVE|LIVE|WATCH|ANALYSIS|OPINION|"
    r"CORRECTION|EDITOR|EDITORS|EDITOR'S|EDITOR’S|CLARIFICATION|FACTBOX|EXPLAINER)\b"
)


def is_furniture(text: str, headline: bool = False) -> bool:
    """Tell whether a line is page furniture: share buttons, ads, topic lists, "Read more".

    Where a `headline` may be ("Watch: Putin meets envoys"), a link label is not furniture.
    """
    if len(text) > _MAX_FURNITURE:
        return False
    if is_furniture_word(text) or _FURNITURE.match(text):
        return True
    if _LINK_LABEL.match(text):
        return not headline and not _SENTENCE_END.search(text)
    if _COPYRIGHT.match(text):  # "Copyright 2025 The Times", not "Copyright 2019 rules were..."
        return "rights reserved" in text.casefold() or not _SENTENCE_END.search(text)
    return False


def is_furniture_word(text: str) -> bool:
    """Tell whether a line is nothing but a furniture word or phrase ("Share", "Short Url")."""
    return text.strip(" :·|»›").casefold() in _FURNITURE_WORDS


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

    A credit in brackets counts `anywhere` only in a carousel; in the body it must be names with
    an agency's among them, or a sentence ending in "(AfD)" would lose its last word.
    """
    match = _CREDIT_PARENS.fullmatch(text)
    if match and (anywhere or _is_agency_credit(match["credit"])):
        return match["caption"], match["credit"].strip()
    match = _INLINE_CREDIT.fullmatch(text)
    if match:
        return match["caption"], match["credit"].strip()
    return None


def _is_agency_credit(text: str) -> bool:
    """`AFP`, `Reuters/Jane Roe`, `Photo: AP`: names with an agency's among them, not words
    of a sentence ("Reuters reported earlier", "pool")."""
    return _NAMES_CREDIT.fullmatch(text.strip()) is not None and bool(_AGENCIES.search(text))


def credit_line(text: str) -> str | None:
    """The credit of a line such as `Photo: Jane Roe/Reuters` or `Image source, Getty`, or None
    (never a sentence: "Credit: ratings agencies warned the city's debt...")."""
    match = _CREDIT_LINE.fullmatch(text)
    if match is None or _SENTENCE_END.search(match["credit"]):
        return None
    return match["credit"].strip()


def image_caption(text: str) -> str | None:
    """The caption of a line such as `Image caption, Rescuers at work`, or None."""
    match = _IMAGE_CAPTION.fullmatch(text)
    return match["caption"].strip() if match else None


def split_dateline(text: str) -> tuple[str, str] | None:
    """Split `MOSCOW: Top US negotiators...` into ("MOSCOW", "Top US negotiators...").

    A hyphen after a bare place ("US - China trade talks") is read as a dateline only with an
    agency or a date ("LONDON, Dec 2 (Reuters) -"); labels ("EDITOR'S NOTE:") are no places.
    """
    match = _DATELINE.fullmatch(text)
    if match is None or _LABEL_WORDS.search(match["place"]):
        return None
    if match["separator"] == "-" and not (match["agency"] or match["day"]):
        return None
    return match["place"], match["rest"]
