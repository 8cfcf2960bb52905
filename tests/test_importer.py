"""Tests for the importer: copied news text -> content/articles/*.md."""

from __future__ import annotations

import argparse
import io
import os
import tempfile
from datetime import UTC, date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from broadsheet import importer
from broadsheet.config import Config
from broadsheet.errors import BroadsheetError, ConfigError
from broadsheet.frontmatter import Document, decode_text, parse_document, read_text
from broadsheet.importer import ImportOptions, ImportReport
from broadsheet.rawdates import parse_date_line
from broadsheet.rawmarkdown import escape_markdown, to_markdown
from broadsheet.rawtext import Block, RawArticle
from broadsheet.slugs import slug_from_name

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
SEED = SEEDS / "000_26093fa9f346381b.txt"
CAPTURED = datetime(2025, 12, 2, 12, 0, tzinfo=UTC)
CONFIG = Config(
    tag_vocabulary={
        "ukraine": ("Ukraine", "Kyiv", "Zelensky"),
        "germany": ("Germany", "Berlin"),
        "floods": ("flood", "barrier"),
        "transport": ("rail", "cycle lanes"),
    }
)
ALLOWED_KEYS = {
    "title", "date", "date_text", "source", "url", "author", "location", "tags", "highlights",
    "images", "summary", "note", "section", "digest", "slug", "draft", "extra",
}  # fmt: skip


# --- helpers -------------------------------------------------------------------------------


def run(
    root: Path, *inputs: Path, captured: datetime | None = CAPTURED, **changes: object
) -> ImportReport:
    """Import `inputs` into root/content/articles with the test clock and vocabulary."""
    values: dict[str, object] = {
        "captured": captured,
        "source": None,
        "url": None,
        "tags": (),
        "dry_run": False,
        "into": root / "content" / "articles",
    }
    stdin = changes.pop("stdin", None)
    values.update(changes)
    options = ImportOptions(**values)  # type: ignore[arg-type]
    return importer.import_files(list(inputs), options, CONFIG, root, stdin)  # type: ignore[arg-type]


def articles(root: Path) -> dict[str, Document]:
    """Every article file written, by file name."""
    folder = root / "content" / "articles"
    return {p.name: parse_document(read_text(p), p) for p in sorted(folder.glob("*.md"))}


def by_title(root: Path) -> dict[str, Document]:
    return {doc.meta["title"]: doc for doc in articles(root).values()}


