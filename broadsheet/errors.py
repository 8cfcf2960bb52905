"""Errors a user sees: each knows its file and line and how to show itself.

Stages collect problems into an ErrorList and raise it once, so one build reports every broken
file. Only cli.py catches these, prints them and picks the exit code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceLocation:
    """A place in a source file, shown as `path:line`."""

    path: Path | str  # relative to the project root when shown
    line: int | None = None  # 1-based line of the file, None for the whole file

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


class BroadsheetError(Exception):
    """Base of every error the user is meant to read; `exit_code` is what cli.py returns."""

    exit_code = 1

    def __init__(self, message: str, location: SourceLocation | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def __reduce__(self) -> tuple[type, tuple[str, SourceLocation | None]]:
        """Survive pickling, so worker processes can report errors."""
        return (self.__class__, (self.message, self.location))


class ContentError(BroadsheetError):
    """A content file is broken: bad front matter, a bad value, a collision."""


class ConfigError(BroadsheetError):
    """config.yml is broken or a command-line setting is invalid."""

    exit_code = 2


class OutputError(BroadsheetError):
    """The output folder is unsafe to write or cannot be written."""

    exit_code = 3


class TemplateError(BroadsheetError):
    """A template failed to load or render."""


class ImportFailure(BroadsheetError):
    """Raw copied text could not be turned into an article."""


class DeployError(BroadsheetError):
    """Publishing was refused (stale site, unsaved changes) or a git command failed."""


class ErrorList(BroadsheetError):
    """Several errors found by one stage, raised together."""

    def __init__(self, errors: Iterable[BroadsheetError]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(str(e) for e in self.errors))
        self.exit_code = max((e.exit_code for e in self.errors), default=1)

    def __iter__(self) -> Iterator[BroadsheetError]:
        return iter(self.errors)

    def __reduce__(self) -> tuple[type, tuple[tuple[BroadsheetError, ...]]]:  # type: ignore[override]
        """Survive pickling with every error kept."""
        return (self.__class__, (self.errors,))


class ErrorCollector:
    """Gather errors while a stage runs; `raise_if_any` raises them as one ErrorList."""

    def __init__(self) -> None:
        self.errors: list[BroadsheetError] = []

    def add(self, error: BroadsheetError) -> None:
        """Record one error, flattening an ErrorList."""
        if isinstance(error, ErrorList):
            self.errors.extend(error.errors)
        else:
            self.errors.append(error)

    def raise_if_any(self) -> None:
        """Raise everything collected so far, sorted by file and line."""
        if self.errors:
            ordered = sorted(self.errors, key=_sort_key)
            raise ErrorList(ordered)


def _sort_key(error: BroadsheetError) -> tuple[str, int]:
    loc = error.location
    return (str(loc.path), loc.line or 0) if loc else ("", 0)
