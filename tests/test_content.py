"""Content validation: every problem of every file, each with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MINIMAL_CONFIG, article

A = "content/articles/2025-12-02-x.md"

INVALID = [
    (
        "---\ntitle: [unclosed\ndate: 2025-12-02\n---\n",
        f"{A}:3: invalid YAML: did not find expected ',' or ']'",
    ),
    ("no front matter here\n", f"{A}:1: no front matter (the file must start with a '---' line)"),
    (
        "---\ntitle: T\ndate: 2025-12-02\n",
        f"{A}:1: front matter is not closed (expected a '---' line after it)",
    ),
    ("---\ndate: 2025-12-02\n---\n", f"{A}:1: 'title' is required"),
    ("---\ntitle: T\n---\n", f"{A}:1: 'date' is required"),
    (
        "---\ntitle: T\ndate: 02/12/2025\n---\n",
        f"{A}:3: 'date' must look like 2025-12-02 or 2025-12-02T09:30:00+00:00, got '02/12/2025'",
    ),
    (
        "---\ntitle: no\ndate: 2025-12-02\n---\n",
        f"{A}:2: 'title' must be text, got yes/no: False (put it in quotes)",
    ),
    (
        "---\ntitle: 2024\ndate: 2025-12-02\n---\n",
        f"{A}:2: 'title' must be text, got a number: 2024 (put it in quotes)",
    ),
    (
        "---\ntitle: T\ndate: 2025-12-02\ntags: ukraine\n---\n",
        f"{A}:4: 'tags' must be a list of text, got text: 'ukraine'",
    ),
    (
        "---\ntitle: T\ndate: 2025-12-02\ntags: [a, 3]\n---\n",
        f"{A}:4: 'tags' must be a list of text, got an item that is a number: 3",
    ),
    (
        "---\ntitle: T\ndate: 2025-12-02\nurl: javascript:alert(1)\n---\n",
        f"{A}:4: 'url' must be an http(s) URL, got 'javascript:alert(1)'",
    ),
    (
        "---\ntitle: T\ndate: 2025-12-02\nurl: ftp://x.org/a\n---\n",
        f"{A}:4: 'url' must be an http(s) URL, got 'ftp://x.org/a'",
    ),
    (
        "---\ntitle: T\ndate: 2025-12-02\ndraft: maybe\n---\n",
        f"{A}:4: 'draft' must be true or false, got text: 'maybe'",
    ),
    (
        "---\ntitle: T\ndate: 2025-12-02\nsection: Sport\n---\n",
        f"{A}:4: 'section' must be one of World, Business, got 'Sport'",
    ),
    (
        "---\ntitle: T\ndate: 2025-12-02\nslug: Not A Slug\n---\n",
        f"{A}:4: 'slug' must be lowercase letters, digits and hyphens (at most 80), got 'Not A Slug'",
    ),
    (
        "---\ntitle: T\ndate: 2025-12-02\nimages: [{caption: 1}]\n---\n",
        f"{A}:4: 'images' 'caption' and 'credit' must be text",
    ),
    (
        "---\ntitle: T\ntitle: U\ndate: 2025-12-02\n---\n",
        f"{A}:3: duplicate key 'title' (first on line 2)",
    ),
    ("---\n- a\n- b\n---\n", f"{A}:2: front matter must be a mapping of 'key: value' lines"),
    (
        "---\ntitle: &a T\nsummary: *a\ndate: 2025-12-02\n---\n",
        f"{A}:2: YAML anchors and aliases are not allowed",
    ),
    (
        "---\ntitle: !!python/object/apply:os.system [ls]\ndate: 2025-12-02\n---\n",
        f"{A}:2: YAML tag !!python/object/apply:os.system is not allowed",
    ),
    ("---\ntitle: T\ndate: 2025-13-45\n---\n", f"{A}:3: invalid value: month must be in 1..12"),
    (
        "---\ntitle: T\ndate: 2025-12-02\nsummary: S\ndigest: 2025-02-30\n---\n",
        f"{A}:5: invalid value: day is out of range for month",
    ),
    (
        "---\ntitle: T\ndate: 2025-12-02\ndigest: 2025-W60\n---\n",
        f"{A}:4: 'digest' must name a real day or ISO week, got '2025-W60'",
    ),
    (
        "---\ntitle: T\ndate: 2025-12-02\ndigest: 2025-W49\n---\n",
        f"{A}:4: 'digest' must be like 2025-12-02 for daily digests",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), INVALID, ids=[e.split(": ", 1)[1][:40] for _, e in INVALID]
)
def test_invalid_article_is_reported_with_file_and_line(
    make_site, cli, text: str, expected: str
) -> None:
    root = make_site({A: text})
    run = cli(root)
    assert run.code == 1
    assert expected in run.err.splitlines()
    assert not (root / "site").exists()


def test_every_broken_file_is_reported_in_one_run(make_site, cli) -> None:
    root = make_site(
        {
            "content/articles/a.md": "---\ntitle: no\ndate: 2025-12-02\n---\n",
            "content/articles/b.md": "---\ntitle: B\ndate: tomorrow\ntags: x\n---\n",
            "content/articles/c.md": article("Fine"),
        }
    )
    run = cli(root)
    assert run.code == 1
    assert run.err.splitlines() == [
        "content/articles/a.md:2: 'title' must be text, got yes/no: False (put it in quotes)",
        "content/articles/b.md:3: 'date' must look like 2025-12-02 or 2025-12-02T09:30:00+00:00, got 'tomorrow'",
        "content/articles/b.md:4: 'tags' must be a list of text, got text: 'x'",
    ]


def test_unknown_key_is_a_warning_with_a_suggestion_and_an_error_when_strict(
    make_site, cli
) -> None:
    root = make_site({A: article("T", tagz="[a]")})
    run = cli(root)
    assert run.code == 0
    assert f"{A}:4: warning: unknown key 'tagz' (did you mean 'tags'?)" in run.err
    strict = cli(root, "--strict")
    assert strict.code == 1
    assert f"{A}:4: unknown key 'tagz' (did you mean 'tags'?)" in strict.err


def test_duplicate_slugs_name_both_files(make_site, cli) -> None:
    root = make_site(
        {
            "content/articles/2025-12-01-same.md": article("One", "2025-12-01"),
            "content/articles/2025-12-02-same.md": article("Two"),
        }
    )
    run = cli(root)
    assert run.code == 1
    assert (
        "content/articles/2025-12-02-same.md:2: slug 'same' is already used by "
        "content/articles/2025-12-01-same.md; set a different 'slug'"
    ) in run.err


def test_tags_that_make_the_same_slug_are_an_error(make_site, cli) -> None:
    root = make_site(
        {
            "content/articles/a.md": article("A", tags="[C++]"),
            "content/articles/b.md": article("B", tags="[C]"),
        }
    )
    run = cli(root)
    assert run.code == 1
    assert (
        "content/articles/b.md:4: tag 'C' and tag 'C++' (in content/articles/a.md) both make the URL"
        " slug 'c'; spell them the same or rename one"
    ) in run.err


def test_tags_differing_in_case_and_spacing_are_one_tag(make_site, cli) -> None:
    root = make_site(
        {
            "content/articles/a.md": article("A", tags="[AI]"),
            "content/articles/b.md": article("B", tags="['ai ']"),
            "content/articles/c.md": article("C", tags="[AI]"),
        }
    )
    assert cli(root).code == 0
    tag_page = (root / "site/tags/ai/index.html").read_text()
    assert "Tagged “AI”" in tag_page
    assert tag_page.count('<article class="card') == 3


@pytest.mark.parametrize("variant", ["bom", "crlf", "cr"])
def test_bom_and_line_endings_work_like_clean_files(make_site, cli, variant: str) -> None:
    text = article("Same", tags="[x]", body="One.\n\nTwo.")
    data = {
        "bom": "\ufeff" + text,
        "crlf": text.replace("\n", "\r\n"),
        "cr": text.replace("\n", "\r"),
    }[variant].encode()
    clean = make_site({A: text}, folder="clean")
    other = make_site({A: data}, folder=variant)
    assert cli(clean).code == 0 and cli(other).code == 0
    page = "site/articles/x/index.html"
    assert (clean / page).read_bytes() == (other / page).read_bytes()


def test_bad_line_reported_in_crlf_file(make_site, cli) -> None:
    root = make_site({A: b"---\r\ntitle: T\r\ndate: nope\r\n---\r\n"})
    assert f"{A}:3: 'date' must look like" in cli(root).err


def test_non_utf8_file_is_an_error_naming_the_file(make_site, cli) -> None:
    root = make_site({A: "---\ntitle: Caf\xe9\ndate: 2025-12-02\n---\n".encode("cp1252")})
    run = cli(root)
    assert run.code == 1
    assert f"{A}:2: not valid UTF-8 (byte 0xe9); save the file as UTF-8" in run.err


def test_naive_time_is_in_the_site_time_zone(make_site, cli) -> None:
    config = "title: T\nbase_url: https://example.org/\ntimezone: Asia/Tokyo\n"
    root = make_site({A: article("Late", "2025-12-02 01:30:00")}, config)
    assert cli(root).code == 0
    page = (root / "site/articles/x/index.html").read_text()
    assert 'datetime="2025-12-02T01:30:00+09:00"' in page


def test_offset_date_is_grouped_by_site_time_zone(make_site, cli) -> None:
    config = "title: T\nbase_url: https://example.org/\ntimezone: Asia/Tokyo\n"
    root = make_site({A: article("Late", "2025-12-01T20:00:00+00:00")}, config)
    assert cli(root).code == 0
    assert (root / "site/digests/2025-12-02/index.html").is_file()


def test_digest_override_and_slug_override(make_site, cli) -> None:
    root = make_site({A: article("T", digest="'2025-11-30'", slug="custom-slug")})
    assert cli(root).code == 0
    assert (root / "site/articles/custom-slug/index.html").is_file()
    assert "custom-slug" in (root / "site/digests/2025-11-30/index.html").read_text()


def test_raw_html_in_markdown_is_escaped(make_site, cli) -> None:
    root = make_site(
        {A: article("T", body="<script>alert(1)</script>\n\n[x](javascript:alert(1))")}
    )
    assert cli(root).code == 0
    page = (root / "site/articles/x/index.html").read_text()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page


def test_extra_mapping_reaches_templates(make_site, cli) -> None:
    root = make_site({A: article("T", extra="{paywall: true}")})
    (root / "templates/article.html").write_text(
        (root / "templates/article.html")
        .read_text()
        .replace(
            "<h1>{{ article.title }}</h1>",
            "<h1>{{ article.title }}</h1>{% if article.extra.paywall %}<p>PAYWALL</p>{% endif %}",
        )
    )
    assert cli(root).code == 0
    assert "<p>PAYWALL</p>" in (root / "site/articles/x/index.html").read_text()


def test_page_with_reserved_slug_is_refused(make_site, cli) -> None:
    root = make_site({"content/pages/tags.md": "---\ntitle: Tags\n---\nx\n"})
    run = cli(root)
    assert run.code == 1
    assert "content/pages/tags.md:1: page slug 'tags' is reserved" in run.err


def test_config_errors_exit_2_with_a_suggestion(make_site, cli) -> None:
    root = make_site(config="title: T\nbase_ulr: https://example.org/\n")
    run = cli(root)
    assert run.code == 2
    assert "config.yml:2: unknown setting 'base_ulr' (did you mean 'base_url'?)" in run.err


def test_debug_shows_a_traceback(make_site, cli) -> None:
    root = make_site({A: "---\ntitle: no\ndate: 2025-12-02\n---\n"})
    with pytest.raises(Exception, match="'title' must be text"):
        cli(root, "--debug")


def test_empty_project_builds_a_home_page(make_site, cli) -> None:
    root = make_site()
    assert cli(root).code == 0
    assert "No digests yet" in (root / "site/index.html").read_text()


def test_page_is_built_at_its_slug(make_site, cli, tmp_path: Path) -> None:
    root = make_site({"content/pages/about.md": "---\ntitle: About us\n---\nWho we are.\n"})
    assert cli(root).code == 0
    assert "Who we are." in (root / "site/about/index.html").read_text()


@pytest.mark.parametrize("name", ["hello", "2025-W49", "2025-13-01"])
def test_a_digest_note_named_unlike_a_digest_is_an_error_naming_it(
    make_site, cli, name: str
) -> None:
    root = make_site({f"content/digests/{name}.md": "---\ntitle: Hi\n---\nHello.\n"})
    run = cli(root)
    assert run.code == 1
    expected = f"content/digests/{name}.md:1: digest note file must be named like 2025-12-02.md"
    assert run.err == expected + " for daily digests\n"


def test_a_tag_typed_with_a_separate_accent_is_the_same_tag(make_site, cli) -> None:
    composed, decomposed = "C\u00f4te d'Ivoire", "Co\u0302te d'Ivoire"
    root = make_site(
        {
            "content/articles/2025-12-02-a.md": article("A", tags=f'["{composed}"]'),
            "content/articles/2025-12-02-b.md": article("B", tags=f'["{decomposed}"]'),
        }
    )
    run = cli(root)
    assert run.code == 0, run.err
    page = (root / "site/tags/cote-divoire/index.html").read_text()
    assert page.count('<article class="card') == 2


def test_a_base_url_without_an_address_is_a_warning(make_site, cli) -> None:
    """Atom ids, sitemap entries and canonical links must be absolute: "/news/" cannot make them."""
    config = MINIMAL_CONFIG.replace("base_url: https://example.org/", "base_url: /news/")
    root = make_site({"content/articles/2025-12-02-x.md": article("T")}, config=config)
    run = cli(root)
    assert run.code == 0
    assert run.err.startswith(
        "config.yml: warning: base_url '/news/' has no https:// address, so the feeds, the sitemap"
    )
    assert cli(root, "--strict").code == 2


@pytest.mark.parametrize("base_url", ["https://example.org/my news/", 'https://example.org/"x"/'])
def test_a_base_url_that_needs_escaping_is_a_config_error(make_site, cli, base_url: str) -> None:
    config = MINIMAL_CONFIG.replace("base_url: https://example.org/", f"base_url: '{base_url}'")
    root = make_site(config=config)
    run = cli(root)
    assert run.code == 2
    assert "config.yml:3: 'base_url' must not contain spaces, quotes or <>" in run.err


def test_a_bad_base_url_option_is_named_as_the_option(make_site, cli) -> None:
    root = make_site()
    run = cli(root, "--base-url", "ftp://example.org/")
    assert run.code == 2
    assert run.err == (
        "error: --base-url must be an http(s) URL or a path starting with '/', "
        "got 'ftp://example.org/'\n"
    )


@pytest.mark.parametrize("size", [0, 1, 6000, (1 << 20) - 1, 1 << 20, 3 * (1 << 20) + 7])
def test_read_bytes_reads_every_byte(tmp_path: Path, size: int) -> None:
    from broadsheet.sources import read_bytes

    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    path = tmp_path / "file.md"
    path.write_bytes(data)
    assert read_bytes(str(path)) == data
    with pytest.raises(FileNotFoundError):
        read_bytes(str(tmp_path / "missing.md"))
