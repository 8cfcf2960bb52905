"""Front matter: the fast path for plain YAML gives exactly what the checked path gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadsheet.frontmatter import _parse_simple, parse_checked, parse_document
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
    simple = _parse_simple(text, 2)
    try:
        checked = parse_checked(text, Path("x.md"), 2)
    except Exception:
        assert simple is None
        return
    assert simple is None or simple == checked


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
    simple = _parse_simple(text, 2)
    if simple is not None:
        assert simple == parse_checked(text, Path("x.md"), 2)


def test_key_lines_are_lines_of_the_file() -> None:
    document = parse_document("---\ntitle: T\n\ndate: 2025-12-02\n---\nBody\n", "x.md")
    assert dict(document.lines) == {"title": 2, "date": 4}
