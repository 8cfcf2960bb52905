"""`{% cache %}` fragments: rendered once per build, never carried into the next one."""

from __future__ import annotations

import html
import re
from pathlib import Path

from tests.conftest import ARTICLE, article

TAG_PAGE = "site/tags/space/index.html"
_CARD = re.compile(r'<article class="card">(.*?)</article>', re.S)
_LINK = re.compile(r'class="card-title"><a href="([^"]+)">([^<]*)</a>')
_SUMMARY = re.compile(r'<p class="summary">([^<]*)</p>')


def _cards(page: Path) -> list[tuple[str, str, str | None]]:
    """(link, title, summary) of every card on a listing page."""
    cards = []
    for card in _CARD.findall(page.read_text(encoding="utf-8")):
        link = _LINK.search(card)
        assert link, card
        summary = _SUMMARY.search(card)
        text = html.unescape(summary.group(1)) if summary else None
        cards.append((link.group(1), html.unescape(link.group(2)), text))
    return cards


def _summaries(page: Path) -> list[str | None]:
    return [summary for _, _, summary in _cards(page)]


def test_a_cards_fragment_follows_an_edit_in_the_same_process(sample_site: Path, cli) -> None:
    # cli runs in this process, so the second build reuses the first one's Jinja environment
    assert cli(sample_site).code == 0
    source = sample_site / ARTICLE
    text = source.read_text()
    assert "\nsummary: " in text
    lines = [
        "summary: A summary written for this test." if line.startswith("summary: ") else line
        for line in text.splitlines()
    ]
    source.write_text("\n".join(lines) + "\n")
    assert cli(sample_site).code == 0
    summaries = _summaries(sample_site / TAG_PAGE)
    assert "A summary written for this test." in summaries
    digest_pages = sorted((sample_site / "site/digests").glob("*/index.html"))
    assert any("A summary written for this test." in _summaries(p) for p in digest_pages)


def test_each_card_shows_its_own_article(sample_site: Path, cli) -> None:
    assert cli(sample_site).code == 0
    listings = [
        sample_site / TAG_PAGE,
        *sorted((sample_site / "site/digests").glob("*/index.html")),
    ]
    checked = 0
    for listing in listings:
        for link, title, summary in _cards(listing):
            target = (sample_site / "site" / link.strip("/") / "index.html").read_text()
            heading = re.search(r"<h1>([^<]*)</h1>", target)
            description = re.search(r'<meta name="description" content="([^"]*)">', target)
            assert heading and description
            assert html.unescape(heading.group(1)) == title
            if summary is not None:
                assert html.unescape(description.group(1)) == summary
            checked += 1
    assert checked >= 16


def _page_template(root: Path, body: str) -> None:
    (root / "templates/page.html").write_text(
        '{% extends "base.html" %}\n{% block content %}\n' + body + "\n{% endblock %}\n"
    )


def test_two_cache_blocks_with_the_same_key_keep_their_own_text(make_site, cli) -> None:
    root = make_site(
        {
            "content/articles/2025-12-02-a.md": article(),
            "content/pages/about.md": "---\ntitle: About\n---\nAbout us.\n",
        }
    )
    _page_template(
        root,
        '{% cache "same" %}<p id="one">first</p>{% endcache %}\n'
        '{% cache "same" %}<p id="two">second</p>{% endcache %}',
    )
    assert cli(root).code == 0
    page = (root / "site/about/index.html").read_text()
    assert '<p id="one">first</p>' in page
    assert '<p id="two">second</p>' in page


def test_a_cache_key_that_is_not_text_or_a_number_is_an_error_with_its_line(make_site, cli) -> None:
    root = make_site(
        {
            "content/articles/2025-12-02-a.md": article(),
            "content/pages/about.md": "---\ntitle: About\n---\nAbout us.\n",
        }
    )
    _page_template(root, "{% cache page %}<p>{{ page.title }}</p>{% endcache %}")
    run = cli(root)
    assert run.code == 1
    assert "templates/page.html:3:" in run.err
    assert "a cache key is made of strings and numbers, not Page" in run.err
    assert not (root / "site").exists()


def test_compiled_templates_are_kept_for_one_version_of_the_code(tmp_path, monkeypatch):
    """What a cache block compiles to is the code's to say: templates compiled by another
    version of it (kept in .cache/) are compiled again, not run."""
    import jinja2

    from broadsheet import render

    env = jinja2.Environment(loader=jinja2.DictLoader({"page.html": "text"}))
    kept = render.CompiledTemplates(tmp_path)
    bucket = kept.get_bucket(env, "page.html", None, "text")
    bucket.code = compile("", "page.html", "exec")
    kept.set_bucket(bucket)
    assert render.CompiledTemplates(tmp_path).get_bucket(env, "page.html", None, "text").code
    monkeypatch.setattr(render, "generator", lambda: "another version of the code")
    assert (
        render.CompiledTemplates(tmp_path).get_bucket(env, "page.html", None, "text").code is None
    )
