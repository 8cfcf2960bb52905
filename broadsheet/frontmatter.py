"""Split a content file into YAML front matter and body, keeping each key's line number.

Input: a file's text. Output: a Document whose `lines` map every top-level key to its line in
the file (not in the front matter block), so every later error can say `path:line`.
YAML is read with the safe C loader where available; anchors, aliases, duplicate keys, absurd
nesting and oversized blocks are refused before any value is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from broadsheet.errors import ContentError, SourceLocation

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FRONT_MATTER = 64 * 1024  # bytes of YAML we accept in one block
MAX_DEPTH = 20  # nesting of lists and mappings
_FENCE = "---"
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map", "merge")
)


@dataclass(frozen=True)
class Document:
    """A content file split into its metadata and its Markdown body."""

    path: Path  # as shown to the user
    meta: Mapping[str, Any]  # the front matter mapping
    lines: Mapping[str, int]  # top-level key -> line in the file
    body: str  # Markdown after the closing fence
    body_line: int  # line of the file where the body starts
    fingerprint: str = ""  # hash of the file's bytes, for change tracking


def read_text(path: Path, shown: Path | str | None = None) -> str:
    """Read a source file as UTF-8 text: BOM dropped, CRLF and lone CR made LF."""
    shown = shown if shown is not None else path
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ContentError(f"cannot read file ({exc.strerror})", SourceLocation(shown)) from exc
    return decode_text(raw, shown)


def decode_text(raw: bytes, shown: Path | str) -> str:
    """Decode bytes as UTF-8 text with normalised line endings, or name the file that isn't."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ContentError("file is UTF-16; save it as UTF-8", SourceLocation(shown))
    raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")  # before lines are counted
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContentError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            SourceLocation(shown, line),
        ) from exc
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ContentError("file contains a NUL byte (is it binary?)", SourceLocation(shown, line))
    return text


def parse_document(text: str, path: Path | str, fingerprint: str = "") -> Document:
    """Split `text` into front matter and body; the file must start with a `---` line."""
    shown = Path(path)
    first_end = text.find("\n")
    if text[: first_end if first_end >= 0 else len(text)].rstrip() != _FENCE:
        raise ContentError(
            "no front matter (the file must start with a '---' line)", SourceLocation(shown, 1)
        )
    closing = _CLOSING_FENCE.search(text, first_end + 1) if first_end >= 0 else None
    if closing is None:
        raise ContentError(
            "front matter is not closed (expected a '---' line after it)", SourceLocation(shown, 1)
        )
    start, fence = first_end + 1, closing.start()
    block = text[start : fence - 1] if fence > start else ""  # without the newline before it
    meta, key_lines = parse_mapping(block, shown, first_line=2)
    body = text[closing.end() + 1 :]
    return Document(shown, meta, key_lines, body, text.count("\n", 0, fence) + 2, fingerprint)


# The line that closes front matter: '---' or '...', trailing spaces allowed (as str.rstrip).
_CLOSING_FENCE = re.compile(r"^(?:---|\.\.\.)[^\S\n]*$", re.MULTILINE)


def parse_mapping(
    text: str, path: Path, first_line: int = 1
) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse a YAML mapping; return its values and the file line of every top-level key."""
    if len(text.encode("utf-8")) > MAX_FRONT_MATTER:
        raise ContentError(
            f"front matter is larger than {MAX_FRONT_MATTER // 1024} KiB",
            SourceLocation(path, first_line),
        )
    return _parse_simple(text, first_line) or parse_checked(text, path, first_line)


def parse_checked(
    text: str, path: Path, first_line: int = 1
) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse a YAML mapping through its node tree, checking every node (the thorough path)."""
    try:
        if _might_nest_deep(text):
            _check_events(text, path, first_line)
        node = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        where = SourceLocation(path, first_line + _error_line(exc, text))
        raise ContentError(f"invalid YAML: {problem}", where) from exc
    if node is None:
        return {}, {}
    if not isinstance(node, yaml.MappingNode):
        raise ContentError(
            "front matter must be a mapping of 'key: value' lines",
            SourceLocation(path, first_line + node.start_mark.line),
        )
    _check_tree(node, path, first_line)
    key_lines: dict[str, int] = {}
    for key_node, _value in node.value:
        line = first_line + key_node.start_mark.line
        key = key_node.value
        if not isinstance(key, str) or not isinstance(key_node, yaml.ScalarNode):
            raise ContentError("keys must be plain words", SourceLocation(path, line))
        if key in key_lines:
            raise ContentError(
                f"duplicate key '{key}' (first on line {key_lines[key]})",
                SourceLocation(path, line),
            )
        key_lines[key] = line
    loader = Loader("")
    try:
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + mark.line if mark else first_line
        raise ContentError(
            f"invalid YAML value: {exc.problem}", SourceLocation(path, line)
        ) from exc
    except (ValueError, OverflowError) as exc:  # a date such as 2025-13-45 that YAML took for one
        line = _failing_line(node, first_line)
        raise ContentError(f"invalid value: {exc}", SourceLocation(path, line)) from exc
    finally:
        loader.dispose()
    return {str(k): v for k, v in data.items()}, key_lines


