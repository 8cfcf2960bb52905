"""Generate a deterministic benchmark project: config, templates, static and N articles.

    python bench/corpus.py --articles 4000 --out DIR [--seed 1]

The text is made from a fixed list of plain English words with random.Random(seed), so the same
seed and size always give byte-identical files. Articles follow the front matter schema of
broadsheet/content.py and look like the real thing in size and shape: about 930 words in
paragraphs of 40-120 words, two subheads, sometimes a list or a quotation; 2-4 tags from a
40-tag vocabulary used with a Zipf-like skew; about 8 articles a day, so 4,000 articles cover
about 500 days of digests.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARTICLES_PER_DAY = 8
FIRST_DAY = date(2023, 1, 2)
SECTIONS = ("World", "Politics", "Business", "Science", "Culture")
# Most used first: tag number k (from 1) is picked with weight 1/k.
TAGS = (
    "economy", "politics", "climate", "technology", "europe", "health", "markets", "diplomacy",
    "security", "energy", "elections", "science", "trade", "china", "united-states",
    "middle-east", "africa", "ai", "space", "migration", "culture", "sport", "law", "weather",
    "media", "education", "transport", "housing", "agriculture", "labour", "asia",
    "latin-america", "oceans", "cities", "religion", "crime", "finance", "wildlife",
    "archaeology", "fashion",
)  # fmt: skip
TAG_WEIGHTS = tuple(1 / rank for rank in range(1, len(TAGS) + 1))
WORDS = """
    agency agreement airport analyst annual army autumn bank border bridge budget building
    cabinet campaign capital century chairman city climate coast committee company council
    country court crisis crop currency customer data deal debate decade decision defence
    delegate demand director district doctor drought election electricity employer energy
    engineer evidence export factory family farmer festival figure finance forecast forest
    fund government growth harbour harvest health hospital household industry inflation
    inquiry island judge labour land leader license market mayor minister ministry month
    museum nation network officer official opposition parliament partner patient pension
    people plan police policy port power president price profit project province railway
    rain rate region report research resident river road rule school scientist season
    sector service ship shortage shore signal source station steel storm strike student
    study summit supply survey talks tax teacher team tenant test trade traffic treaty trial
    union university valley village vote voter wage water week winter worker year
    accept add agree allow announce approve argue arrive ask begin build buy call change
    close collect consider continue cut decide deliver describe expand expect explain face
    fall find finish follow gather grow hold improve include increase invest join keep
    launch lead leave lift lower meet move need offer open order pass plan predict prepare
    present promise protect publish raise reach record reduce reject remain repair report
    require reveal review rise save schedule seek sell send settle share show sign slow
    spend start stop suggest support test track travel urge vote warn welcome widen win
    ancient annual broad central cheap clear close coastal common cold costly current
    deep difficult dry early eastern empty fair familiar final first former fresh full
    heavy high historic home large late local long low major modest narrow national new
    northern open overall private public quiet rapid rare recent regional remote rural
    senior sharp short slow small southern steady strong sudden temporary tight urban
    useful vast warm weak western wide young
    about after again against almost already also although because before between both
    during each even every few further however later least less many more most much
    nearly never next often only other over perhaps rather several since still such than
    through together under until very while within without yesterday
    2 3 4 5 6 7 8 9 10 12 15 20 24 30 40 50 60 75 80 100 120 250 500 1,000 2024 2025
    percent million billion dollars euros kilometres tonnes hours days months
