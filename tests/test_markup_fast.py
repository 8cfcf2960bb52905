"""The plain-block fast path of markup.render_markdown writes exactly what markdown-it-py writes.

Every document is rendered twice: by render_markdown (plain paragraphs and headings written
directly, the rest by the parser) and by the parser alone. They must be byte-identical for the
sample content, a benchmark corpus, and thousands of random documents made of the lines that
could fool a fast path: every block start, inline markup, white space at either end, fences,
reference definitions, Unicode spaces.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.corpus import generate_corpus
from broadsheet.markup import MarkdownError, _parser, render_markdown

REPO = Path(__file__).resolve().parents[1]
TRICKY_LINES = [
    "Plain words of a sentence, with 1,000 numbers and (brackets).",
    "Another plain line: with a colon; and 'quotes' and \"double quotes\" > and >.",
    "2024 was a year",
    "1. first",
    "2) second",
    "12345. long",
    "# Heading one",
    "## Heading two",
    "###### Six",
    "####### Seven",
    "#hashtag",
    "## Closed ##",
    "## Hash # inside",
    "##  Two spaces",
    "## Trailing space ",
    "##\tTab",
    "#",
    "## ",
    "## *emphasis* heading",
    "- item",
    "* item",
    "+ item",
    "-item",
    "  - nested item",
    "> quoted",
    ">quoted",
    ">",
    "  indented two",
    "    indented code",
    "\tTabbed",
    "a\ttab inside",
    "---",
    "***",
    "___",
    "===",
    "- - -",
    "Trailing two  ",
    "Trailing one ",
    "Trailing backslash\\",
    "| a | b |",
    "|---|---|",
    "a | b",
    "--- | ---",
    "```",
    "~~~",
    "```python",
    "[ref]: https://example.com/x",
    "[ref]",
    "[link](https://example.com)",
    "![image](pic.png)",
    "<b>html</b>",
    "<https://example.com>",
    "&amp; &copy; &#35;",
    "*em* and _em_ and `code`",
    "~strike~",
    "\u00a0leading no-break space",
    "trailing no-break space\u00a0",
    "line separator\u2028inside",
    "trailing separator\u2028",
    "\x0c",
    "form\x0cfeed",
    "\u3000ideographic space",
    "Escaped \\*stars\\* and \\_under\\_ and \\[brackets\\] and \\<tag\\>",
    "1\\. not a list",
    "\\# not a heading",
    "\\- not an item",
    "a backslash \\a escaping nothing",
    "ends in a backslash\\",
    "double \\\\ backslash then *em*",
    "\\&amp; escaped entity",
    "Fish & chips, AT&T, &amp;, &#35;, &x; and & amp;",
    "a | pipe and a ~ tilde and a ! bang and a ] bracket",
    ": colon first",
    "| pipe first",
    "> > nested quote",
    "> - item in a quote",
    "> ",
    "> trailing space ",
    "> quoted \\*escape\\*",
    "- > quote in an item",
    "- 1. ordered in an item",
    "- ",
    "-",
    "-\ttab item",
    "- [link](https://example.com)",
    "- item with & and \\* escape",
    "- item",
    "- item",
    "> quoted",
    "> quoted",
    "",
    "",
    "",
    " ",
    "\t",
]


def both(text: str) -> tuple[str, str]:
    return render_markdown(text), _parser().render(text, {"page_url": None})


def test_random_documents_render_as_the_parser_renders_them():
    rng = random.Random(7)
    for _ in range(6000):
        lines = [rng.choice(TRICKY_LINES) for _ in range(rng.randint(1, 12))]
        text = "\n".join(lines) + rng.choice(["", "\n", "\n\n"])
        fast, parser = both(text)
        assert fast == parser, repr(text)


def test_mostly_plain_documents_render_as_the_parser_renders_them():
    """Long runs of plain blocks with one tricky line here and there: the usual article."""
    rng = random.Random(11)
    plain = [*TRICKY_LINES[:3], "## A subhead", "Short.", "> A quote.", "- An item"]
    for _ in range(2000):
        lines = []
        for _ in range(rng.randint(2, 20)):
            lines.append(rng.choice(TRICKY_LINES) if rng.random() < 0.15 else rng.choice(plain))
            lines.extend([""] * rng.choice([0, 1, 1, 1, 2]))
        text = "\n".join(lines)
        fast, parser = both(text)
        assert fast == parser, repr(text)


def test_sample_content_and_a_benchmark_corpus_render_as_the_parser_renders_them(tmp_path):
    generate_corpus(tmp_path, 300, seed=3)
    files = sorted((REPO / "content").rglob("*.md")) + sorted((tmp_path / "content").rglob("*.md"))
    assert len(files) > 300
    for path in files:
        body = path.read_text(encoding="utf-8").split("---\n", 2)[-1]
        fast, parser = both(body)
        assert fast == parser, path


def test_plain_blocks_are_written_without_the_parser(monkeypatch):
    """The fast path is taken: with the parser unavailable, plain text still renders."""
    monkeypatch.setattr("broadsheet.markup._parser", None)
    text = 'A "plain" paragraph > 1.\nIts second line.\n\n## A subhead\nRight after it.\n'
    assert render_markdown(text) == (
        "<p>A &quot;plain&quot; paragraph &gt; 1.\nIts second line.</p>\n"
        "<h2>A subhead</h2>\n<p>Right after it.</p>\n"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Intro\n\nMore\n\n" + "> " * 30 + "deep", 4),
        ("Intro\n\n- a\n\nMiddle\n\n" + "- " * 30 + "deep", 6),
        ("> " * 30 + "deep\n\nOutro", 0),
    ],
)
def test_an_error_in_a_run_of_blocks_names_its_line_in_the_document(text, line):
    for render in (render_markdown, lambda t: _parser().render(t, {"page_url": None})):
        with pytest.raises(MarkdownError) as caught:
            render(text)
        assert caught.value.line == line