class _Blocks(HTMLParser):
    """Collect the text of each <p> and <h2> of rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self._tag: str | None = None

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("p", "h2"):
            self._tag = tag
            self.blocks.append((tag, ""))
        elif self._tag:  # markup inside a paragraph: the escaping failed
            self.blocks[-1] = (self._tag, self.blocks[-1][1] + f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "h2"):
            self._tag = None

    def handle_data(self, data: str) -> None:
        if self._tag:
            self.blocks[-1] = (self._tag, self.blocks[-1][1] + data)
        elif data.strip():
            self.blocks.append(("?", data))


def rendered(markdown: str) -> list[tuple[str, str]]:
    """Render Markdown as the build does and return its blocks as (tag, text)."""
    parser = _Blocks()
    parser.feed(MarkdownIt("commonmark", {"html": False}).render(markdown))
    return parser.blocks


def paragraphs(doc: Document) -> list[str]:
    return [text for tag, text in rendered(doc.body) if tag == "p"]


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# --- the real example ----------------------------------------------------------------------

needs_seed = pytest.mark.skipif(
    not SEED.exists(), reason=f"the real example {SEED} is not in this checkout"
)
SEED_TITLES = (
    "Putin receives top US negotiators in high-stakes Ukraine talks",
    "German spy chief warns of Russia threat to 2026 regional polls",
)


def seed_paragraphs() -> list[str]:
    """The seed's body paragraphs, worked out by hand-written rules rather than the importer's."""
    furniture = {"Short Url", "Follow", *SEED_TITLES}
    kept = []
    for line in SEED.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if (
            not text
            or text in furniture
            or text.startswith(("Updated ", "•", "- "))
            or text.endswith(")")  # the carousel captions
            or text in ("1 / 2", "2 / 2")
        ):
            continue
        kept.append(text.removeprefix("MOSCOW: ").removeprefix("BERLIN: "))
    return kept


@needs_seed
def test_seed_imports_two_articles_with_exact_titles_dates_and_fields(tmp_path: Path) -> None:
    report = run(tmp_path, SEED)
    assert report.errors == ()
    assert [p.name for p in report.written] == [
        "2025-12-02-putin-receives-top-us-negotiators-in-high-stakes-ukraine-talks.md",
        "2025-12-02-german-spy-chief-warns-of-russia-threat-to-2026-regional-polls.md",
    ]
    first, second = (by_title(tmp_path)[title].meta for title in SEED_TITLES)
    assert first["date"] == date(2025, 12, 2)
    assert first["date_text"] == "Updated 02 December 2025"
    assert second["date"] == datetime(2025, 12, 2, 11, 59, 57, tzinfo=UTC)
    assert second["date_text"] == "Updated 3 sec ago"
    assert [image["credit"] for image in first["images"]] == ["AFP", "Getty Images via AFP"]
    assert first["images"][0]["caption"].endswith("at the Kremlin in Moscow on December 2, 2025.")
    assert "images" not in second
    assert len(first["highlights"]) == 2 and len(second["highlights"]) == 1
    assert first["highlights"][1] == "Europe is pushing back at US proposals"
    assert (first["location"], second["location"]) == ("MOSCOW", "BERLIN")
    assert set(first) | set(second) <= ALLOWED_KEYS
    assert "source" not in first and "url" not in first  # never invented


@needs_seed
def test_seed_body_keeps_every_paragraph_verbatim_once_without_furniture(tmp_path: Path) -> None:
    run(tmp_path, SEED)
    docs = by_title(tmp_path)
    blocks = [rendered(docs[title].body) for title in SEED_TITLES]
    headings = [text for tag, text in blocks[0] if tag == "h2"]
    assert headings == ["Russian pressure", "Kushner included"]
    body = [text for doc_blocks in blocks for tag, text in doc_blocks if tag == "p"]
    assert body == seed_paragraphs()
    assert body[0].startswith("Top US negotiators vying to end the war")


@needs_seed
def test_seed_relative_date_is_a_warning_naming_file_and_line(tmp_path: Path) -> None:
    report = run(tmp_path, SEED)
    lines = importer.format_report(report)
    assert f"{SEED}:49: warning: relative date 'Updated 3 sec ago' read as " in "\n".join(lines)
    assert lines[0].startswith("wrote content/articles/2025-12-02-putin-receives")


# --- other layouts -------------------------------------------------------------------------


def test_two_articles_with_carousel_relative_date_subheads_and_highlights(tmp_path: Path) -> None:
    report = run(tmp_path, FIXTURES / "two_articles.txt")
    assert report.errors == ()
    docs = by_title(tmp_path)
    flood = docs["Harbour towns agree shared flood barrier after decade of talks"]
    rail = docs["Rail union calls off weekend strike after late pay offer"]
    assert flood.meta["date"] == date(2025, 3, 4)
    assert rail.meta["date"] == datetime(2025, 12, 2, 10, 0, tzinfo=UTC)
    assert rail.meta["date_text"] == "Updated 2 hours ago"
    assert flood.meta["images"] == [
        {
            "caption": "Workers inspect a sluice gate at the old harbour wall in Elmsport on "
            "March 3, 2025.",
            "credit": "Harbour Press",
        },
        {
            "caption": "Mayor Ida Varga speaks to residents at a town hall meeting about the "
            "barrier plan.",
            "credit": "Coastal Wire via Harbour Press",
        },
        {"caption": "A model of the planned barrier on display at the Elmsport museum."},
    ]
    assert flood.meta["highlights"] == [
        "The two towns will split the cost of the barrier equally",
        "Construction is due to start next spring",
    ]
    assert flood.meta["location"] == "ELMSPORT" and rail.meta["location"] == "NORTHBRIDGE"
    assert flood.meta["tags"] == ["floods"] and rail.meta["tags"] == ["transport"]
    headings = [text for tag, text in rendered(flood.body) if tag == "h2"]
    assert headings == ["Money matters", "What comes next"]
    assert paragraphs(rail) == [
        "The rail workers’ union called off a planned weekend strike late on Tuesday after the "
        "operator improved its pay offer.",
        "The union’s general secretary said members would be balloted on the new terms.",
        "Passengers had been warned to expect severe disruption on Saturday and Sunday.",
    ]
    assert "## Money matters\n\nEach town will borrow" in flood.body


def test_single_article_with_byline_reuters_dateline_and_other_sites_furniture(
    tmp_path: Path,
) -> None:
    report = run(tmp_path, FIXTURES / "byline_reuters.txt", source="Avalon Wire")
    assert report.errors == ()
    (doc,) = articles(tmp_path).values()
    assert doc.meta["title"] == "Central bank holds rates steady as inflation cools"
    assert doc.meta["author"] == "Jane Doe"
    assert doc.meta["source"] == "Avalon Wire"
    assert doc.meta["location"] == "LONDON"
    assert doc.meta["date"] == datetime(2025, 12, 2, 10, 30, tzinfo=UTC)
    assert doc.meta["date_text"] == "Published on December 2, 2025 10:30 am"
    assert doc.meta["images"] == [{"caption": "", "credit": "Jane Roe/Avalon Daily"}]
    assert paragraphs(doc) == [
        "The central bank of the fictional Republic of Avalon kept its main interest rate "
        "unchanged on Tuesday, saying inflation was cooling faster than it had expected.",
        'Governor Tomas Reed said the committee would "watch the data closely" before any cut.',
        "Markets had priced in a small chance of a cut.",
        "Analysts said the next decision, due in February, was finely balanced.",
    ]


def test_inline_photograph_credit_image_caption_and_country_dateline(tmp_path: Path) -> None:
    run(tmp_path, FIXTURES / "guardian_style.txt")
    (doc,) = articles(tmp_path).values()
    assert doc.meta["date"] == datetime(2025, 12, 2, 10, 30, tzinfo=UTC)
    assert doc.meta["location"] == "KYIV, Ukraine"
    assert doc.meta["images"] == [
        {
            "caption": "Volunteers carry boxes of donated books into a temporary hall.",
            "credit": "Sam Green/Valley News",
        },
        {"caption": "Children choose books at the reopened library"},
    ]
    assert paragraphs(doc)[0].startswith("Hundreds of volunteers spent the weekend")
    assert len(paragraphs(doc)) == 3


def test_missing_date_uses_the_capture_day_with_a_warning(tmp_path: Path) -> None:
    source = FIXTURES / "no_date_no_images.txt"
    report = run(tmp_path, source, captured=datetime(2025, 12, 2, 23, 30, tzinfo=UTC))
    (doc,) = articles(tmp_path).values()
    assert doc.meta["date"] == date(2025, 12, 2)
    assert "date_text" not in doc.meta and "images" not in doc.meta and "highlights" not in doc.meta
    assert importer.format_report(report)[1] == (
        f"{source}:1: warning: no date line found; used the capture date 2025-12-02"
    )


def test_markdown_lookalikes_render_back_exactly_as_written(tmp_path: Path) -> None:
    source = FIXTURES / "escaping.txt"
    run(tmp_path, source)
    (doc,) = articles(tmp_path).values()
    expected = [line for line in source.read_text(encoding="utf-8").splitlines()[4:] if line]
    assert rendered(doc.body) == [("p", line) for line in expected]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Updated 02 December 2025", date(2025, 12, 2)),
        ("December 2, 2025", date(2025, 12, 2)),
        ("2 Dec 2025", date(2025, 12, 2)),
        ("2025-12-02", date(2025, 12, 2)),
        ("Published 2025-12-02T10:30:00Z", datetime(2025, 12, 2, 10, 30, tzinfo=UTC)),
        ("Last updated: 2 Dec 2025 10:30 GMT", datetime(2025, 12, 2, 10, 30, tzinfo=UTC)),
        ("Published on December 2, 2025 10:30 pm", datetime(2025, 12, 2, 22, 30, tzinfo=UTC)),
        ("Tue 2 Dec 2025 10.30 GMT", datetime(2025, 12, 2, 10, 30, tzinfo=UTC)),
        ("Updated 3 sec ago", datetime(2025, 12, 2, 11, 59, 57, tzinfo=UTC)),
        ("4 min 35 sec ago", datetime(2025, 12, 2, 11, 55, 25, tzinfo=UTC)),
        ("2 hours ago", datetime(2025, 12, 2, 10, 0, tzinfo=UTC)),
        ("1 hour ago", datetime(2025, 12, 2, 11, 0, tzinfo=UTC)),
        ("3 days ago", date(2025, 11, 29)),
        ("yesterday", date(2025, 12, 1)),
        ("Updated today", date(2025, 12, 2)),
    ],
)
def test_date_lines_in_every_listed_form(line: str, expected: date) -> None:
    found = parse_date_line(line, CAPTURED, UTC)
    assert found is not None and found.value == expected and found.text == line


@pytest.mark.parametrize("line", ["Updated", "Follow", "31 February 2025", "In 2025 we said"])
def test_lines_that_are_not_dates(line: str) -> None:
    assert parse_date_line(line, CAPTURED, UTC) is None


def test_relative_date_counts_back_in_the_site_time_zone() -> None:
    zone = timezone(timedelta(hours=5))
    found = parse_date_line("yesterday", datetime(2025, 12, 2, 20, 0, tzinfo=UTC), zone)
    assert found is not None and found.value == date(2025, 12, 2)  # it is already the 3rd there


# --- writing files -------------------------------------------------------------------------

SHORT = "Rates held\n\nThe bank kept rates where they were on Tuesday.\n"


def test_existing_file_with_the_same_name_is_never_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "content" / "articles"
    folder.mkdir(parents=True)
    mine = folder / "2025-12-02-rates-held.md"
    mine.write_text("someone else's work\n", encoding="utf-8")
    report = run(tmp_path, write(tmp_path, "a.txt", SHORT))
    assert report.written == (Path("content/articles/2025-12-02-rates-held-2.md"),)
    assert mine.read_text(encoding="utf-8") == "someone else's work\n"
    assert sorted(p.name for p in folder.iterdir()) == [
        "2025-12-02-rates-held-2.md",
        "2025-12-02-rates-held.md",
    ]  # and no temporary file left behind


def test_importing_again_reports_already_imported_and_writes_nothing(tmp_path: Path) -> None:
    source = write(tmp_path, "a.txt", SHORT)
    first = run(tmp_path, source)
    before = articles(tmp_path)
    again = run(tmp_path, source, captured=CAPTURED + timedelta(hours=3))
    assert again.written == () and again.errors == ()
    assert again.already == ((Path("in/a.txt"), first.written[0]),)
    assert importer.format_report(again) == [
        "in/a.txt: already imported as content/articles/2025-12-02-rates-held.md"
    ]
    assert articles(tmp_path).keys() == before.keys()


def test_same_url_is_already_imported_even_under_another_title(tmp_path: Path) -> None:
    url = "https://news.example.org/rates"
    run(tmp_path, write(tmp_path, "a.txt", SHORT), url=url)
    other = "Rates left alone\n\nThe bank did nothing at all on Tuesday, again.\n"
    report = run(tmp_path, write(tmp_path, "b.txt", other), url=url)
    assert report.written == () and len(report.already) == 1
    assert len(articles(tmp_path)) == 1


def test_different_article_with_a_colliding_slug_gets_a_numbered_name(tmp_path: Path) -> None:
    run(tmp_path, write(tmp_path, "a.txt", SHORT))
    other = "Rates: held!\n\nA different story whose title makes the same slug.\n"
    report = run(tmp_path, write(tmp_path, "b.txt", other))
    assert report.written == (Path("content/articles/2025-12-02-rates-held-2.md"),)
    assert by_title(tmp_path)["Rates: held!"].path.name == "2025-12-02-rates-held-2.md"


def test_dry_run_writes_nothing_and_says_would_write(tmp_path: Path) -> None:
    report = run(tmp_path, FIXTURES / "two_articles.txt", dry_run=True)
    assert not (tmp_path / "content").exists()
    lines = importer.format_report(report)
    assert lines[:2] == [
        "would write content/articles/2025-03-04-harbour-towns-agree-shared-flood-barrier-after-"
        "decade-of-talks.md",
        "would write content/articles/2025-12-02-rail-union-calls-off-weekend-strike-after-late-"
        "pay-offer.md",
    ]


def test_untitled_slug_falls_back_to_article_and_long_titles_are_cut(tmp_path: Path) -> None:
    long_title = "Word " * 30
    text = (
        "«»\n\nA paragraph under a title that has no letters a slug could be made of.\n\n\n"
        f"{long_title}\n\n{long_title}\n\nBody text of the second story.\n"
    )
    report = run(tmp_path, write(tmp_path, "a.txt", text))
    names = [p.name for p in report.written]
    assert names[0] == "2025-12-02-article.md"
    assert len(names[1]) <= len("2025-12-02-") + 80 + len(".md")
    assert names[1].startswith("2025-12-02-word-word") and not names[1].endswith("-.md")


def test_stdin_is_read_for_a_dash(tmp_path: Path) -> None:
    report = run(tmp_path, Path("-"), stdin=io.StringIO(SHORT))
    assert report.written == (Path("content/articles/2025-12-02-rates-held.md"),)


def test_source_url_and_tags_from_options_land_in_front_matter(tmp_path: Path) -> None:
    run(
        tmp_path,
        write(tmp_path, "a.txt", "Kyiv talks resume\n\nTalks began again in Kyiv today.\n"),
        source="Daily Example",
        url="https://news.example.org/a",
        tags=("diplomacy", "ukraine"),
    )
    (doc,) = articles(tmp_path).values()
    assert list(doc.meta) == ["title", "date", "source", "url", "tags"]
    assert doc.meta["tags"] == ["ukraine", "diplomacy"]
    assert doc.meta["url"] == "https://news.example.org/a"


# --- bad inputs ----------------------------------------------------------------------------

BAD_INPUTS = [
    ("empty.txt", b"", "empty.txt: file is empty"),
    ("blank.txt", b"  \n\t\n\n", "blank.txt: file holds only blank lines"),
    ("binary.txt", b"PK\x03\x04\x00\x00binary", "binary.txt:1: file contains a NUL byte"),
    ("latin1.txt", "Caf\u00e9 news\n\nText.\n".encode("latin-1"), "latin1.txt:1: not valid UTF-8"),
    ("utf16.txt", "Title\n\nText.\n".encode("utf-16"), "utf16.txt: file is UTF-16"),
    ("title_only.txt", b"Just a headline\n", "title_only.txt:1: headline 'Just a headline' has no"),
    ("furniture.txt", b"Share\nFollow\nAdvertisement\n", "furniture.txt: no article found"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_INPUTS)
def test_bad_input_is_an_error_naming_it_while_others_still_import(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    bad = write(tmp_path, name, data)
    good = write(tmp_path, "good.txt", SHORT)
    report = run(tmp_path, bad, good)
    assert len(report.errors) == 1
    assert str(report.errors[0]).startswith(f"in/{message}")  # relative to the project root
    assert report.written == (Path("content/articles/2025-12-02-rates-held.md"),)
    assert len(articles(tmp_path)) == 1


def test_second_article_without_text_fails_the_whole_file(tmp_path: Path) -> None:
    text = SHORT + "\n\nOrphan headline\n\nUpdated 2 Dec 2025\n\nOrphan headline\n"
    report = run(tmp_path, write(tmp_path, "a.txt", text))
    assert [error.message for error in report.errors] == [
        "headline 'Orphan headline' has no article text after it"
    ]
    assert report.errors[0].location.line == 6  # type: ignore[union-attr]
    assert not (tmp_path / "content" / "articles").exists()  # nothing partial


def test_missing_input_file_is_an_error(tmp_path: Path) -> None:
    report = run(tmp_path, tmp_path / "nope.txt")
    assert "nope.txt: cannot read file (No such file or directory)" in str(report.errors[0])


# --- the inbox -----------------------------------------------------------------------------


def test_inbox_imports_moves_done_files_and_keeps_failed_ones(tmp_path: Path) -> None:
    inbox = tmp_path / "content" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "good.txt").write_text(SHORT, encoding="utf-8")
    (inbox / "bad.txt").write_bytes(b"")
    for junk in (".hidden.txt", "good.txt~", ".#good.txt", ".good.txt.swp", "#good.txt#"):
        (inbox / junk).write_text(SHORT, encoding="utf-8")
    (inbox / "done").mkdir()
    (inbox / "done" / "good.txt").write_text("an earlier file\n", encoding="utf-8")

    report = importer.import_inbox(tmp_path, CONFIG, captured_now=CAPTURED)

    assert report.written == (Path("content/articles/2025-12-02-rates-held.md"),)
    assert [str(error) for error in report.errors] == ["content/inbox/bad.txt: file is empty"]
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == sorted(
        ["bad.txt", ".hidden.txt", "good.txt~", ".#good.txt", ".good.txt.swp", "#good.txt#"]
    )
    assert (inbox / "done" / "good.txt").read_text(encoding="utf-8") == "an earlier file\n"
    assert (inbox / "done" / "good-2.txt").read_text(encoding="utf-8") == SHORT


def test_inbox_file_already_imported_is_moved_too(tmp_path: Path) -> None:
    run(tmp_path, write(tmp_path, "a.txt", SHORT))
    inbox = tmp_path / "content" / "inbox"
    inbox.mkdir()
    (inbox / "again.txt").write_text(SHORT, encoding="utf-8")
    report = importer.import_inbox(tmp_path, CONFIG, captured_now=CAPTURED)
    assert report.written == () and len(report.already) == 1
    assert (inbox / "done" / "again.txt").exists() and not (inbox / "again.txt").exists()


def test_inbox_capture_time_defaults_to_the_file_time(tmp_path: Path) -> None:
    inbox = tmp_path / "content" / "inbox"
    inbox.mkdir(parents=True)
    raw = inbox / "a.txt"
    raw.write_text("Rates held\n\nUpdated 1 hour ago\n\nRates held\n\nThe bank held.\n", "utf-8")
    stamp = datetime(2024, 5, 6, 7, 8, tzinfo=UTC).timestamp()
    os.utime(raw, (stamp, stamp))
    importer.import_inbox(tmp_path, CONFIG)
    (doc,) = articles(tmp_path).values()
    assert doc.meta["date"] == datetime(2024, 5, 6, 6, 8, tzinfo=UTC)


def test_missing_inbox_is_nothing_to_do(tmp_path: Path) -> None:
    assert importer.import_inbox(tmp_path, CONFIG) == ImportReport((), (), (), ())


# --- command-line arguments ----------------------------------------------------------------


def parse_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    importer.add_import_arguments(parser)
    return parser.parse_args(argv)


def test_arguments_become_options(tmp_path: Path) -> None:
    args = parse_args(
        "a.txt", "-", "--captured", "2025-12-02T12:00", "--source", "Arab News",
        "--tag", "ukraine", "--tag", "diplomacy", "--dry-run", "--into", "drafts",
    )  # fmt: skip
    config = Config(timezone="Asia/Riyadh")
    options = importer.options_from_args(args, tmp_path, config)
    assert args.files == [Path("a.txt"), Path("-")]
    assert options == ImportOptions(
        captured=datetime(2025, 12, 2, 12, 0, tzinfo=config.zone),
        source="Arab News",
        url=None,
        tags=("ukraine", "diplomacy"),
        dry_run=True,
        into=tmp_path / "drafts",
    )


def test_default_options(tmp_path: Path) -> None:
    options = importer.options_from_args(parse_args("a.txt"), tmp_path, CONFIG)
    assert options == ImportOptions(None, None, None, (), False, tmp_path / "content/articles")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["a.txt", "--captured", "yesterday"], "--captured must be a date and time"),
        (["a.txt", "--url", "javascript:alert(1)"], "--url must be an http(s) address"),
        (["a.txt", "--url", "https://"], "--url must be an http(s) address"),
        (["a.txt", "b.txt", "--url", "https://x.org/a"], "--url names one article, but 2 files"),
        (["a.txt", "--tag", " "], "--tag must be a non-empty name"),
        (["a.txt", "--tag", "日本"], "--tag '日本' has no letters or digits to make a URL from"),
        (
            ["a.txt", "--tag", "C++", "--tag", "C#"],
            "--tag 'C#' and --tag 'C++' both make the URL slug 'c'",
        ),
        (["a.txt", "--source", ""], "--source must be a non-empty name"),
    ],
)
def test_bad_argument_values_are_config_errors(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        importer.options_from_args(parse_args(*argv), tmp_path, CONFIG)
    assert caught.value.message.startswith(message)
    assert caught.value.exit_code == 2


def test_url_for_a_file_of_several_articles_is_an_error(tmp_path: Path) -> None:
    report = run(tmp_path, FIXTURES / "two_articles.txt", url="https://x.org/a")
    assert [error.message for error in report.errors] == [
        "--url names one article, but the file holds 2; import them one at a time"
    ]
    assert report.written == ()


# --- properties ----------------------------------------------------------------------------

TEXT = st.characters(blacklist_categories=("Cs",))  # what a UTF-8 file can hold
LINE = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00")  # decoded


def one_article(title: str) -> RawArticle:
    return RawArticle(
        title=title,
        line=1,
        date=date(2025, 12, 2),
        date_text=None,
        author=None,
        location=None,
        highlights=(),
        images=(),
        body=(Block("p", "Text.", 3),),
    )


@given(st.text(TEXT, min_size=1))
@example("no")
@example("2024")
@example("a: b")
@example("---")
@example("...")
@example("'quoted' and \"double\"")
@example("Ünïcödé — 東京 🚀")
@example("tab\there\x07bell\x1b[0m\x85\u2028\ufeff")
@example("  padded  ")
@example("null")
@example("- list?")
@example("# not a comment")
def test_any_title_reads_back_exactly_from_the_written_file(title: str) -> None:
    markdown = to_markdown(one_article(title), None, None, ())
    doc = parse_document(decode_text(markdown.encode("utf-8"), "t.md"), "t.md")
    assert doc.meta["title"] == title


@given(st.text(LINE, max_size=200))
@example("1. <b>[x](y)</b> `c` _e_ *s* \\ &amp; # ~ |")
@example("---")
@example("=== ")
@example("1) x #")
def test_escaped_text_renders_exactly_as_written(line: str) -> None:
    text = line.strip()
    blocks = rendered(escape_markdown(text) + "\n")
    assert blocks == ([("p", text)] if text else [])


def check_import_is_clean(data: bytes) -> None:
    """Import `data`: either files the build reads, or a clean error; never another exception."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = write(root, "raw.txt", data)
        report = run(root, source)
        written = articles(root)
        assert len(written) == len(report.written)
        if report.errors:
            assert not written
            assert all(isinstance(error, BroadsheetError) for error in report.errors)
            assert all(str(error).startswith("in/raw.txt") for error in report.errors)
        for doc in written.values():
            assert isinstance(doc.meta["title"], str) and doc.meta["title"]
            assert isinstance(doc.meta["date"], date)
            assert set(doc.meta) <= ALLOWED_KEYS


