"""Hostile markup: XSS payloads in every field, through every template and feed; XML-illegal
characters; pathological Markdown rendered within a time limit or refused with a size error.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import article
from tests.sitecheck import content_ids, html_pages, run_build, unsafe_markup

A = "content/articles/2025-12-02-x.md"
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><script>alert(1)</script>',
    "'><svg onload=alert(1)>",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript&colon;alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "<a href='javascript:alert(1)'>x</a>",
    "</title><script>alert(1)</script>",
    "<iframe src=javascript:alert(1)>",
    "]]><script>alert(1)</script>",
    "{{ 7*7 }}{% raw %}",
    "&amp; < > ]]> \x01 \x0b \ufffe \x7f end",
]
LINK_SPELLINGS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;&#x61;vascript:alert(1)",
    "javascript&#58;alert(1)",
    "%6Aavascript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
]
ALLOWED_IDS = {"main", "latest-title", "recent-title", "viewport", "description", "color-scheme"}


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


def hostile_body(payload: str) -> str:
    links = "\n".join(
        f"[link {n}]({url}) ![img {n}]({url}) <{url}> [ref {n}][r{n}]\n\n[r{n}]: {url}\n"
        for n, url in enumerate(LINK_SPELLINGS)
    )
    tabbed = "[tab](<java\tscript:alert(1)>) [nl](<java\nscript:alert(1)>)"
    return f"# {payload}\n\n{payload}\n\n> {payload}\n\n- {payload}\n\n{tabbed}\n\n{links}"


def hostile_site(make_site, payload: str) -> Path:
    fields = {
        "source": q(payload),
        "author": q(payload),
        "location": q(payload),
        "date_text": q(payload),
        "tags": f"[{q('x ' + payload)}, {q(payload + ' y')}]",
        "highlights": f"[{q(payload)}, {q(payload)}]",
        "images": f"[{{caption: {q(payload)}, credit: {q(payload)}}}]",
        "note": q(f"{payload} [n](javascript:alert(1))"),
        "summary": q(payload),
        "url": "https://example.org/a?q=%3Cscript%3E&x=1",
        "extra": f"{{k: {q(payload)}}}",
    }
    note = f"---\ntitle: {q(payload)}\n---\n{hostile_body(payload)}"
    page = f"---\ntitle: {q(payload)}\n---\n{hostile_body(payload)}"
    return make_site(
        {
            A: article(q(payload), body=hostile_body(payload), **fields),
            "content/digests/2025-12-02.md": note,
            "content/pages/about.md": page,
        }
    )


def feed_html(output: Path) -> list[tuple[str, str]]:
    """(where, html) for every HTML fragment inside every feed; parsing proves well-formedness."""
    fragments = []
    for path in [output / "feed.xml", *sorted(output.glob("tags/*/feed.xml"))]:
        root = ET.parse(path).getroot()  # raises on any ill-formed byte
        for element in root.iter():
            if element.get("type") == "html":  # title and summary are type text: inert
                fragments.append((str(path.relative_to(output)), element.text or ""))
    ET.parse(output / "sitemap.xml")
    feed = json.loads((output / "feed.json").read_text(encoding="utf-8"))
    fragments += [("feed.json", item["content_html"]) for item in feed["items"]]
    return fragments


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_in_every_field_is_inert_in_every_page_and_feed(
    make_site, cli, payload: str
) -> None:
    root = hostile_site(make_site, payload)
    run = cli(root)
    assert run.code == 0, run.err
    output = root / "site"
    pages = html_pages(output)
    assert len(pages) >= 9
    problems = [
        f"{p.relative_to(output)}: {x}" for p in pages for x in unsafe_markup(p.read_text())
    ]
    fragments = feed_html(output)
    assert len(fragments) >= 3
    problems += [f"{where}: {x}" for where, html in fragments for x in unsafe_markup(html)]
    assert problems == []
    article_page = (output / "articles/x/index.html").read_text()
    assert "link 0" in article_page and "ref 0" in article_page  # the links' text is kept


def test_xml_illegal_characters_are_dropped_from_feeds(make_site, cli) -> None:
    nasty = "A & B < C ]]> \x01\x08\x0b\x0c\x1f\ufffe\uffff end"
    root = make_site({A: article(q(nasty), summary=q(nasty), tags=f"[{q('t ' + nasty)}]")})
    assert cli(root).code == 0
    feeds = [root / "site/feed.xml", *sorted((root / "site/tags").glob("*/feed.xml"))]
    assert len(feeds) == 2
    titles = []
    for path in feeds:
        data = path.read_bytes()
        tree = ET.fromstring(data)  # well-formed, or this raises
        titles += [e.text for e in tree.iter("{http://www.w3.org/2005/Atom}title")]
        for bad in ("\x01", "\x0b", "\ufffe"):
            assert bad.encode() not in data
    assert "A & B < C ]]>  end" in titles, titles


def test_no_id_or_name_attribute_comes_from_content(make_site, cli) -> None:
    body = "# main\n\n## latest-title\n\n### __proto__\n\n[x]: /y\n\n<a id=constructor></a>"
    root = make_site({A: article("main", body=body, tags="[main, document, location]")})
    assert cli(root).code == 0
    ids = content_ids(root / "site")
    assert {i for i in ids if not i.startswith("year-")} <= ALLOWED_IDS, ids


@pytest.mark.parametrize("url", [*LINK_SPELLINGS, "http://", "https:///x", "//evil.example/x"])
def test_url_field_must_be_http(make_site, cli, url: str) -> None:
    root = make_site({A: article("T", url=q(url))})
    run = cli(root)
    assert run.code == 1
    assert run.err == f"{A}:4: 'url' must be an http(s) URL, got {url!r}\n"


# --- pathological Markdown, in a child process with a generous timeout ---------------------


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        (">" * 10_000 + " deep", f"{A}:5: Markdown is nested deeper than 20 levels"),
        ("Intro\n\n" + "- " * 30 + "deep", f"{A}:7: Markdown is nested deeper than 20 levels"),
        ("*" * 100_000, "built 1 articles"),
        ("*a" * 100_000, "built 1 articles"),
        ("_" * 50_000 + "a" + "_" * 50_000, "built 1 articles"),
        ("[" * 100_000 + "a" + "]" * 100_000 + "(/x)", "built 1 articles"),
        ("[" * 150_000 + "a" + "]" * 150_000 + "(/x)", f"{A}:5: Markdown is larger than 256 KiB"),
        ("![" * 150_000, f"{A}:5: Markdown is larger than 256 KiB"),
        ("a" * 5 * 1024 * 1024, f"{A}:5: Markdown is larger than 256 KiB"),
        ("`a" * 60_000, "built 1 articles"),
        ("<" * 120_000, "built 1 articles"),
    ],
    ids=[
        "10000-quotes",
        "30-lists",
        "star-run",
        "star-pairs",
        "underscore-run",
        "brackets",
        "more-brackets",
        "image-openers",
        "5MB-line",
        "backticks",
        "angles",
    ],
)
def test_pathological_markdown_renders_in_time_or_is_refused(
    make_site, body: str, outcome: str
) -> None:
    root = make_site({A: "---\ntitle: T\ndate: 2025-12-02\n---\n" + body + "\n"})
    child = run_build(root, timeout=60)
    assert child.stderr.startswith(outcome), child.stderr[:500]
    assert child.returncode == (0 if outcome.startswith("built") else 1)
    if child.returncode:
        assert not (root / "site").exists()


def test_deep_nesting_in_the_note_names_the_note_line(make_site, cli) -> None:
    root = make_site({A: article("T", note=q("> " * 25 + "x"))})
    run = cli(root)
    assert run.code == 1
    assert run.err == f"{A}:4: Markdown is nested deeper than 20 levels\n"
