"""The commands end to end: import and the inbox step of build, on real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO

SEED = REPO.parent / "shared" / "seeds" / "000_26093fa9f346381b.txt"
FIXTURE = REPO / "tests" / "fixtures" / "import" / "two_articles.txt"
needs_seed = pytest.mark.skipif(not SEED.is_file(), reason=f"the seed example {SEED} is not here")


@needs_seed
def test_imported_seed_builds_without_edits(sample_site: Path, cli) -> None:
    run = cli(
        sample_site,
        "import",
        str(SEED),
        "--captured",
        "2025-12-02T12:00:00+00:00",
        "--source",
        "Arab News",
    )
    assert run.code == 0, run.err
    written = [line.removeprefix("wrote ") for line in run.out.splitlines()]
    assert written == [
        "content/articles/2025-12-02-putin-receives-top-us-negotiators-in-high-stakes-ukraine-talks.md",
        "content/articles/2025-12-02-german-spy-chief-warns-of-russia-threat-to-2026-regional-polls.md",
    ]
    assert "warning: relative date 'Updated 3 sec ago'" in run.err
    build = cli(sample_site, "--strict")
    assert build.code == 0, build.err
    page = (
        sample_site
        / "site/articles/putin-receives-top-us-negotiators-in-high-stakes-ukraine-talks/index.html"
    ).read_text()
    assert "<h2>Russian pressure</h2>" in page and "Getty Images via AFP" in page


def test_build_imports_the_inbox_and_keeps_the_raw_file(sample_site: Path, cli) -> None:
    inbox = sample_site / "content/inbox"
    inbox.mkdir()
    shutil.copy(FIXTURE, inbox / "today.txt")
    (inbox / "broken.txt").write_bytes(b"\xff\xfe\x00\x01binary")
    run = cli(sample_site)
    assert run.code == 1
    assert "content/inbox/broken.txt" in run.err
    assert (inbox / "broken.txt").is_file()
    assert (inbox / "done/today.txt").read_bytes() == FIXTURE.read_bytes()
    assert not (inbox / "today.txt").exists()
    assert run.out.count("wrote content/articles/") == 2
    for line in run.out.splitlines():
        path = sample_site / line.removeprefix("wrote ")
        slug = path.stem[11:]
        assert (sample_site / "site/articles" / slug / "index.html").is_file()
    assert cli(sample_site, "--no-import").code == 0


def test_reimport_on_another_day_gets_a_free_slug(sample_site: Path, cli) -> None:
    text = FIXTURE.read_text().replace("Updated 04 March 2025", "Updated 2 hours ago")
    assert "2 hours ago" in text
    outputs = []
    for day in ("2025-12-02", "2025-12-09"):
        source = sample_site / f"{day}.txt"
        source.write_text(text, encoding="utf-8")
        run = cli(sample_site, "import", str(source), "--captured", f"{day}T12:00:00+00:00")
        assert run.code == 0, run.err
        outputs.append(run.out)
    assert (
        "content/articles/2025-12-09-harbour-towns-agree-shared-flood-barrier-after-decade-of-talks-2.md"
        in outputs[1]
    )
    build = cli(sample_site)
    assert build.code == 0, build.err


def test_import_dry_run_writes_nothing(sample_site: Path, cli) -> None:
    before = sorted((sample_site / "content/articles").iterdir())
    run = cli(
        sample_site, "import", str(FIXTURE), "--dry-run", "--captured", "2025-12-02T12:00:00Z"
    )
    assert run.code == 0, run.err
    assert run.out.startswith("would write content/articles/")
    assert sorted((sample_site / "content/articles").iterdir()) == before


def test_import_of_a_bad_file_fails_cleanly(sample_site: Path, cli) -> None:
    bad = sample_site / "bad.txt"
    bad.write_text("   \n\n")
    run = cli(sample_site, "import", str(bad), str(FIXTURE), "--captured", "2025-12-02T12:00:00Z")
    assert run.code == 1
    assert "bad.txt" in run.err and "Traceback" not in run.err
    assert run.out.count("wrote ") == 2