@settings(max_examples=150, deadline=None)
@given(st.text(TEXT, max_size=400))
def test_arbitrary_text_imports_or_fails_cleanly(text: str) -> None:
    check_import_is_clean(text.encode("utf-8"))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_import_or_fail_cleanly(data: bytes) -> None:
    check_import_is_clean(data)


FIXTURE_LINES = (FIXTURES / "two_articles.txt").read_text(encoding="utf-8").split("\n")
MUTATION = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 200)),
    st.tuples(st.just("repeat"), st.integers(0, 200)),
    st.tuples(st.just("swap"), st.integers(0, 200), st.integers(0, 200)),
    st.tuples(st.just("insert"), st.integers(0, 200), st.text(TEXT, max_size=40)),
    st.tuples(st.just("cut"), st.integers(0, 200), st.integers(0, 80)),
)


def mutate(lines: list[str], mutations: list[tuple]) -> str:
    lines = list(lines)
    for kind, at, *more in mutations:
        if not lines:
            break
        at %= len(lines)
        if kind == "delete":
            del lines[at]
        elif kind == "repeat":
            lines.insert(at, lines[at])
        elif kind == "swap":
            other = more[0] % len(lines)
            lines[at], lines[other] = lines[other], lines[at]
        elif kind == "insert":
            lines.insert(at, more[0])
        else:
            lines[at] = lines[at][: more[0]]
    return "\n".join(lines)