"""
FILLERS = ("the", "a", "of", "to", "and", "in", "on", "for", "with", "that", "by", "from")
POOL = tuple(WORDS.split()) + FILLERS * 12  # function words about a third of all words
WORD_TABLE = tuple(POOL[i % len(POOL)] for i in range(65536))  # 16-bit index -> word
CONTENT_WORDS = tuple(w for w in WORDS.split() if w.isalpha())
SOURCES = (
    ("The Harbour Gazette", "gazette.example.com"), ("Northern Wire", "wire.example.net"),
    ("The Ledger Daily", "ledger.example.com"), ("Continental Review", "review.example.org"),
    ("Morning Standard", "standard.example.com"), ("The Valley Courier", "courier.example.net"),
    ("Coastal Times", "coastal.example.org"), ("The Civic Post", "civicpost.example.com"),
    ("Meridian News", "meridian.example.net"), ("The Plain Dealer", "plain.example.org"),
)  # fmt: skip
FIRST_NAMES = "Amina Cal Hanna Ingrid Jonas Lena Maren Oskar Rosa Tomas Yusuf Elif Priya Sam"
LAST_NAMES = "Berg Farouk Holt Lind Mendel Okafor Petrak Solheim Vidal Voss Whitford Tanaka"
PLACES = (
    "ARVEN", "BRENMOUTH", "LINDMARK", "SOLANO", "TORVIK", "KESTREL BAY", "MARLOW", "OSTRAVEN",
    "PELLA", "QUARRY HILL", "RUNDALE", "SAVONA", "THORNBURY", "VALDORA", "WESTMERE",
)  # fmt: skip
OFFSETS = (0, 0, 0, 60, 60, 120, -300, -240, 330, 540)  # minutes east of UTC
LIST_CHANCE, QUOTE_CHANCE, IMAGE_CHANCE, NOTE_CHANCE, DRAFT_CHANCE = 0.3, 0.4, 0.5, 1 / 3, 0.01


@dataclass(frozen=True)
class Corpus:
    """What generate_corpus wrote."""

    root: Path  # the project folder
    articles: tuple[Path, ...]  # article files, sorted by name
    days: int  # days the articles are spread over
    notes: int  # digest notes written


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and write one corpus."""
    parser = argparse.ArgumentParser(description="Write a deterministic benchmark project.")
    parser.add_argument("--articles", type=int, required=True, help="number of articles")
    parser.add_argument("--out", type=Path, required=True, help="project folder to create")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    if args.articles < 1:
        parser.error("--articles must be at least 1")
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} exists and is not empty")
    start = time.perf_counter()
    corpus = generate_corpus(args.out, args.articles, args.seed)
    print(
        f"wrote {len(corpus.articles)} articles over {corpus.days} days and {corpus.notes} "
        f"digest notes into {corpus.root} in {time.perf_counter() - start:.2f}s",
        file=sys.stderr,
    )
    return 0


def generate_corpus(out: Path, articles: int, seed: int = 1) -> Corpus:
    """Write a complete project into `out`: config, templates, static and content."""
    rng = random.Random(seed)
    days = max(1, round(articles / ARTICLES_PER_DAY))
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "templates", out / "templates")
    shutil.copytree(REPO / "static", out / "static")
    _write(out / "config.yml", _config())
    folder = out / "content" / "articles"
    folder.mkdir(parents=True)
    slugs: set[str] = set()
    published_days: set[date] = set()
    paths = []
    for _ in range(articles):
        day = FIRST_DAY + timedelta(days=rng.randrange(days))
        name, text, draft = _article(rng, day, slugs)
        if not draft:
            published_days.add(day)
        paths.append(folder / name)
        _write(folder / name, text)
    notes = _write_notes(rng, out / "content" / "digests", sorted(published_days), days)
    _write(out / "content" / "pages" / "about.md", _about(rng))
    return Corpus(out, tuple(sorted(paths)), days, notes)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def _config() -> str:
    vocabulary = "".join(
        f"  {tag}: [{tag.replace('-', ' ').title()}, {tag.replace('-', ' ')}]\n" for tag in TAGS
    )
    return (
        "# Generated by bench/corpus.py for benchmarks.\n"
        "title: The Benchmark Broadsheet\n"
        "description: A generated daily digest for measuring build speed.\n"
        "base_url: https://example.org/\n"
        "language: en\n"
        "timezone: UTC\n"
        "digest_period: day\n"
        f"sections: [{', '.join(SECTIONS)}]\n"
        "home_digests: 10\n"
        "tag_page_size: 20\n"
        "feed_size: 20\n"
        "author: The Benchmark Desk\n"
        "output_dir: site\n"
        "tag_vocabulary:\n" + vocabulary
    )


