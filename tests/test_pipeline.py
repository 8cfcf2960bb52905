"""The whole build on the sample project: every page parses, every link resolves, builds repeat."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jinja2
import pytest

from broadsheet import pipeline as pipeline_module
from broadsheet.config import load_config
from broadsheet.model import BuildContext
from broadsheet.pipeline import build
from tests.conftest import MINIMAL_CONFIG, article, articles_for_workers
from tests.sitecheck import broken_links, html_pages, manifest, parse_page

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def built(sample_site: Path, cli) -> Path:
    run = cli(sample_site)
    assert run.code == 0, run.err
    return sample_site / "site"


def test_build_prints_one_summary_line_and_no_warnings(sample_site: Path, cli) -> None:
    run = cli(sample_site)
    assert run.code == 0
    assert run.err.splitlines() == [run.err.strip()]
    assert run.err.startswith("built 16 articles, 5 digests, 19 tags, ")
    assert "warning" not in run.err


def test_every_internal_link_and_asset_resolves(built: Path) -> None:
    assert broken_links(built, "/", "https://example.org") == []


def test_every_internal_link_resolves_under_a_base_path(sample_site: Path, cli) -> None:
    run = cli(sample_site, "--base-url", "https://example.github.io/demo/")
    assert run.code == 0, run.err
    out = sample_site / "site"
    assert broken_links(out, "/demo/", "https://example.github.io") == []
    home = parse_page(out / "index.html")
    stylesheets = [a["href"] for a in home.find("link") if a.get("rel") == "stylesheet"]
    assert stylesheets == ["/demo/static/css/style.css"]
    canonical = [a["href"] for a in home.find("link") if a.get("rel") == "canonical"]
    assert canonical == ["https://example.github.io/demo/"]


def test_site_has_every_kind_of_page(built: Path) -> None:
    for name in (
        "index.html",
        "404.html",
        "archive/index.html",
        "tags/index.html",
        "tags/climate/index.html",
        "tags/climate/page/2/index.html",
        "tags/climate/feed.xml",
        "digests/2025-12-02/index.html",
        "articles/ai-model-helps-astronomers-spot-faint-comet/index.html",
        "about/index.html",
        "feed.xml",
        "feed.json",
        "sitemap.xml",
        "robots.txt",
        "static/css/style.css",
    ):
        assert (built / name).is_file(), name


def test_pages_are_semantic_html(built: Path) -> None:
    for path in html_pages(built):
        page = parse_page(path)
        html = page.find("html")
        assert html and html[0].get("lang") == "en", path
        for landmark in ("header", "nav", "main", "footer"):
            assert page.find(landmark), f"{path} has no <{landmark}>"
        assert len(page.find("h1")) == 1, path
        metas = {a.get("name") or a.get("property"): a.get("content") for a in page.find("meta")}
        assert metas.get("description"), path
        assert metas.get("og:title"), path
        assert all(t.get("datetime") for t in page.find("time")), path


def test_draft_appears_nowhere(built: Path) -> None:
    assert not (built / "articles/offshore-wind-auction-draws-record-bids").exists()
    for path in built.rglob("*"):
        if path.is_file():
            assert b"Offshore wind auction draws record bids" not in path.read_bytes(), path


def test_drafts_flag_includes_and_marks_drafts(sample_site: Path, cli) -> None:
    assert cli(sample_site, "--drafts").code == 0
    page = sample_site / "site/articles/offshore-wind-auction-draws-record-bids/index.html"
    assert "Draft" in "".join(parse_page(page).text)


def test_digest_page_groups_articles_by_section_in_config_order(built: Path) -> None:
    page = parse_page(built / "digests/2025-12-02/index.html")
    sections = [a.get("aria-label") for a in page.find("section")]
    assert sections == ["Politics", "Business", "Science", "Culture"]
    text = " ".join(page.text)
    assert "Digest No. 5" in text
    assert "Wind takes the lead" in text
    assert "Older: No. 4" in text


def test_home_shows_latest_digest_then_the_others(built: Path) -> None:
    page = parse_page(built / "index.html")
    headings = " ".join(page.text)
    assert "Wind takes the lead" in headings
    links = page.links
    assert "/digests/2025-12-01/" in links and "/digests/2025-11-28/" in links


def test_atom_feed_has_required_elements(built: Path) -> None:
    feed = ET.parse(built / "feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{name}") is not None, name
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 5
    for entry in entries:
        for name in ("id", "title", "updated", "content", "link"):
            assert entry.find(f"{ATOM}{name}") is not None, name
        assert entry.find(f"{ATOM}id").text.startswith("https://example.org/digests/")
    first = entries[0].find(f"{ATOM}content").text
    assert "Wind power overtakes gas" in first


def test_tag_feed_lists_the_tags_articles(built: Path) -> None:
    feed = ET.parse(built / "tags/climate/feed.xml").getroot()
    assert len(feed.findall(f"{ATOM}entry")) == 6


def test_json_feed_has_required_keys(built: Path) -> None:
    feed = json.loads((built / "feed.json").read_text())
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] and feed["home_page_url"] == "https://example.org/"
    assert len(feed["items"]) == 5
    for item in feed["items"]:
        assert (
            item["id"] and item["content_html"] and item["url"].startswith("https://example.org/")
        )


def test_sitemap_lists_absolute_urls_of_every_page(built: Path) -> None:
    root = ET.parse(built / "sitemap.xml").getroot()
    locations = [e.text for e in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert "https://example.org/" in locations
    assert "https://example.org/articles/ai-model-helps-astronomers-spot-faint-comet/" in locations
    assert all(loc.startswith("https://example.org/") for loc in locations)
    assert "Sitemap: https://example.org/sitemap.xml" in (built / "robots.txt").read_text()


def test_two_builds_are_byte_identical(sample_site: Path, cli, tmp_path: Path) -> None:
    assert cli(sample_site, "--output", str(tmp_path / "one")).code == 0
    assert cli(sample_site, "--output", str(tmp_path / "two")).code == 0
    assert manifest(tmp_path / "one") == manifest(tmp_path / "two")


def test_a_build_leaves_the_cycle_collector_as_it_found_it(sample_site: Path, cli) -> None:
    """A build keeps the collector off its model, frozen: serve, which builds again and
    again in one process, must get it back on, with nothing left frozen."""
    import gc

    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert cli(sample_site).code == 0
    assert gc.isenabled() and gc.get_freeze_count() == 0
    article = sample_site / "content/articles/broken.md"
    article.write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")  # fails in loading
    assert cli(sample_site).code == 1
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_failed_build_leaves_previous_site_untouched(sample_site: Path, cli) -> None:
    assert cli(sample_site).code == 0
    before = manifest(sample_site / "site")
    (sample_site / "content/articles/2025-12-02-broken.md").write_text("---\ntitle: [\n---\n")
    run = cli(sample_site)
    assert run.code == 1
    assert "content/articles/2025-12-02-broken.md:2: invalid YAML" in run.err
    assert manifest(sample_site / "site") == before


def test_deleted_article_disappears_everywhere(sample_site: Path, cli) -> None:
    assert cli(sample_site).code == 0
    victim = "ai-model-helps-astronomers-spot-faint-comet"
    (sample_site / f"content/articles/2025-12-02-{victim}.md").unlink()
    assert cli(sample_site).code == 0
    out = sample_site / "site"
    assert not (out / "articles" / victim).exists()
    for path in out.rglob("*"):
        if path.is_file():
            assert victim.encode() not in path.read_bytes(), path


def test_unchanged_files_keep_their_modification_time(sample_site: Path, cli) -> None:
    assert cli(sample_site).code == 0
    about = sample_site / "site/about/index.html"
    before = about.stat().st_mtime_ns
    path = (
        sample_site / "content/articles/2025-12-02-ai-model-helps-astronomers-spot-faint-comet.md"
    )
    path.write_text(path.read_text() + "\nOne more line.\n")
    assert cli(sample_site).code == 0
    assert about.stat().st_mtime_ns == before


def test_weekly_digests_group_by_iso_week(make_site, cli) -> None:
    config = "title: T\nbase_url: https://example.org/\ndigest_period: week\n"
    root = make_site(
        {
            "content/articles/2025-12-01-a.md": article("Monday story", "2025-12-01"),
            "content/articles/2025-12-07-b.md": article("Sunday story", "2025-12-07"),
            "content/articles/2025-12-08-c.md": article("Next Monday", "2025-12-08"),
            "content/digests/2025-W49.md": "---\ntitle: Week of talks\n---\nIntro *here*.\n",
        },
        config,
    )
    run = cli(root)
    assert run.code == 0, run.err
    page = parse_page(root / "site/digests/2025-W49/index.html")
    text = " ".join(page.text)
    assert "Week of talks" in text and "Monday story" in text and "Sunday story" in text
    assert "Next Monday" not in text
    assert (root / "site/digests/2025-W50/index.html").is_file()


def test_verbose_prints_stage_timings(sample_site: Path, cli) -> None:
    run = cli(sample_site, "-v")
    for stage in ("load", "model", "render", "write"):
        assert f"  {stage}" in run.err


def test_feed_dates_are_rfc_3339_even_where_a_zone_once_had_seconds(make_site, cli) -> None:
    """Amsterdam kept time at +00:19:32 until 1937: RFC 3339 offsets have no seconds."""
    config = MINIMAL_CONFIG.replace("timezone: UTC", "timezone: Europe/Amsterdam")
    root = make_site(
        {"content/articles/1930-05-01-x.md": article("Old", date="1930-05-01T12:00:00+00:00")},
        config=config,
    )
    assert cli(root).code == 0
    rfc3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
    feed = ET.parse(root / "site/feed.xml").getroot()
    updated = [e.text or "" for e in feed.iter(f"{ATOM}updated")]
    published = [
        i["date_published"] for i in json.loads((root / "site/feed.json").read_text())["items"]
    ]
    assert updated and published
    assert all(rfc3339.fullmatch(value) for value in updated + published), updated + published
    assert "1930-05-01T12:00:00+00:00" in updated


@pytest.mark.parametrize(
    ("base_url", "path"), [("https://example.org/", "/"), ("https://example.org/news/", "/news/")]
)
def test_relative_links_in_a_note_lead_to_the_same_place_from_every_page(
    make_site, cli, base_url: str, path: str
) -> None:
    """A note is shown on its article's page, its digest, its tag pages and in the feeds."""
    note = (
        '"See [the earlier story](../earlier/), [a section](#x) and [elsewhere](https://a.org/b)."'
    )
    root = make_site(
        {
            "content/articles/2025-12-02-later.md": article("Later", note=note, tags="[ports]"),
            "content/articles/2025-12-01-earlier.md": article("Earlier", date="2025-12-01"),
        }
    )
    assert cli(root, "--base-url", base_url).code == 0
    site = root / "site"
    target = f'See <a href="{path}articles/earlier/">the earlier story</a>'
    for page in (
        "articles/later/index.html",
        "digests/2025-12-02/index.html",
        "tags/ports/index.html",
    ):
        html = (site / page).read_text()
        assert target in html, page
        assert 'href="#x"' in html and 'href="https://a.org/b"' in html
    assert target.replace("<", "&lt;").replace(">", "&gt;") in (site / "feed.xml").read_text()
    assert (site / "articles/earlier/index.html").is_file()


