"""Front matter: the fast paths for plain YAML give exactly what the checked path gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from broadsheet.frontmatter import _parse_flat, _parse_simple, parse_checked, parse_document
from tests.conftest import FIXTURES, REPO

SOURCES = sorted((REPO / "content").rglob("*.md")) + sorted((FIXTURES / "golden").rglob("*.md"))

TRICKY = [
    'title: "a: b"\ndate: 2025-12-02\n',
    "title: 'quoted'\n'date': 2025-12-02\n",
    '"title": x\ndate: 2025-12-02\n',
    "title: >\n  folded\n  text\ndate: 2025-12-02\n",
    "title: |\n  key: inside a block\ndate: 2025-12-02\n",
    "tags:\n- a\n- b\ntitle: T\n",
    "images:\n  - caption: x\n    credit: y\ntitle: T\n",
    "title: T # a comment\n# date: not a key\ndate: 2025-12-02\n",
    "title: T\ntitle: U\n",
    "title: T\nextra: {a: 1, b: [1, 2]}\n",
    "title:\n  nested: map\n",
    "title: no\n",
    "url: https://example.org/a?b=c#d\ntitle: T\n",
    "note: |\n  first\n     \n  second\ntitle: T\n",
    "note: |\n  first\n\n    indented\n\n\ntitle: T\n",
    "note: |-\n  first\n  second\n",
    "note: |\n  last line without a break",
    "note: |\n\n  after a blank line\n",
]


def _both(text: str) -> tuple[object, object]:
    return _parse_simple(text, 2), parse_checked(text, Path("x.md"), 2)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_fast_path_agrees_on_every_sample_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    block = text.split("---\n")[1]
    simple, checked = _both(block)
    assert simple is not None, "plain front matter should take the fast path"
    assert simple == checked


@pytest.mark.parametrize("text", TRICKY)
def test_fast_path_agrees_or_steps_aside(text: str) -> None:
    for fast in (_parse_flat(text, 2), _parse_simple(text, 2)):
        try:
            checked = parse_checked(text, Path("x.md"), 2)
        except Exception:
            assert fast is None
            continue
        assert fast is None or _typed(fast) == _typed(checked)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.text(
            st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
        ),
        st.one_of(
            st.text(max_size=30),
            st.integers(),
            st.booleans(),
            st.lists(st.text(max_size=10), max_size=3),
        ),
        max_size=6,
    )
)
def test_fast_path_agrees_on_any_dumped_mapping(data: dict) -> None:
    import yaml

    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    checked = parse_checked(text, Path("x.md"), 2)
    for fast in (_parse_flat(text, 2), _parse_simple(text, 2)):
        assert fast is None or _typed(fast) == _typed(checked)


def test_key_lines_are_lines_of_the_file() -> None:
    document = parse_document("---\ntitle: T\n\ndate: 2025-12-02\n---\nBody\n", "x.md")
    assert dict(document.lines) == {"title": 2, "date": 4}


# Lines that could fool the line-by-line path: every kind of value it takes, and the ones it
# must leave to libyaml (other scalar styles, comments, nesting, indentation, odd characters).
FLAT_LINES = [
    'title: "A quoted title: with a colon"',
    "title: 'It''s single-quoted'",
    "title: Plain title, with a comma",
    "title: Plain # with a comment",
    "title: C# and F#",
    "title: yes",
    "title: No",
    "title: ~",
    "title: null",
    "title: 2024",
    "title: 1_000",
    "title: 0x1F",
    "title: 1:20",
    "title: .5",
    "title: -3",
    "title: =",
    "title: <<",
    "title: ...",
    "title: a: b",
    "title: ends with:",
    'title: "unclosed',
    'title: "with \\"escape\\""',
    'title: "trailing" text',
    "title: 'a' 'b'",
    'title: "a \\t b"',
    "title: &anchor x",
    "title: *alias",
    "title: !!str 5",
    "title: |",
    "title: |-",
    "title: |+",
    "title: >",
    "title: {a: 1}",
    "title:   spaced   out   ",
    "title:\ttab",
    "title: no\u0085break",
    "title: line\u2028separator",
    "title: paragraph\u2029separator",
    "# comment\u2028draft: true",
    'title: "|"',
    "title: '|-'",
    "t" * 130 + ": a long key",
    "title: bom\ufeff",
    "title: bell\x07",
    "date: 2025-12-02",
    "date: 2025-12-02T09:30:00+01:00",
    "date: 2025-12-02 09:30",
    "date: 2025-13-45",
    "url: https://example.org/a?b=c#d",
    "tags: [economy, middle-east, new york]",
    "tags: []",
    "tags: [ ]",
    "tags: [a, ]",
    "tags: [a,, b]",
    "tags: [yes, 2024, null]",
    "tags: [a: b]",
    "tags: [[nested]]",
    'tags: ["quoted", b]',
    "tags: [a, b",
    "tags: [a, bc",
    "tags:",
    "images:",
    "yes: key",
    "null: key",
    "_under-score: x",
    '"quoted key": x',
    "key : spaced",
    "key:no-space",
    "- item",
    "  - item",
    "  - 'single item'",
    '  - "double item"',
    "  - yes",
    "  - ",
    "  -",
    "  - - nested",
    "  - [flow, in, item]",
    "  - caption: a caption",
    '  - caption: "quoted caption"',
    "    credit: a credit",
    "    credit:",
    "    caption: again",
    "      deeper: x",
    "- caption: at the margin",
    "  credit: under it",
    "  text in a block",
    "    more text",
    "   odd indent",
    "  # comment in a block",
    "  ",
    "     ",
    "# a comment",
    "",
    "",
]


def _typed(value: object) -> str:
    """repr: True and 1, or two datetimes at the same instant, are not the same value here."""
    return repr(value)


def test_flat_path_agrees_with_libyaml_on_random_documents() -> None:
    rng = random.Random(5)
    taken = 0
    for _ in range(25000):
        lines = [rng.choice(FLAT_LINES) for _ in range(rng.randint(1, 8))]
        text = "\n".join(lines) + rng.choice(["", "\n"])
        flat = _parse_flat(text, 2)
        if flat is None:
            continue
        taken += 1
        assert _typed(flat[0]) == _typed(yaml.load(text, Loader=yaml.CSafeLoader)), repr(text)
        assert flat == parse_checked(text, Path("x.md"), 2), repr(text)
    assert taken > 1000  # the path is taken often enough for the comparison to mean something


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_flat_path_takes_every_sample_file(path: Path) -> None:
    block = path.read_text(encoding="utf-8").split("---\n")[1]
    flat = _parse_flat(block, 2)
    assert flat is not None
    assert _typed(flat) == _typed(parse_checked(block, Path("x.md"), 2))