@settings(max_examples=150, deadline=None)
@given(st.lists(MUTATION, max_size=12))
def test_mutated_real_shaped_text_imports_or_fails_cleanly(mutations: list[tuple]) -> None:
    check_import_is_clean(mutate(FIXTURE_LINES, mutations).encode("utf-8"))


def test_quotation_repeated_in_the_body_does_not_split_the_article(tmp_path: Path) -> None:
    quote = "“We have never seen anything like it,” one resident said"
    text = (
        f"Storm leaves thousands without power\n\n2 hours ago\nShare\n\n"
        f"More than 20,000 homes were left without power after a storm swept in.\n\n{quote}\n\n"
        f"Engineers said most homes would be reconnected by Wednesday.\n\n{quote}\n\n"
        "Related topics\n"
    )
    report = run(tmp_path, write(tmp_path, "a.txt", text))
    assert len(report.written) == 1
    (doc,) = articles(tmp_path).values()
    assert paragraphs(doc) == [
        "More than 20,000 homes were left without power after a storm swept in.",
        quote,
        "Engineers said most homes would be reconnected by Wednesday.",
        quote,
    ]


# --- lines that only look like furniture, credits or datelines ------------------------------

LOOKALIKES = """Study links news habits to anxiety

Updated 02 December 2025

LONDON: People who spend more time on the news report higher anxiety, a study found.
30 minutes reading the news each day was enough to raise anxiety scores, the authors said.
Related-party loans at the lender tripled last year, the regulator said.
Watch - and wait: that is the advice the authors give to worried readers.
Copyright 2019 rules were cited by the publisher in its response.
Photos, videos and eyewitness accounts posted online showed long queues.
Credit: ratings agencies warned the city's debt could be downgraded.
The plant supplies heat to 200,000 homes, the mayor said (Reuters reported earlier).
EDITOR'S NOTE: This story contains descriptions of violence.
US - China trade talks resumed in Geneva on Monday after a pause.
Share
5 min read
Related: Anxiety rises among young readers
"""