# Parallel rendering


def test_templates_are_compiled_once_before_the_render_workers_start(
    make_site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_site(articles_for_workers())
    compiled = tmp_path / "compiled.txt"  # appended to by every process
    real_compile = jinja2.Environment.compile

    def compile_(self: jinja2.Environment, source: object, name: str | None = None, *args: object):
        with compiled.open("a") as record:
            record.write(f"{os.getpid()} {name}\n")
        return real_compile(self, source, name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.Environment, "compile", compile_)
    build(BuildContext(root, load_config(root), workers=2, use_cache=False))
    lines = [line.split() for line in compiled.read_text().splitlines()]
    names = [name for _, name in lines]
    assert {pid for pid, _ in lines} == {str(os.getpid())}  # none in a worker
    assert sorted(names) == sorted(set(names)) and "article.html" in names


def test_the_pages_of_a_render_helper_that_died_are_made_here(
    make_site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper killed (say, by the out-of-memory killer) after writing a page: this process
    makes that page again, and every other the helper had claimed; the site is whole."""
    root = make_site(articles_for_workers())
    build(
        BuildContext(root, load_config(root), workers=1, use_cache=False, output=tmp_path / "one")
    )
    parent, real_make_into = os.getpid(), pipeline_module._make_into

    def make_into(index: int, folder: Path) -> tuple[str, list]:
        entry = real_make_into(index, folder)
        if os.getpid() != parent:
            os._exit(1)  # its first page written, nothing sent
        return entry

    monkeypatch.setattr(pipeline_module, "_make_into", make_into)
    result = build(BuildContext(root, load_config(root), workers=2, use_cache=False))
    assert result.stats.written == result.files > 150
    assert manifest(root / "site") == manifest(tmp_path / "one")


def test_outputs_that_show_many_articles_are_rendered_first(
    make_site, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_site(articles_for_workers())
    order: list[str] = []
    real_make_into = pipeline_module._make_into

    def make_into(index: int, folder: Path) -> tuple[str, list]:
        order.append(pipeline_module._RECIPES[index].path)
        return real_make_into(index, folder)

    monkeypatch.setattr(pipeline_module, "_make_into", make_into)
    build(BuildContext(root, load_config(root), workers=1, use_cache=False))
    articles = [i for i, path in enumerate(order) if path.startswith("articles/")]
    listing = [  # each shows ten or more articles: digests, tag pages that are full, feeds
        i
        for i, path in enumerate(order)
        if re.fullmatch(r"digests/.*|tags/[^/]+/(index\.html|feed\.xml)|feed\.(xml|json)", path)
    ]
    assert len(articles) == 150 and len(listing) == 9 + 2 * 8 + 2
    assert max(listing) < min(articles)  # the cheap article pages come after them
    assert order[0] in ("feed.xml", "feed.json")