def _article(rng: random.Random, day: date, slugs: set[str]) -> tuple[str, str, bool]:
    """Return one article's file name, text and whether it is a draft."""
    title = _title(rng, 5, 10)
    slug = _unique_slug(title, slugs)
    offset = timezone(timedelta(minutes=rng.choice(OFFSETS)))
    utc = datetime(day.year, day.month, day.day, rng.randint(8, 14), rng.randrange(0, 60, 5))
    published = utc.replace(tzinfo=UTC).astimezone(offset)  # same date in every offset
    source, host = rng.choice(SOURCES)
    section = rng.choice(SECTIONS)
    lines = [
        f"title: {_quote(title)}",
        f"date: {published.isoformat()}",
    ]
    if rng.random() < 0.5:
        lines.append(f"date_text: {_quote(published.strftime('%d %B %Y'))}")
    lines.append(f"source: {_quote(source)}")
    lines.append(f"url: https://{host}/{section.lower()}/{day:%Y/%m/%d}/{slug}")
    if rng.random() < 0.8:
        lines.append(f"author: {_quote(_person(rng))}")
    if rng.random() < 0.7:
        lines.append(f"location: {_quote(rng.choice(PLACES))}")
    lines.append(f"tags: [{', '.join(_tags(rng))}]")
    lines.append("highlights:")
    lines += [
        f"  - {_quote(_sentences(rng, rng.randint(10, 18)))}" for _ in range(rng.randint(1, 3))
    ]
    if rng.random() < IMAGE_CHANCE:
        lines.append("images:")
        for _ in range(rng.randint(1, 2)):
            lines.append(f"  - caption: {_quote(_sentences(rng, rng.randint(12, 24)))}")
            lines.append(f"    credit: {_quote(source + ' / ' + _person(rng))}")
    lines.append(f"summary: {_quote(_sentences(rng, rng.randint(20, 32)))}")
    if rng.random() < NOTE_CHANCE:
        lines.append(f"note: {_quote(_sentences(rng, rng.randint(15, 40)))}")
    lines.append(f"section: {section}")
    draft = rng.random() < DRAFT_CHANCE
    if draft:
        lines.append("draft: true")
    text = "---\n" + "\n".join(lines) + "\n---\n" + _body(rng)
    return f"{day.isoformat()}-{slug}.md", text, draft


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _title(rng: random.Random, low: int, high: int) -> str:
    words = rng.choices(CONTENT_WORDS, k=rng.randint(low, high))
    return " ".join(words).capitalize()


def _unique_slug(title: str, slugs: set[str]) -> str:
    slug = ""
    for word in title.lower().split():
        if len(slug) + len(word) + 1 > 60:
            break
        slug = f"{slug}-{word}" if slug else word
    candidate, number = slug, 2
    while candidate in slugs:
        candidate, number = f"{slug}-{number}", number + 1
    slugs.add(candidate)
    return candidate


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES.split())} {rng.choice(LAST_NAMES.split())}"


def _tags(rng: random.Random) -> list[str]:
    """Pick 2-4 distinct tags, the popular ones far more often."""
    wanted = rng.randint(2, 4)
    chosen: list[str] = []
    while len(chosen) < wanted:
        tag = rng.choices(TAGS, weights=TAG_WEIGHTS)[0]
        if tag not in chosen:
            chosen.append(tag)
    return chosen


def _sentences(rng: random.Random, count: int) -> str:
    """Return `count` words as sentences of 6-24 words, with the odd comma."""
    # Random bytes, read as 16-bit indices, are several times faster than rng.choices.
    words = [WORD_TABLE[i] for i in memoryview(rng.randbytes(2 * count)).cast("H")]
    shape = rng.randbytes(count // 3 + 2)
    sentences = []
    start = turn = 0
    while start < count:
        end = min(count, start + 6 + shape[turn] % 19)
        if count - end < 4:
            end = count
        part = words[start:end]
        if len(part) > 8:
            part[3 + shape[turn + 1] % (len(part) - 6)] += ","
        sentences.append(" ".join(part).capitalize() + ".")
        start, turn = end, turn + 2
    return " ".join(sentences)


def _body(rng: random.Random) -> str:
    """Return a Markdown body of about 930 words with two subheads."""
    target = rng.randint(720, 1000)
    blocks: list[str] = []
    words = 0
    while words < target:
        count = rng.randint(40, 120)
        blocks.append(_sentences(rng, count))
        words += count
    for position in sorted(rng.sample(range(1, len(blocks)), 2), reverse=True):
        blocks.insert(position, "## " + _title(rng, 2, 5))
    if rng.random() < LIST_CHANCE:
        items = [f"- {_sentences(rng, rng.randint(5, 12))}" for _ in range(rng.randint(3, 5))]
        blocks.insert(rng.randint(1, len(blocks)), "\n".join(items))
    if rng.random() < QUOTE_CHANCE:
        blocks.insert(rng.randint(1, len(blocks)), "> " + _sentences(rng, rng.randint(15, 35)))
    return "\n\n".join(blocks) + "\n"


def _write_notes(rng: random.Random, folder: Path, days: list[date], span: int) -> int:
    """Write an editor's note for a few digests that have published articles."""
    count = min(len(days), max(2, span // 40))
    for day in rng.sample(days, count):
        paragraphs = [_sentences(rng, rng.randint(50, 90)) for _ in range(rng.randint(2, 3))]
        text = f"---\ntitle: {_quote(_title(rng, 4, 9))}\n---\n" + "\n\n".join(paragraphs) + "\n"
        _write(folder / f"{day.isoformat()}.md", text)
    return count


def _about(rng: random.Random) -> str:
    first, *rest = [_sentences(rng, rng.randint(50, 90)) for _ in range(3)]
    body = "\n\n".join([first, "## How we choose", *rest])
    return f"---\ntitle: About\n---\n{body}\n"


if __name__ == "__main__":
    sys.exit(main())
