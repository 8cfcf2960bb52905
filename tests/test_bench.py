"""The benchmark corpus generator: deterministic, valid in our schema, and buildable."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.corpus import generate_corpus
from bench.run import calibrate, render_calibration
from broadsheet.config import load_config
from broadsheet.content import parse_article, parse_digest_note, parse_page
from broadsheet.frontmatter import parse_document, read_text

ARTICLES = 30


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_generate_corpus_is_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    first = generate_corpus(tmp_path / "one", ARTICLES, seed=7)
    second = generate_corpus(tmp_path / "two", ARTICLES, seed=7)
    other = generate_corpus(tmp_path / "three", ARTICLES, seed=8)

    assert len(first.articles) == ARTICLES
    assert _files(first.root) == _files(second.root)
    assert _files(first.root) != _files(other.root)


def test_generate_corpus_writes_articles_notes_and_pages_in_our_schema(tmp_path: Path) -> None:
    corpus = generate_corpus(tmp_path / "project", ARTICLES)
    config = load_config(corpus.root)
    assert config.timezone == "UTC" and len(config.sections) == 5
    assert len(config.tag_vocabulary) == 40

    tags: Counter[str] = Counter()
    words = []
    for path in corpus.articles:
        shown = path.relative_to(corpus.root)
        article = parse_article(parse_document(read_text(path), shown), config)
        assert path.name == f"{article.published.date().isoformat()}-{article.slug}.md"
        assert 2 <= len(article.tags) <= 4 and 1 <= len(article.highlights) <= 3
        assert article.section in config.sections
        assert article.body_html.count("<h2>") == 2
        tags.update(tag.name for tag in article.tags)
        words.append(len(parse_document(read_text(path), shown).body.split()))
    assert len({p.name for p in corpus.articles}) == ARTICLES
    assert 800 <= sum(words) / len(words) <= 1050
    counts = tags.most_common()
    assert counts[0][1] > counts[-1][1]

    notes = sorted((corpus.root / "content" / "digests").glob("*.md"))
    assert notes and corpus.notes == len(notes)
    for path in notes:
        parse_digest_note(parse_document(read_text(path), path.name), config)
    about = corpus.root / "content" / "pages" / "about.md"
    assert parse_page(parse_document(read_text(about), "about.md"), config).title == "About"


def test_generated_corpus_builds(tmp_path: Path, cli: Callable[..., Any]) -> None:
    corpus = generate_corpus(tmp_path / "project", ARTICLES)

    run = cli(corpus.root)

    assert run.code == 0, run.err
    assert "warning" not in run.err
    built = list((corpus.root / "site" / "articles").glob("*/index.html"))
    drafts = sum("draft: true" in p.read_text(encoding="utf-8") for p in corpus.articles)
    assert len(built) == ARTICLES - drafts


def test_the_results_say_how_fast_the_machine_was() -> None:
    seconds = calibrate(runs=1)
    assert 0.001 < seconds < 60
    line = render_calibration(
        [
            {"articles": 1000, "calibration_seconds": [0.33, 0.31]},
            {"articles": 10000, "calibration_seconds": [0.3, 0.301]},
        ]
    )
    assert line.endswith("(lower is faster): 1,000: 0.31-0.33 s, 10,000: 0.30 s")
