"""Proof that a built site has no broken internal links, at a domain root and under a subpath.

The sample site is built for a GitHub Pages URL, served from 127.0.0.1 under the same base path,
and crawled from the home page: every link, stylesheet, script, image, feed and pagination link
must answer 200 and stay inside the base path. Feeds and the sitemap must carry absolute URLs.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from tests.sitecheck import parse_html
from tests.sitehttp import build_for, fetch, serve_site

PROJECT_URL = "https://example.github.io/broadsheet-demo/"
ROOT_URL = "https://example.org/"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.mark.parametrize("base_url", [PROJECT_URL, ROOT_URL])
def test_crawl_from_home_finds_no_broken_link_and_none_outside_base_path(
    sample_site: Path, base_url: str
) -> None:
    base_path = urlsplit(base_url).path
    config = sample_site / "config.yml"  # two digests a page, so the home page paginates
    config.write_text(config.read_text().replace("home_digests: 10", "home_digests: 2"))
    output = build_for(sample_site, base_url)
    with serve_site(output, base_path) as home:
        visited, problems = crawl(home)
    assert problems == []
    paths = {urlsplit(url).path.removeprefix(base_path) for url in visited}
    pages = {p.relative_to(output).as_posix() for p in output.rglob("index.html")}
    unreached = {p for p in pages if p.removesuffix("index.html") not in paths}
    assert unreached == set()
    assert {"", "archive/", "tags/", "about/", "feed.xml", "feed.json"} <= paths
    assert any(p.startswith("page/") for p in paths), "home pagination was not followed"
    assert any(p.startswith("articles/") for p in paths)
    assert any(p.endswith("/page/2/") and p.startswith("tags/") for p in paths)
    assert "static/css/style.css" in paths


def crawl(home: str) -> tuple[set[str], list[str]]:
    """Follow every internal URL from home; return the URLs seen and what went wrong."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(home))
    base_path = urlsplit(home).path
    queue, seen, problems = deque([home]), {home}, []
    while queue:
        url = queue.popleft()
        answer = fetch(url)
        if answer.status != 200:
            problems.append(f"{url}: HTTP {answer.status}")
            continue
        if not answer.content_type.startswith("text/html"):
            continue
        for link in parse_html(answer.body.decode("utf-8")).links:
            target = urldefrag(urljoin(url, link)).url
            if not target.startswith(origin + "/"):
                continue  # another site
            if not urlsplit(target).path.startswith(base_path):
                problems.append(f"{url}: {link!r} escapes the base path {base_path}")
            elif target not in seen:
                seen.add(target)
                queue.append(target)
    return seen, problems


def test_404_page_works_from_any_depth(sample_site: Path) -> None:
    with serve_site(build_for(sample_site, PROJECT_URL), "/broadsheet-demo/") as home:
        for missing in ("nope", "articles/nope/", "tags/a/b/c/d/nope.html", "../outside"):
            answer = fetch(urljoin(home, missing))
            assert answer.status == 404
            links = parse_html(answer.body.decode("utf-8")).links
            assert "Page not found" in answer.body.decode("utf-8")
            assert any(link.endswith("style.css") for link in links)
            for link in links:
                if link.startswith(("#", "https://")):
                    continue  # in-page, or the canonical URL and sources on other hosts
                assert link.startswith("/broadsheet-demo/"), f"{link!r} depends on the depth"
                assert fetch(urljoin(answer.url, link)).status == 200, link


def test_outside_base_path_answers_404(sample_site: Path) -> None:
    with serve_site(build_for(sample_site, PROJECT_URL), "/broadsheet-demo/") as home:
        assert fetch(home).status == 200
        assert fetch(urljoin(home, "/index.html")).status == 404
        assert fetch(urljoin(home, "/static/css/style.css")).status == 404


def test_feeds_and_sitemap_use_absolute_urls_that_resolve(sample_site: Path) -> None:
    output = build_for(sample_site, PROJECT_URL)
    urls = sitemap_urls(output) + feed_urls(output)
    assert len(urls) > 30
    outside = [url for url in urls if not url.startswith(PROJECT_URL)]
    assert outside == []
    with serve_site(output, "/broadsheet-demo/") as home:
        broken = [url for url in set(urls) if fetch(home + url[len(PROJECT_URL) :]).status != 200]
    assert broken == []


def sitemap_urls(output: Path) -> list[str]:
    """Every <loc> of the sitemap; it must list the home page and every digest."""
    tree = ET.parse(output / "sitemap.xml")
    locations = [loc.text or "" for loc in tree.iter(f"{SITEMAP}loc")]
    assert PROJECT_URL in locations
    assert sum("/digests/" in loc for loc in locations) == len(list(output.glob("digests/*/")))
    return locations


def feed_urls(output: Path) -> list[str]:
    """The ids and links of the site feed, every tag feed and the JSON Feed."""
    feeds = [output / "feed.xml", *sorted(output.glob("tags/*/feed.xml"))]
    assert len(feeds) > 2
    urls = []
    for feed in feeds:
        tree = ET.parse(feed)
        urls += [link.get("href", "") for link in tree.iter(f"{ATOM}link")]
        urls += [element.text or "" for element in tree.iter(f"{ATOM}id")]
    data = json.loads((output / "feed.json").read_text(encoding="utf-8"))
    urls += [data["home_page_url"], data["feed_url"]]
    urls += [item[key] for item in data["items"] for key in ("id", "url")]
    return urls