def test_text_that_starts_like_furniture_credits_or_datelines_stays_text(tmp_path: Path) -> None:
    report = run(tmp_path, write(tmp_path, "a.txt", LOOKALIKES))
    (doc,) = articles(tmp_path).values()
    lines = LOOKALIKES.splitlines()
    assert paragraphs(doc) == [lines[4].removeprefix("LONDON: "), *lines[5:14]]
    assert doc.meta["location"] == "LONDON"
    assert "images" not in doc.meta
    assert report.warnings == ()  # the furniture at the end is dropped without a word


def test_furniture_left_out_inside_the_text_is_a_warning_naming_its_line(tmp_path: Path) -> None:
    text = "Rates held\n\nUpdated 02 December 2025\n\nThe bank held rates, it said.\n"
    text += "Read more: Banks in the region\nAnalysts expected the decision, they said.\n"
    source = write(tmp_path, "a.txt", text)
    report = run(tmp_path, source)
    (doc,) = articles(tmp_path).values()
    assert paragraphs(doc) == [
        "The bank held rates, it said.",
        "Analysts expected the decision, they said.",
    ]
    assert importer.format_report(report)[1:] == [
        "in/a.txt:6: warning: left out as page furniture: 'Read more: Banks in the region'; "
        "copy it back if it belongs to the text"
    ]


