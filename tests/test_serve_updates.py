"""Serve's incremental updates: after every kind of edit, the preview folder holds exactly
what a full build from scratch writes, and edits to what articles say skip the full build."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broadsheet import pipeline
from broadsheet.manifest import MARKER
from broadsheet.preview import Preview, PreviewOptions
from tests.conftest import article
from tests.sitecheck import run_build
from tests.test_pipeline import manifest

A = "content/articles/2025-12-02-ai-model-helps-astronomers-spot-faint-comet.md"
B = "content/articles/2025-12-02-talks-on-shared-river-resume-after-two-year-pause.md"
C = "content/articles/2025-11-28-storm-imogen-brings-record-rainfall-to-western-coast.md"


class Previewer:
    """A preview of a project, counting the full builds it ran."""

    def __init__(self, root: Path, preview: Preview, full_builds: list[int]) -> None:
        self.root, self.preview, self.full_builds = root, preview, full_builds

    def rebuild(self, *changed: str) -> bool:
        """Rebuild after `changed`; tell whether it was an incremental update."""
        before = len(self.full_builds)
        state = self.preview.rebuild(tuple(changed))
        assert state.errors == (), state.errors
        return len(self.full_builds) == before

    def edit(self, name: str, change: Callable[[str], str]) -> str:
        path = self.root / name
        text = path.read_text()
        new = change(text)
        assert new != text or change is _same
        path.write_text(new)
        return name

    def assert_matches_a_full_build(self, scratch: Path) -> None:
        """The preview folder holds the files and keys a fresh full build makes, in a process
        of its own (nothing it keeps in memory, compiled templates included, is shared)."""
        shutil.rmtree(scratch, ignore_errors=True)
        run = run_build(self.root, "--no-cache", "--no-import", "--output", str(scratch))
        assert run.returncode == 0, run.stderr
        site = self.preview.site
        assert manifest(site) == manifest(scratch)
        assert _keys(site) == _keys(scratch)


def _keys(folder: Path) -> dict[str, str]:
    files = json.loads((folder / MARKER).read_text())["files"]
    return {path: entry[0] for path, entry in files.items()}


def _same(text: str) -> str:
    return text


def _set(key: str, value: str) -> Callable[[str], str]:
    def change(text: str) -> str:
        new, count = re.subn(rf"(?m)^{key}: .*$", f"{key}: {value}", text, count=1)
        assert count == 1, key
        return new

    return change


def _insert(line: str) -> Callable[[str], str]:
    return lambda text: text.replace("---\n", f"---\n{line}\n", 1)


def _append(paragraph: str) -> Callable[[str], str]:
    return lambda text: text + f"\n{paragraph}\n"


@pytest.fixture
def previewer(sample_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Previewer]:
    full_builds: list[int] = []
    real = pipeline._build

    def counting(*args: object, **kwargs: object) -> pipeline.BuildResult:
        full_builds.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_build", counting)
    with Preview(PreviewOptions(sample_site)) as preview:
        preview.rebuild()
        yield Previewer(sample_site, preview, full_builds)


def test_edits_to_what_articles_say_update_in_place(previewer: Previewer, tmp_path: Path) -> None:
    edits = [
        (A, _append("A paragraph added while serving, with a [link](https://example.org/x).")),
        (A, _set("title", '"A title changed while serving"')),
        (A, _set("summary", '"A summary changed while serving."')),
        (A, _set("note", '"A *note* changed while serving."')),
        (C, _set("location", '"NEW HARBOUR"')),
        (C, _same),  # saved without a change
    ]
    for name, change in edits:
        assert previewer.rebuild(previewer.edit(name, change)), name
        previewer.assert_matches_a_full_build(tmp_path / "full")


def test_a_save_without_a_change_then_a_real_edit(previewer: Previewer, tmp_path: Path) -> None:
    assert previewer.rebuild(previewer.edit(C, _same))
    assert previewer.rebuild(previewer.edit(C, _set("title", '"Edited after an empty save"')))
    previewer.assert_matches_a_full_build(tmp_path / "full")
    page = previewer.preview.site / "digests/2025-11-28/index.html"
    assert "Edited after an empty save" in page.read_text()


def test_a_tools_temporary_file_beside_the_edit_is_no_reason_for_a_full_build(
    previewer: Previewer, tmp_path: Path
) -> None:
    temp = previewer.root / "content/articles/sedX1b2c3"  # what `sed -i` writes, then renames
    temp.write_text(_set("title", '"Edited with sed"')(previewer.root.joinpath(A).read_text()))
    os.replace(temp, previewer.root / A)
    assert previewer.rebuild(A, "content/articles/sedX1b2c3")
    previewer.assert_matches_a_full_build(tmp_path / "full")


def test_a_file_saved_as_something_other_than_md_is_warned_of(previewer: Previewer) -> None:
    other = "content/articles/2025-12-02-a-story.markdown"
    (previewer.root / other).write_text(previewer.root.joinpath(A).read_text())
    assert not previewer.rebuild(other)  # a full build, which says why the file was skipped
    plan = previewer.preview._plan
    assert plan is not None
    assert [str(w) for w in plan.warnings] == [
        f"{other}: skipped: not a .md file; only .md files are read"
    ]


def test_two_files_with_the_same_bytes_stay_apart(previewer: Previewer, tmp_path: Path) -> None:
    copy = "content/articles/2025-12-02-a-copy-of-the-comet-story.md"
    (previewer.root / copy).write_bytes((previewer.root / A).read_bytes())
    assert not previewer.rebuild(copy)  # a new file
    assert previewer.rebuild(previewer.edit(A, _set("title", '"Only the original changes"')))
    previewer.assert_matches_a_full_build(tmp_path / "full")
    assert previewer.rebuild(previewer.edit(copy, _set("title", '"Then only the copy"')))
    previewer.assert_matches_a_full_build(tmp_path / "full")


def test_a_draft_edited_changes_nothing_published(previewer: Previewer, tmp_path: Path) -> None:
    draft = "content/articles/2025-12-02-a-draft.md"
    (previewer.root / draft).write_text(article("A draft", draft="true"))
    assert not previewer.rebuild(draft)
    before = manifest(previewer.preview.site)
    assert previewer.rebuild(previewer.edit(draft, _append("Still a draft.")))
    assert manifest(previewer.preview.site) == before
    previewer.assert_matches_a_full_build(tmp_path / "full")
    assert not previewer.rebuild(previewer.edit(draft, _set("draft", "false")))  # published
    previewer.assert_matches_a_full_build(tmp_path / "full")


def test_two_articles_of_one_digest_edited_together(previewer: Previewer, tmp_path: Path) -> None:
    a = previewer.edit(A, _set("title", '"First of two edits"'))
    b = previewer.edit(B, _append("Second of two edits."))
    assert previewer.rebuild(a, b)
    previewer.assert_matches_a_full_build(tmp_path / "full")


def test_an_update_writes_only_the_pages_that_show_the_article(
    previewer: Previewer, tmp_path: Path
) -> None:
    site = previewer.preview.site
    for page in site.rglob("*.html"):  # a page rewritten in the same clock tick still shows
        os.utime(page, ns=(1, 1))
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*.html")}
    previewer.rebuild(previewer.edit(C, _set("title", '"Storm title changed while serving"')))
    changed = {
        p.relative_to(site).as_posix() for p, t in before.items() if p.stat().st_mtime_ns != t
    }
    slug = "storm-imogen-brings-record-rainfall-to-western-coast"
    assert {f"articles/{slug}/index.html", "digests/2025-11-28/index.html"} <= changed
    assert not any(p.startswith("articles/") and slug not in p for p in changed)
    assert "index.html" not in changed  # the home page shows only the newest digest in full


@pytest.mark.parametrize(
    "change, then_in_place",
    [
        (_set("tags", "[ai, space]"), True),  # its tag pages change
        (_set("date", "2025-12-01T09:00:00+00:00"), True),  # another digest
        (_set("section", "World"), True),
        (_insert("slug: a-new-slug"), True),
        (_insert("draft: true"), True),  # gone from the site: a later edit changes nothing
        (_insert("colour: blue"), False),  # a file with warnings is always built fully
    ],
    ids=["tags", "date", "section", "slug", "draft", "warning"],
)
def test_edits_that_move_an_article_run_a_full_build(
    previewer: Previewer, tmp_path: Path, change: Callable[[str], str], then_in_place: bool
) -> None:
    assert not previewer.rebuild(previewer.edit(A, change))
    previewer.assert_matches_a_full_build(tmp_path / "full")
    assert previewer.rebuild(previewer.edit(A, _append("Then a plain edit."))) == then_in_place
    previewer.assert_matches_a_full_build(tmp_path / "full")


def test_other_changes_run_a_full_build(previewer: Previewer, tmp_path: Path) -> None:
    root = previewer.root
    new = "content/articles/2025-12-02-a-new-article.md"
    (root / new).write_text(article("A new article"))
    assert not previewer.rebuild(new)
    previewer.assert_matches_a_full_build(tmp_path / "full")
    (root / new).unlink()
    assert not previewer.rebuild(new)
    previewer.assert_matches_a_full_build(tmp_path / "full")
    base = root / "templates/base.html"
    base.write_text(base.read_text().replace("Skip to content", "Skip to the news"))
    assert not previewer.rebuild("templates/base.html")
    previewer.assert_matches_a_full_build(tmp_path / "full")
    assert previewer.rebuild(previewer.edit(A, _append("After the template change.")))
    previewer.assert_matches_a_full_build(tmp_path / "full")


def test_templates_that_read_the_whole_site_always_build_fully(
    previewer: Previewer, tmp_path: Path
) -> None:
    page = previewer.root / "templates/page.html"
    page.write_text(
        page.read_text().replace(
            "{% block content %}",
            "{% block content %}\n<p>{{ site.articles | length }} articles, first {{ site.articles[0].title }}</p>",
            1,
        )
    )
    assert not previewer.rebuild("templates/page.html")
    assert not previewer.rebuild(previewer.edit(A, _set("title", '"Shown on every page"')))
    previewer.assert_matches_a_full_build(tmp_path / "full")


def test_a_broken_edit_then_its_fix(previewer: Previewer, tmp_path: Path) -> None:
    path = previewer.root / A
    good = path.read_text()
    path.write_text(good.replace("title: ", "title: [unclosed", 1))
    state = previewer.preview.rebuild((A,))
    assert state.errors and A in state.errors[0]
    path.write_text(good + "\nFixed.\n")
    assert not previewer.rebuild(A)  # after a failure, the next build is a full one
    previewer.assert_matches_a_full_build(tmp_path / "full")
    assert previewer.rebuild(previewer.edit(A, _append("And now in place again.")))
    previewer.assert_matches_a_full_build(tmp_path / "full")
