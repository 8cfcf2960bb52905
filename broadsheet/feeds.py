"""RENDER: Atom feeds, JSON Feed, sitemap, robots.txt and CNAME.

Input: the Site, the Jinja environment (for the HTML inside feed entries) and the HTML Outputs
(for the sitemap). Output: more Outputs. XML is built with ElementTree, so any text is escaped,
and characters XML forbids are dropped first, so feeds stay well-formed whatever was copied.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime

import jinja2

from broadsheet.model import Article, Digest, Output, Site, Tag
from broadsheet.render import render_template
from broadsheet.urls import Urls, output_path

ATOM = "http://www.w3.org/2005/Atom"
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render_feeds(site: Site, env: jinja2.Environment, pages: Sequence[Output]) -> list[Output]:
    """Return the site feed, a feed per tag, the JSON Feed, sitemap, robots.txt and CNAME."""
    urls = Urls(site.config)
    digests = site.digests[: site.config.feed_size]
    entries = [_digest_entry(d, env, urls) for d in digests]
    outputs = [
        _atom(site, urls, urls.file("feed.xml"), site.config.title, entries),
        Output(output_path(urls.file("feed.json"), urls), _json_feed(site, urls, digests, entries)),
    ]
    for tag in site.tags:
        articles = site.tag_articles[tag.slug][: site.config.feed_size]
        tag_entries = [_article_entry(a, env, urls) for a in articles]
        title = f"{site.config.title}: {tag.name}"
        outputs.append(_atom(site, urls, urls.tag_feed(tag), title, tag_entries, tag))
    outputs.append(_sitemap(pages, urls))
    robots = f"User-agent: *\nAllow: /\n\nSitemap: {urls.absolute(urls.file('sitemap.xml'))}\n"
    outputs.append(Output(output_path(urls.file("robots.txt"), urls), robots.encode()))
    if site.config.cname:
        outputs.append(
            Output(output_path(urls.file("CNAME"), urls), f"{site.config.cname}\n".encode())
        )
    return outputs


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
) -> Output:
    home = urls.absolute(urls.tag(tag) if tag else urls.home())
    feed = ET.Element("feed", xmlns=ATOM)
    feed.set("xml:lang", site.config.language)
    _sub(feed, "id", home)
    _sub(feed, "title", title)
    if site.config.description:
        _sub(feed, "subtitle", site.config.description)
    updated = max((e.updated for e in entries), default=site.updated)
    _sub(feed, "updated", updated.isoformat())
    ET.SubElement(feed, "link", rel="self", href=urls.absolute(feed_url))
    ET.SubElement(feed, "link", rel="alternate", type="text/html", href=home)
    author = ET.SubElement(feed, "author")
    _sub(author, "name", site.config.author or site.config.title)
    _sub(feed, "generator", "Broadsheet")
    for entry in entries:
        item = ET.SubElement(feed, "entry")
        _sub(item, "id", entry.url)
        _sub(item, "title", entry.title)
        _sub(item, "updated", entry.updated.isoformat())
        ET.SubElement(item, "link", rel="alternate", type="text/html", href=entry.url)
        if entry.summary:
            _sub(item, "summary", entry.summary)
        _sub(item, "content", entry.html).set("type", "html")
    data = ET.tostring(feed, encoding="unicode", xml_declaration=False)
    return Output(
        output_path(feed_url, urls), f'<?xml version="1.0" encoding="utf-8"?>\n{data}\n'.encode()
    )


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
                "date_published": digest.updated.isoformat(),
                "tags": sorted({t.name for a in digest.articles for t in a.tags}),
            }
            for digest, entry in zip(digests, entries, strict=True)
        ],
    }
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode()


def _sitemap(pages: Sequence[Output], urls: Urls) -> Output:
    urlset = ET.Element("urlset", xmlns="http://www.sitemaps.org/schemas/sitemap/0.9")
    for page in sorted(pages, key=lambda p: p.path.as_posix()):
        name = page.path.as_posix()
        if name.endswith("index.html"):
            location = ET.SubElement(ET.SubElement(urlset, "url"), "loc")
            location.text = urls.absolute(urls.file(name.removesuffix("index.html")))
    data = ET.tostring(urlset, encoding="unicode")
    target = output_path(urls.file("sitemap.xml"), urls)
    return Output(target, f'<?xml version="1.0" encoding="utf-8"?>\n{data}\n'.encode())
