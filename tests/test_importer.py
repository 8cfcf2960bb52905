"""Tests for the importer: copied news text -> content/articles/*.md."""

from __future__ import annotations

from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from broadsheet import importer
from broadsheet.config import Config
from broadsheet.frontmatter import Document, parse_document, read_text
from broadsheet.importer import ImportOptions, ImportReport

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
    values.update(changes)
    options = ImportOptions(**values)  # type: ignore[arg-type]
    return importer.import_files(list(inputs), options, CONFIG, root, changes.get("stdin"))  # type: ignore[arg-type]


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
