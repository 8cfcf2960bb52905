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
from functools import lru_cache
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
    found = _parse_flat(text, first_line) or _parse_simple(text, first_line)
    return found or parse_checked(text, path, first_line)


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


def _parse_flat(text: str, first_line: int) -> tuple[dict[str, Any], dict[str, int]] | None:
    """The fastest path, for front matter as the importer and most people write it, line by line.

    Top-level `key: value` lines whose value is one scalar (plain, "double" or 'single' quoted
    on its line) or a flow list of plain scalars, or `key:` followed by a block list of such
    scalars or of one-level mappings of them (images). Plain scalars are resolved and built by
    PyYAML's own resolver and constructors. Anything else, or any doubt, returns None for the
    next path: libyaml, which gives the same values (tests/test_frontmatter.py compares them).
    """
    if _NOT_FLAT_TEXT.search(text):
        return None
    lines = text.split("\n")
    data: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    number = 0
    while number < len(lines):
        line = lines[number]
        if not line.strip(" ") or line[0] == "#":
            number += 1
            continue
        pair = _flat_pair(line)
        if pair is None or pair[0] in data:
            return None
        key, value = pair
        key_lines[key] = first_line + number
        number += 1
        if value is _EMPTY:
            value, number = _block_list(lines, number)
        elif value is _KEEP_END or value is _STRIP_END:
            value, number = _literal_block(lines, number, keep_end=value is _KEEP_END)
        if value is _NOT_FLAT:
            return None
        data[key] = value
    return (data, key_lines) if data else None


def _flat_pair(line: str) -> tuple[str, Any] | None:
    """A `key: value` line's key and value (_EMPTY for `key:` alone, _KEEP_END or _STRIP_END
    before a `|` or `|-` block); None if not that simple."""
    match = _FLAT_KEY.match(line)
    if match is None or _plain_scalar(match.group(1)) != match.group(1):
        return None  # a key YAML reads as something else (`yes:`, `null:`)
    rest = (match.group(2) or "").rstrip(" ")
    if rest in _LITERAL:
        return match.group(1), _LITERAL[rest]  # the caller reads the lines that follow
    return match.group(1), (_flow_value(rest) if rest else _EMPTY)


def _block_list(lines: list[str], number: int) -> tuple[Any, int]:
    """The block list starting at `lines[number]`, if one does, and the line after it.

    Without one the value is null (`key:` alone). Items are scalars or flat mappings whose
    further keys are indented two more spaces than the dash.
    """
    start = _ITEM.match(lines[number]) if number < len(lines) else None
    if start is None:
        return None, number
    dash, items = start.group(1), []
    inside = dash + "  "
    while number < len(lines) and lines[number].startswith(dash + "- "):
        content = lines[number][len(dash) + 2 :]
        number += 1
        pair = _flat_pair(content)
        if pair is None:  # a scalar, or a key libyaml would read as something else (`yes: x`)
            plain = content.rstrip(" ")
            items.append(_flow_value(plain) if plain and plain[0] != " " else _NOT_FLAT)
            continue
        mapping = dict([pair])
        while number < len(lines) and _indented_by(lines[number], inside):
            more = _flat_pair(lines[number][len(inside) :])
            if more is None:
                return _NOT_FLAT, number
            mapping[more[0]] = more[1]
            number += 1
        if any(value in (_EMPTY, _NOT_FLAT, _KEEP_END, _STRIP_END) for value in mapping.values()):
            return _NOT_FLAT, number
        items.append(mapping)
    return (_NOT_FLAT if any(item is _NOT_FLAT for item in items) else items), number


def _literal_block(lines: list[str], number: int, keep_end: bool) -> tuple[Any, int]:
    """The text of a `|` (`keep_end`) or `|-` block starting at `lines[number]`, and the line
    after it. Its first line sets the indentation; blank lines inside are kept, trailing ones
    dropped, one line break kept at the end with `|` if the block had one."""
    first = lines[number] if number < len(lines) else ""
    indent = len(first) - len(first.lstrip(" "))
    if not indent or not first.strip(" "):
        return _NOT_FLAT, number  # a block starting with blank lines, or an empty one
    kept: list[str] = []
    last = number
    while number < len(lines):
        line = lines[number]
        if line.strip(" "):
            if not line.startswith(" " * indent):
                break  # less indented: the next key
            kept.append(line[indent:])
            last = number
        elif len(line) > indent:
            return _NOT_FLAT, number  # spaces that would be content
        else:
            kept.append("")
        number += 1
    while not kept[-1]:
        kept.pop()
    end = "\n" if keep_end and last < len(lines) - 1 else ""  # its last line had a line break
    return "\n".join(kept) + end, number


def _indented_by(line: str, indent: str) -> bool:
    """Whether `line` is `indent` then text (not more spaces, not nothing)."""
    return line.startswith(indent) and line[len(indent) : len(indent) + 1] not in ("", " ")


def _flow_value(text: str) -> Any:
    """The value of one scalar or flow list on its line; _NOT_FLAT when it is anything else."""
    first = text[0]
    if first == '"':
        return text[1:-1] if _DOUBLE_QUOTED.fullmatch(text) else _NOT_FLAT
    if first == "'":
        return text[1:-1].replace("''", "'") if _SINGLE_QUOTED.fullmatch(text) else _NOT_FLAT
    if first == "[":
        inner = text[1:-1].strip(" ")
        if text[-1] != "]" or _NOT_FLOW_ITEM.search(inner):
            return _NOT_FLAT
        items = [_plain_scalar(item.strip(" ")) for item in inner.split(",")] if inner else []
        return _NOT_FLAT if any(item is _NOT_FLAT for item in items) else items
    return _plain_scalar(text) if _is_plain(text) else _NOT_FLAT


def _is_plain(text: str) -> bool:
    """A plain scalar that means itself in a block: no indicator first, no comment, no `: `."""
    return text[0] not in _INDICATORS and ": " not in text and " #" not in text and text[-1] != ":"


@lru_cache(maxsize=4096)
def _plain_scalar(text: str) -> Any:
    """What PyYAML makes of a plain scalar (a string, number, bool, null or date); _NOT_FLAT for
    a flow item that is not plain, a tag we do not build or a value it refuses (2025-13-45)."""
    if not text or not _is_plain(text):
        return _NOT_FLAT
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    if tag == "tag:yaml.org,2002:str":
        return text
    build = _CONSTRUCTOR.yaml_constructors.get(tag) if tag in _BUILT_TAGS else None
    try:
        return build(_CONSTRUCTOR, yaml.ScalarNode(tag, text)) if build else _NOT_FLAT
    except (ValueError, OverflowError, yaml.YAMLError):
        return _NOT_FLAT


_EMPTY = object()  # `key:` with nothing after it on its line
_KEEP_END, _STRIP_END = object(), object()  # a `|` or `|-` block follows
_LITERAL = {"|": _KEEP_END, "|-": _STRIP_END}
_NOT_FLAT = object()  # a value _parse_flat leaves to libyaml
_RESOLVER = yaml.resolver.Resolver()
_BUILT_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "null", "timestamp")
)
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
# Characters that are not printable for YAML, that it reads as line breaks, or tabs: not flat.
_NOT_FLAT_TEXT = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
)
_FLAT_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]{0,127}):(?: +(.*)|$)")  # libyaml: keys < 1024
_ITEM = re.compile(r"( *)- ")
_DOUBLE_QUOTED = re.compile(r'"[^"\\]*"')
_SINGLE_QUOTED = re.compile(r"'(?:[^']|'')*'")
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_NOT_FLOW_ITEM = re.compile(r"[\[\]{}:#'\"]")


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