def test_a_headline_that_starts_like_a_link_label_is_the_headline(tmp_path: Path) -> None:
    text = "Watch: Putin meets envoys\n\nUpdated 02 December 2025\n\nPutin met the envoys on Tuesday.\n"
    run(tmp_path, write(tmp_path, "a.txt", text))
    (doc,) = articles(tmp_path).values()
    assert doc.meta["title"] == "Watch: Putin meets envoys"
    assert paragraphs(doc) == ["Putin met the envoys on Tuesday."]


def test_a_second_date_line_inside_the_text_is_kept_and_warned_of(tmp_path: Path) -> None:
    text = (
        "Talks resume in Geneva\n\nUpdated 02 December 2025\nFollow\n\nTalks resume in Geneva\n\n"
        "Talks resumed on Monday after a pause of several months, officials said.\n"
        "Fire hits port in Odesa\n\nUpdated 3 sec ago\nFollow\n\nFire hits port in Odesa\n\n"
        "A fire broke out at the port on Tuesday, officials said.\n"
    )
    source = write(tmp_path, "a.txt", text)
    report = run(tmp_path, source)
    (doc,) = articles(tmp_path).values()
    assert "Updated 3 sec ago" in paragraphs(doc)
    assert (
        "in/a.txt:11: warning: a date line inside the text, kept as text: 'Updated 3 sec ago'; "
        "does another article start here (headline on line 1 is this one's)?"
    ) in importer.format_report(report)


