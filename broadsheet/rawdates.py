"""Read the date line of copied news text: absolute and relative forms, with or without a time.

Input: one line of text, the moment it was copied and the site's time zone. Output: a FoundDate
(a plain date when only the day is known, else an aware datetime), or None when the line is not
a date line. Relative phrases ("3 sec ago", "yesterday") are resolved against the capture time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_ZONES = {"gmt": 0, "utc": 0, "z": 0, "bst": 1, "cet": 1, "cest": 2, "eet": 2, "eest": 3,
          "msk": 3, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "pst": -8, "pdt": -7}  # fmt: skip
_PREFIX = re.compile(
    r"(?:last\s+)?(?:updated|published|posted|modified|first\s+published|created)"
    r"(?:\s+(?:on|at))?\s*:?\s*",
    re.IGNORECASE,
)
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+)?"
_MONTH = r"(?P<month>[a-z]{3,9})\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_TIME = (
    r"(?:(?:,|\s+at|\s+-|\s*\||\s*·)?\s*(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?"
    r"(?:\s*(?P<zone>[a-z]{1,4})(?P<shift>[+-]\d{1,2}(?::?\d{2})?)?)?)?"
)
_ABSOLUTE = [
    re.compile(_WEEKDAY + _DAY + r"\s+" + _MONTH + r",?\s+(?P<year>\d{4})" + _TIME, re.I),
    re.compile(_WEEKDAY + _MONTH + r"\s+" + _DAY + r",?\s+(?P<year>\d{4})" + _TIME, re.I),
]
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?", re.I
)
_UNIT = (
    r"(?P<n>\d+|an?|one)\s*"
    r"(?P<unit>seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w)"
)
_RELATIVE = re.compile(rf"(?:{_UNIT}\s*,?\s*)+ago", re.I)
_UNIT_RE = re.compile(_UNIT, re.I)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SHIFT = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?")
_YEARS = (1800, 2999)
_PROBE = datetime(2000, 1, 1, tzinfo=UTC)  # any capture time will do to recognise a date
_WORDS = {"today": 0, "yesterday": 1, "just now": None}


@dataclass(frozen=True)
class FoundDate:
    """A date read from a line of copied text."""

    value: date | datetime  # a date when only the day is known, else aware
    text: str  # the phrase as written, prefix included, e.g. "Updated 3 sec ago"
    relative: bool  # resolved against the capture time
    note: str | None = None  # something uncertain about it, shown as a warning


def parse_date_line(
    line: str, captured: datetime, zone: tzinfo, prefixed_only: bool = False
) -> FoundDate | None:
    """Read `line` as a date line, or return None; `prefixed_only` wants "Updated"/"Published"."""
    text = line.strip()
    prefix = _PREFIX.match(text)
    if prefixed_only and not (prefix and prefix.end()):
        return None
    phrase = text[prefix.end() :] if prefix else text
    if not phrase or len(phrase) > 60:
        return None
    relative = _parse_relative(phrase, captured, zone)
    if relative is not None:
        return FoundDate(relative, text, True)
    found = _parse_absolute(phrase, zone)
    if found is None or not _YEARS[0] <= found[0].year <= _YEARS[1]:
        return None  # news from outside these years is a misreading, not a date
    value, note = found
    return FoundDate(value, text, False, note)


def _parse_relative(phrase: str, captured: datetime, zone: tzinfo) -> date | datetime | None:
    now = captured.astimezone(zone).replace(microsecond=0)
    key = phrase.lower()
    if key in _WORDS:
        days = _WORDS[key]
        return now if days is None else now.date() - timedelta(days=days)
    if not _RELATIVE.fullmatch(phrase):
        return None
    seconds, precise = 0, False
    for match in _UNIT_RE.finditer(phrase[: phrase.lower().rindex("ago")]):
        count = int(match["n"]) if match["n"].isdigit() else 1
        unit = match["unit"][0].lower()
        seconds += count * _SECONDS[unit]
        precise = precise or unit in "smh"
    try:
        if not precise:
            return now.date() - timedelta(seconds=seconds)
        return (now.astimezone(UTC) - timedelta(seconds=seconds)).astimezone(zone)
    except OverflowError:
        return None


def _parse_absolute(phrase: str, zone: tzinfo) -> tuple[date | datetime, str | None] | None:
    if _ISO.fullmatch(phrase):
        try:
            value = datetime.fromisoformat(phrase.upper().replace(" ", "T"))
        except ValueError:
            return None
        if len(phrase) == 10:
            return value.date(), None
        return (value if value.tzinfo else value.replace(tzinfo=zone)), None
    for pattern in _ABSOLUTE:
        match = pattern.fullmatch(phrase)
        if match and match["month"].lower() in _MONTHS:
            return _build(match, zone)
    return None


def _build(match: re.Match[str], zone: tzinfo) -> tuple[date | datetime, str | None] | None:
    try:
        day = date(int(match["year"]), _MONTHS[match["month"].lower()], int(match["day"]))
        if match["hour"] is None:
            return day, None
        hour = int(match["hour"])
        if match["ampm"]:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if match["ampm"].lower().startswith("p") else 0)
        tz, note = _zone(match["zone"], match["shift"], zone)
        moment = datetime.combine(day, datetime.min.time()).replace(
            hour=hour, minute=int(match["minute"]), second=int(match["second"] or 0), tzinfo=tz
        )
    except ValueError:
        return None
    return moment, note


def _zone(name: str | None, shift: str | None, site: tzinfo) -> tuple[tzinfo, str | None]:
    if name is None:
        return site, None
    hours = _ZONES.get(name.lower())
    if hours is None or (shift and name.lower() not in ("gmt", "utc")):
        return site, f"unknown time zone '{name}{shift or ''}'; used the site's time zone"
    offset = timedelta(hours=hours)
    if shift:
        sign, hh, mm = _SHIFT.fullmatch(shift).groups()  # type: ignore[union-attr]
        offset = timedelta(hours=int(hh), minutes=int(mm or 0)) * (-1 if sign == "-" else 1)
    return timezone(offset), None


def is_date_line(line: str) -> bool:
    """Tell whether a line reads as a date, whatever the capture time."""
    return parse_date_line(line, _PROBE, UTC) is not None