def _failing_line(root: yaml.MappingNode, first_line: int) -> int:
    """The line of the first top-level value that cannot be built (YAML does not say)."""
    for key_node, value_node in root.value:
        loader = Loader("")
        try:
            loader.construct_object(value_node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError):
            return first_line + key_node.start_mark.line
        finally:
            loader.dispose()
    return first_line


def _parse_simple(text: str, first_line: int) -> tuple[dict[str, Any], dict[str, int]] | None:
    """The fast path for plain front matter: load it directly and find its keys by their lines.

    Taken only when nothing needs the checks of the node tree: no anchors, aliases or tags
    (no '&', '*' or '!' at all), nothing that could nest deeply, and every top-level key found
    once, at the start of a line. Anything else, or any doubt, returns None: the full path.
    """
    if _NODE_PROPERTY.search(text) or _ODD_BREAK.search(text) or _might_nest_deep(text):
        return None
    try:
        data = yaml.load(text, Loader=Loader)
    except (yaml.YAMLError, ValueError, OverflowError):
        return None  # the full path reports it with its line
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        return None
    key_lines: dict[str, int] = {}
    for number, line in enumerate(text.split("\n")):
        match = _TOP_KEY.match(line)
        if match:
            key = match.group(1) or match.group(2) or match.group(3)
            if key in key_lines:
                return None  # a duplicate: the full path names both lines
            key_lines[key] = first_line + number
    return (data, key_lines) if key_lines.keys() == data.keys() else None


# An anchor, alias or tag where a node starts (inside plain text `*emphasis*` is only text);
# and the line breaks YAML counts that str.split does not.
_NODE_PROPERTY = re.compile(r"(?:^|[:?,\-\[{])\s*[&*!]", re.MULTILINE)
_ODD_BREAK = re.compile("[\x85\u2028\u2029\r]")
# A top-level key: at the start of a line, plain or quoted, followed by ':' and a space or the end.
_TOP_KEY = re.compile(
    r"""^(?:"([^"\\]*)"|'([^']*)'|([^\s#'"\-?:\[\]{},&*!|>%@`][^:#]*?))\s*:(?:\s|$)"""
)


def _error_line(exc: yaml.YAMLError, text: str) -> int:
    """The 0-based line of a YAML error; past the end of the block, where the construct began."""
    problem = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context_mark", None)
    last = max(text.count("\n") - (1 if text.endswith("\n") else 0), 0)
    if problem is None:
        return 0
    line = context.line if problem.line > last and context is not None else problem.line
    return min(line, last)


def _might_nest_deep(text: str) -> bool:
    """Tell whether `text` has enough nesting marks to go deeper than MAX_DEPTH.

    Front matter without them cannot reach the depth that crashes the composer, so it skips the
    slower event check; _check_tree still checks depth, aliases and tags on every document.
    """
    marks = sum(text.count(mark) for mark in ("[", "{", "- ", "-\n", "? "))
    return marks > MAX_DEPTH or _DEEP_INDENT.search(text) is not None


_DEEP_INDENT = re.compile(rf"^ {{{MAX_DEPTH},}}", re.MULTILINE)


def _check_events(text: str, path: Path, first_line: int) -> None:
    """Refuse aliases and absurd nesting while streaming events, before any node is composed.

    The composer recurses once per level; in the C loader tens of thousands of '[' (well within
    the size limit) overflow the C stack and kill the process before Python could object.
    """
    depth = 0
    anchors: dict[str, int] = {}  # anchor name -> its line
    for event in yaml.parse(text, Loader=Loader):
        line = first_line + event.start_mark.line
        where = SourceLocation(path, line)
        if isinstance(event, yaml.AliasEvent):  # named where the anchor is, as _check_tree does
            where = SourceLocation(path, anchors.get(event.anchor, line))
            raise ContentError("YAML anchors and aliases are not allowed", where)
        if getattr(event, "anchor", None):
            anchors.setdefault(event.anchor, line)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH + 1:  # the top-level mapping is level 0
                raise ContentError(f"front matter is nested deeper than {MAX_DEPTH} levels", where)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_tree(root: yaml.Node, path: Path, first_line: int) -> None:
    """Refuse aliases (a node reached twice), absurd nesting and non-standard tags."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        where = SourceLocation(path, first_line + node.start_mark.line)
        if id(node) in seen:
            raise ContentError("YAML anchors and aliases are not allowed", where)
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise ContentError(f"front matter is nested deeper than {MAX_DEPTH} levels", where)
        if node.tag not in _PLAIN_TAGS:
            shown = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise ContentError(f"YAML tag {shown} is not allowed", where)
        if isinstance(node, yaml.MappingNode):
            stack.extend((child, depth + 1) for pair in node.value for child in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