def test_imported_names_give_slugs_the_build_accepts(tmp_path: Path) -> None:
    """The build cuts slugs at 80 characters and lower-cases file names: the number that keeps
    two articles apart must survive both."""
    folder = tmp_path / "content" / "articles"
    folder.mkdir(parents=True)
    (folder / "2025-11-30-Harbour_Towns_Agree.md").write_text(
        '---\ntitle: "Harbour towns agree"\ndate: 2025-11-30\n---\nText.\n', encoding="utf-8"
    )
    title = "Ministers from six countries agree on a framework for sharing regional waterways"
    for day, name in (("02", "a.txt"), ("05", "b.txt")):
        body = f"{title} and rivers\n\nUpdated {day} December 2025\n\nThe ministers agreed.\n"
        run(tmp_path, write(tmp_path, name, body))
    text = "Harbour towns agree\n\nUpdated 02 December 2025\n\nThe towns agreed.\n"
    run(tmp_path, write(tmp_path, "c.txt", text))
    slugs = [slug_from_name(p.stem) for p in folder.glob("*.md")]
    assert len(slugs) == 4 and len(set(slugs)) == 4, slugs
    assert "harbour-towns-agree-2" in slugs


def test_two_articles_with_one_title_and_day_but_other_text_are_both_kept(tmp_path: Path) -> None:
    """A live page copied twice in a day: the second copy is news, not a repeat."""
    title = "Live: Ukraine talks latest"
    first = f"{title}\n\nUpdated 02 December 2025 10:00 GMT\nFollow\n\n{title}\n\n"
    first += "Envoys arrived at the Kremlin on Tuesday morning for the talks.\n"
    second = first.replace("10:00", "18:00").replace(
        "Envoys arrived at the Kremlin on Tuesday morning for the talks.",
        "The talks ended after five hours without a breakthrough, the Kremlin said.",
    )
    source = write(tmp_path, "a.txt", f"{first}\n\n{second}")
    report = run(tmp_path, source)
    assert [p.name for p in report.written] == [
        "2025-12-02-live-ukraine-talks-latest.md",
        "2025-12-02-live-ukraine-talks-latest-2.md",
    ]
    assert report.already == ()
    again = run(tmp_path, write(tmp_path, "b.txt", first))  # the same copy once more
    assert again.written == () and len(again.already) == 1


def test_a_finished_article_given_to_the_importer_is_refused_not_mangled(tmp_path: Path) -> None:
    """A .md file with front matter dropped into the inbox belongs in content/articles."""
    text = '---\ntitle: "Rates held"\ndate: 2025-12-02\n---\nThe bank held rates.\n'
    source = write(tmp_path, "a.md", text)
    report = run(tmp_path, source)
    assert report.written == ()
    assert [str(e) for e in report.errors] == [
        "in/a.md:1: already an article with front matter; move it to content/articles/ instead"
        " of importing it"
    ]
