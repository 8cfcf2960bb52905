"""RENDER: Atom feeds, JSON Feed, sitemap, robots.txt and CNAME.

Input: the Site, the Jinja environment (for the HTML inside feed entries), the dependency keys
and the page recipes (for the sitemap). Output: more recipes. XML is built with ElementTree, so any text is escaped,
and characters XML forbids are dropped first, so feeds stay well-formed whatever was copied.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from functools import partial

import jinja2

from broadsheet.deps import Dependencies
from broadsheet.model import Article, Digest, Recipe, Site, Tag
from broadsheet.render import iso_date, render_template
from broadsheet.urls import Urls, output_path

ATOM = "http://www.w3.org/2005/Atom"
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render_feeds(
    site: Site, env: jinja2.Environment, deps: Dependencies, pages: Sequence[Recipe]
) -> list[Recipe]:
    """Return recipes for the site feed, tag feeds, JSON Feed, sitemap, robots.txt and CNAME."""
    urls = Urls(site.config)
    digests = site.digests[: site.config.feed_size]
    parts = tuple(deps.digest(d) for d in digests)
    shown = sum(len(d.articles) for d in digests)  # each entry holds its digest's articles
    feed_url = urls.file("feed.xml")
    recipes = [
        Recipe(
            output_path(feed_url, urls),
            deps.key("feed_digest.html", "atom", parts),
            lambda: _atom(
                site, urls, feed_url, site.config.title, _digest_entries(digests, env, urls)
            ),
            weight=shown,
        ),
        Recipe(
            output_path(urls.file("feed.json"), urls),
            deps.key("feed_digest.html", "json", parts),
            lambda: _json_feed(site, urls, digests, _digest_entries(digests, env, urls)),
            weight=shown,
        ),
    ]
    recipes.extend(_tag_feed(site, env, deps, urls, tag) for tag in site.tags)
    sitemap = urls.file("sitemap.xml")
    paths = tuple(page.path for page in pages)
    recipes.append(
        Recipe(
            output_path(sitemap, urls),
            deps.plain("sitemap", paths),
            lambda: _sitemap(paths, urls),
            weight=len(paths) // 50,  # a line per page: fifty cost about one article page
        )
    )
    robots = f"User-agent: *\nAllow: /\n\nSitemap: {urls.absolute(sitemap)}\n".encode()
    recipes.append(_fixed(urls, "robots.txt", robots, deps))
    if site.config.cname:
        recipes.append(_fixed(urls, "CNAME", f"{site.config.cname}\n".encode(), deps))
    return recipes


def _tag_feed(
    site: Site, env: jinja2.Environment, deps: Dependencies, urls: Urls, tag: Tag
) -> Recipe:
    articles = site.tag_articles[tag.slug][: site.config.feed_size]
    title = f"{site.config.title}: {tag.name}"
    feed_url = urls.tag_feed(tag)

    def make() -> bytes:
        entries = [_article_entry(a, env, urls) for a in articles]
        return _atom(site, urls, feed_url, title, entries, tag)

    key = deps.key(
        "feed_article.html", "tag", tag.name, tag.slug, tuple(map(deps.article, articles))
    )
    return Recipe(output_path(feed_url, urls), key, make, weight=len(articles))


def _fixed(urls: Urls, name: str, data: bytes, deps: Dependencies) -> Recipe:
    return Recipe(output_path(urls.file(name), urls), deps.plain(name, data), partial(bytes, data))


def _digest_entries(digests: Sequence[Digest], env: jinja2.Environment, urls: Urls) -> list[_Entry]:
    return [_digest_entry(d, env, urls) for d in digests]


def xml_text(value: str) -> str:
    """Drop the characters XML 1.0 cannot carry."""
    return _XML_ILLEGAL.sub("", value)


class _Entry:
    """One feed entry, shared by the Atom and JSON renderers."""

    def __init__(
        self, url: str, title: str, updated: datetime, html: str, summary: str | None
    ) -> None:
        self.url, self.title, self.updated = url, xml_text(title), updated
        self.html, self.summary = xml_text(html), xml_text(summary) if summary else None


def _digest_entry(digest: Digest, env: jinja2.Environment, urls: Urls) -> _Entry:
    html = render_template(env, "feed_digest.html", digest=digest)
    title = f"No. {digest.number}: {digest.title}"
    return _Entry(urls.absolute(urls.digest(digest)), title, digest.updated, html, None)


def _article_entry(article: Article, env: jinja2.Environment, urls: Urls) -> _Entry:
    html = render_template(env, "feed_article.html", article=article)
    url = urls.absolute(urls.article(article))
    return _Entry(url, article.title, article.published, html, article.summary)


def _atom(
    site: Site, urls: Urls, feed_url: str, title: str, entries: list[_Entry], tag: Tag | None = None
) -> bytes:
    home = urls.absolute(urls.tag(tag) if tag else urls.home())
    feed = ET.Element("feed", xmlns=ATOM)
    feed.set("xml:lang", site.config.language)
    _sub(feed, "id", home)
    _sub(feed, "title", title)
    if site.config.description:
        _sub(feed, "subtitle", site.config.description)
    updated = max((e.updated for e in entries), default=site.updated)
    _sub(feed, "updated", iso_date(updated))
    ET.SubElement(feed, "link", rel="self", href=urls.absolute(feed_url))
    ET.SubElement(feed, "link", rel="alternate", type="text/html", href=home)
    author = ET.SubElement(feed, "author")
    _sub(author, "name", site.config.author or site.config.title)
    _sub(feed, "generator", "Broadsheet")
    for entry in entries:
        item = ET.SubElement(feed, "entry")
        _sub(item, "id", entry.url)
        _sub(item, "title", entry.title)
        _sub(item, "updated", iso_date(entry.updated))
        ET.SubElement(item, "link", rel="alternate", type="text/html", href=entry.url)
        if entry.summary:
            _sub(item, "summary", entry.summary)
        _sub(item, "content", entry.html).set("type", "html")
    data = ET.tostring(feed, encoding="unicode", xml_declaration=False)
    return f'<?xml version="1.0" encoding="utf-8"?>\n{data}\n'.encode()


def _sub(parent: ET.Element, name: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, name)
    element.text = xml_text(text)
    return element


def _json_feed(site: Site, urls: Urls, digests: Sequence[Digest], entries: list[_Entry]) -> bytes:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": site.config.title,
        "home_page_url": urls.absolute(urls.home()),
        "feed_url": urls.absolute(urls.file("feed.json")),
        "description": site.config.description,
        "language": site.config.language,
        "authors": [{"name": site.config.author or site.config.title}],
        "items": [
            {
                "id": entry.url,
                "url": entry.url,
                "title": entry.title,
                "content_html": entry.html,
                "date_published": iso_date(digest.updated),
                "tags": sorted({t.name for a in digest.articles for t in a.tags}),
            }
            for digest, entry in zip(digests, entries, strict=True)
        ],
    }
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode()


def _sitemap(paths: Sequence[str], urls: Urls) -> bytes:
    urlset = ET.Element("urlset", xmlns="http://www.sitemaps.org/schemas/sitemap/0.9")
    for name in sorted(paths):
        if name.endswith("index.html"):
            location = ET.SubElement(ET.SubElement(urlset, "url"), "loc")
            location.text = urls.absolute(urls.file(name.removesuffix("index.html")))
    data = ET.tostring(urlset, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{data}\n'.encode()
