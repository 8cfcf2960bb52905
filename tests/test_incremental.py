"""Incremental builds: an edit re-renders exactly what shows it; the cache survives damage."""

from __future__ import annotations

import os
import re
from pathlib import Path

import jinja2
import pytest

import broadsheet
from broadsheet import cache as cache_module
from broadsheet import deps as deps_module
from broadsheet import render as render_module
from broadsheet import snapshot
from broadsheet.cache import ContentCache
from broadsheet.config import load_config
from broadsheet.errors import BroadsheetError
from broadsheet.manifest import MARKER
from broadsheet.model import BuildContext
from broadsheet.pipeline import BuildResult, build
from tests.conftest import article, articles_for_workers, wait_for_writer
from tests.test_pipeline import manifest

ARTICLE = "content/articles/2025-12-02-ai-model-helps-astronomers-spot-faint-comet.md"
SLUG = "ai-model-helps-astronomers-spot-faint-comet"


def run(root: Path, **options: object) -> BuildResult:
    """Build; then wait for the process a full build leaves saving its caches (what tests
    here read next)."""
    config = load_config(root)
    result = build(BuildContext(root, config, **options))  # type: ignore[arg-type]
    wait_for_writer(root)
    return result


def test_no_change_build_renders_and_writes_nothing(sample_site: Path) -> None:
    first = run(sample_site)
    before = manifest(sample_site / "site")
    again = run(sample_site)
    assert "load" not in again.timings  # stopped early: nothing was read
    assert again.rendered == ()
    assert again.stats is not None and again.stats.written == 0 and again.stats.removed == 0
    assert again.summary().split(" in ")[0] == first.summary().split(" in ")[0]
    assert manifest(sample_site / "site") == before


def test_no_change_build_still_reports_warnings(make_site, cli) -> None:
    root = make_site({"content/articles/2025-12-02-x.md": article("T", colour="blue")})
    first, again = cli(root), cli(root)
    assert "2025-12-02-x.md:4: warning: unknown key 'colour'" in first.err
    assert first.err.splitlines()[0] == again.err.splitlines()[0]


def test_a_deleted_output_file_is_noticed_by_a_no_change_build(sample_site: Path) -> None:
    run(sample_site)
    (sample_site / "site/about/index.html").unlink()
    again = run(sample_site)
    assert again.rendered == ("about/index.html",)
    assert (sample_site / "site/about/index.html").is_file()


def test_touched_file_with_same_bytes_changes_nothing(sample_site: Path) -> None:
    run(sample_site)
    path = sample_site / ARTICLE
    os.utime(path, ns=(1, 1))
    again = run(sample_site)
    assert again.cache_misses == 0 and again.rendered == ()


def test_body_edit_rerenders_only_the_pages_that_show_the_article(sample_site: Path) -> None:
    run(sample_site)
    path = sample_site / ARTICLE
    path.write_text(path.read_text() + "\nA new closing paragraph.\n")
    again = run(sample_site)
    assert again.cache_misses == 1
    assert set(again.rendered) == {
        f"articles/{SLUG}/index.html",
        # pages given the article's digest, which can reach all of it: its other articles,
        # its neighbour's page, the archive
        "articles/talks-on-shared-river-resume-after-two-year-pause/index.html",
        "articles/first-time-director-wins-top-prize-at-riverside-film-festival/index.html",
        "articles/wind-power-overtakes-gas-in-grid-operators-monthly-figures/index.html",
        "digests/2025-12-01/index.html",
        "archive/index.html",
        "digests/2025-12-02/index.html",
        "index.html",  # shows the latest digest in full
        "tags/ai/index.html",
        "tags/space/index.html",
        "tags/science/index.html",
        "tags/ai/feed.xml",
        "tags/space/feed.xml",
        "tags/science/feed.xml",
        "feed.xml",
        "feed.json",
    }
    # Only files whose bytes changed are written: the page and the feeds that carry the body.
    assert again.stats is not None
    assert again.stats.written == 4
    assert (
        "A new closing paragraph." in (sample_site / f"site/articles/{SLUG}/index.html").read_text()
    )


def test_template_change_rerenders_the_pages_that_use_it(sample_site: Path) -> None:
    run(sample_site)
    template = sample_site / "templates/tags.html"
    template.write_text(template.read_text().replace("<h1>Tags</h1>", "<h1>All tags</h1>"))
    again = run(sample_site)
    assert again.rendered == ("tags/index.html",)
    assert "<h1>All tags</h1>" in (sample_site / "site/tags/index.html").read_text()


def test_base_template_change_rerenders_every_page(sample_site: Path) -> None:
    first = run(sample_site)
    base = sample_site / "templates/base.html"
    base.write_text(base.read_text().replace("Skip to content", "Skip to the news"))
    again = run(sample_site)
    pages = {p for p in again.rendered if p.endswith(".html")}
    assert len(pages) == sum(1 for p in manifest(sample_site / "site") if p.endswith(".html"))
    assert first.files == again.files


def test_a_page_reaching_through_its_digest_sees_every_change_to_it(sample_site: Path) -> None:
    template = sample_site / "templates/article.html"
    loop = (
        "{% if digest %}{% for a in digest.articles %}<i>{{ a.title }}</i>{% endfor %}{% endif %}"
    )
    template.write_text(
        template.read_text().replace(
            "<h1>{{ article.title }}</h1>", "<h1>{{ article.title }}</h1>" + loop
        )
    )
    run(sample_site)
    other = (
        sample_site
        / "content/articles/2025-12-02-talks-on-shared-river-resume-after-two-year-pause.md"
    )
    other.write_text(
        other.read_text().replace(
            'title: "Talks on shared river', 'title: "Renamed talks on shared river'
        )
    )
    run(sample_site)
    page = (sample_site / f"site/articles/{SLUG}/index.html").read_text()
    assert "<i>Renamed talks on shared river" in page


def test_template_reaching_into_the_whole_site_makes_every_page_depend_on_it(
    sample_site: Path,
) -> None:
    base = sample_site / "templates/base.html"
    base.write_text(
        base.read_text().replace(
            "</footer>", "<p>{{ site.articles | length }} articles</p></footer>"
        )
    )
    run(sample_site)
    path = sample_site / ARTICLE
    path.write_text(path.read_text() + "\nMore.\n")
    again = run(sample_site)
    assert "about/index.html" in again.rendered
    (sample_site / ARTICLE).unlink()
    third = run(sample_site)
    assert "15 articles" in (sample_site / "site/about/index.html").read_text()
    assert "about/index.html" in third.rendered


def test_a_template_edit_that_keeps_the_file_time_is_seen(sample_site: Path) -> None:
    """A copy with `cp -p`, an archive unpacked, two saves in one clock tick: same time, new text."""
    run(sample_site)
    template = sample_site / "templates/tags.html"
    times = template.stat()
    template.write_text(template.read_text().replace("<h1>Tags</h1>", "<h1>All tags</h1>"))
    os.utime(template, ns=(times.st_atime_ns, times.st_mtime_ns))
    again = run(sample_site)
    assert again.rendered == ("tags/index.html",)
    assert "<h1>All tags</h1>" in (sample_site / "site/tags/index.html").read_text()


def test_a_template_saved_after_it_was_compiled_ahead_is_read_again(
    sample_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full build compiles the templates while it parses; one saved after that is rendered
    in its new text, with keys made from that text (the next build has nothing to do)."""
    run(sample_site)
    template = sample_site / "templates/tags.html"
    real = render_module.prepare_templates

    def saved_meanwhile(*args: object, **kwargs: object) -> None:
        real(*args, **kwargs)  # type: ignore[arg-type]
        template.write_text(template.read_text().replace("<h1>Tags</h1>", "<h1>All tags</h1>"))

    (sample_site / "static/extra.txt").write_text("a change that makes a build")
    with monkeypatch.context() as patch:
        patch.setattr(render_module, "prepare_templates", saved_meanwhile)
        first = run(sample_site)
    assert "tags/index.html" in first.rendered
    assert "<h1>All tags</h1>" in (sample_site / "site/tags/index.html").read_text()
    assert run(sample_site).rendered == ()


def test_a_template_saved_during_a_build_is_rendered_by_the_next(
    sample_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each build renders the text its keys were made from, so the build after a save that
    landed mid-build still sees a change to render."""
    run(sample_site)
    template = sample_site / "templates/tags.html"
    real = render_module.dependencies

    def saved_meanwhile(*args: object, **kwargs: object) -> deps_module.Dependencies:
        # the build has read the templates for this plan; it works its keys out next
        template.write_text(template.read_text().replace("<h1>Tags</h1>", "<h1>All tags</h1>"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    (sample_site / "static/extra.txt").write_text("a change that makes a build")
    with monkeypatch.context() as patch:
        patch.setattr(render_module, "dependencies", saved_meanwhile)
        run(sample_site)
    again = run(sample_site)
    assert "tags/index.html" in again.rendered
    assert "<h1>All tags</h1>" in (sample_site / "site/tags/index.html").read_text()


def test_a_missing_optional_include_counts_once_it_is_added(sample_site: Path) -> None:
    base = sample_site / "templates/base.html"
    base.write_text(
        base.read_text().replace("</main>", '{% include "extra.html" ignore missing %}</main>')
    )
    assert run(sample_site).rendered
    (sample_site / "templates/extra.html").write_text("<p>Extra</p>")
    again = run(sample_site)
    assert "about/index.html" in again.rendered
    assert "<p>Extra</p>" in (sample_site / "site/about/index.html").read_text()


def test_a_partial_of_any_name_that_reads_the_whole_site_is_followed(sample_site: Path) -> None:
    """`site.articles` read in an included partial named latest.jinja, not *.html."""
    (sample_site / "templates/latest.jinja").write_text(
        "<p>{{ site.articles | map(attribute='title') | join('; ') }}</p>"
    )
    base = sample_site / "templates/base.html"
    base.write_text(base.read_text().replace("</main>", '{% include "latest.jinja" %}</main>'))
    run(sample_site)
    path = sample_site / ARTICLE
    path.write_text(path.read_text().replace("title: ", 'title: "Renamed" #', 1))
    again = run(sample_site)
    assert "about/index.html" in again.rendered
    assert "; Renamed; " in (sample_site / "site/about/index.html").read_text()


def test_editor_leftovers_in_templates_are_not_templates(sample_site: Path, cli) -> None:
    """Emacs keeps `.#base.html`, a link to nowhere, while a buffer has unsaved changes."""
    (sample_site / "templates/.#base.html").symlink_to("user@host.1234:1700000000")
    (sample_site / "templates/base.html~").write_text("{% broken")
    run = cli(sample_site)
    assert run.code == 0, run.err


def test_a_template_that_is_gone_is_an_error_naming_it(sample_site: Path, cli) -> None:
    assert cli(sample_site).code == 0
    (sample_site / "templates/_macros.html").unlink()
    run = cli(sample_site)
    assert run.code == 1
    assert "template not found: _macros.html" in run.err
    assert "Traceback" not in run.err


def test_upgrading_a_library_that_shapes_the_output_rebuilds_everything(
    sample_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new markdown-it-py, PyYAML or Jinja may render differently: nothing made with the
    old one is kept (content cache, page keys, the no-change stamp)."""
    library = tmp_path / "lib" / "fakemark"
    library.mkdir(parents=True)
    (library / "__init__.py").write_text('__version__ = "1.0"\n')
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    monkeypatch.setattr(broadsheet, "LIBRARIES", (*broadsheet.LIBRARIES, "fakemark"))
    try:
        broadsheet.generator.cache_clear()
        first = run(sample_site)
        assert run(sample_site).rendered == ()
        (library / "__init__.py").write_text('__version__ = "2.0.1"\n')  # an upgrade
        broadsheet.generator.cache_clear()  # as in the next process
        again = run(sample_site)
        assert again.cache_hits == 0 and again.cache_misses == first.cache_misses
        kept = set(manifest(sample_site / "site")) - set(again.rendered) - {MARKER}
        assert kept == {"static/css/style.css"}  # copied, not made with a library
    finally:
        broadsheet.generator.cache_clear()


def test_a_change_to_our_own_code_rebuilds_everything(
    sample_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a `git pull` of Broadsheet, nothing parsed or rendered by the old code is kept."""
    package = tmp_path / "package"
    package.mkdir()
    (package / "content.py").write_text("# one version\n")
    monkeypatch.setattr(broadsheet, "__file__", str(package / "__init__.py"))
    try:
        broadsheet.generator.cache_clear()
        first = run(sample_site)
        (package / "content.py").write_text("# another version\n")
        broadsheet.generator.cache_clear()
        again = run(sample_site)
        assert again.cache_hits == 0 and again.cache_misses == first.cache_misses
    finally:
        broadsheet.generator.cache_clear()


def test_what_is_learnt_of_the_templates_is_kept_and_follows_their_edits(
    sample_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(sample_site)
    store = sample_site / ".cache/broadsheet/templates/analysis.json"
    assert store.is_file()
    parsed: list[str] = []
    real_parse = jinja2.Environment.parse

    def parse(self: jinja2.Environment, source: str, name: str | None = None, *args: object):
        parsed.append(name or "")
        return real_parse(self, source, name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.Environment, "parse", parse)
    deps_module._ANALYSED.clear()  # as in a new process
    path = sample_site / ARTICLE
    path.write_text(path.read_text() + "\nMore.\n")
    run(sample_site)
    assert parsed == []  # every template's analysis came from the store
    base = sample_site / "templates/base.html"
    base.write_text(
        base.read_text().replace("</footer>", "<p>{{ site.articles | length }}</p></footer>")
    )
    run(sample_site)
    assert parsed == ["base.html"]
    path.write_text(path.read_text() + "\nAnd more.\n")
    again = run(sample_site)
    assert "about/index.html" in again.rendered  # the edited template reads the whole site
    store.write_text("{not json")
    deps_module._ANALYSED.clear()
    path.write_text(path.read_text() + "\nA third time.\n")
    third = run(sample_site)
    assert "about/index.html" in third.rendered  # a damaged store is only ignored


def test_deleted_article_is_removed_with_its_folder(sample_site: Path) -> None:
    run(sample_site)
    (sample_site / ARTICLE).unlink()
    again = run(sample_site)
    assert again.stats is not None and again.stats.removed == 1
    assert not (sample_site / f"site/articles/{SLUG}").exists()


def test_corrupt_cache_is_rebuilt(sample_site: Path) -> None:
    run(sample_site)
    cache = sample_site / ".cache/broadsheet/content.pickle"
    cache.write_bytes(b"broadsheet-content-cache\nnot the right salt\n\x80garbage")
    again = run(sample_site, output=sample_site / "other")  # a new output: no early stop
    assert again.cache_hits == 0 and again.cache_misses == 20
    assert run(sample_site, output=sample_site / "third").cache_hits == 20


def test_cache_is_not_trusted_across_config_changes(sample_site: Path) -> None:
    run(sample_site)
    config = sample_site / "config.yml"
    config.write_text(config.read_text().replace("timezone: Europe/London", "timezone: Asia/Tokyo"))
    again = run(sample_site)
    assert again.cache_hits == 0


def test_same_bytes_with_a_new_time_come_from_the_cache(sample_site: Path) -> None:
    run(sample_site)
    path = sample_site / ARTICLE
    path.write_bytes(path.read_bytes())
    again = run(sample_site)
    assert again.cache_misses == 0 and again.rendered == ()


def test_parallel_and_serial_builds_are_byte_identical(make_site, tmp_path: Path) -> None:
    root = make_site(articles_for_workers())
    serial = run(root, output=tmp_path / "serial", workers=1, use_cache=False)
    parallel = run(root, output=tmp_path / "parallel", workers=2, use_cache=False)
    assert serial.files == parallel.files > 150
    assert manifest(tmp_path / "serial") == manifest(tmp_path / "parallel")


@pytest.mark.parametrize(
    ("daemon", "left_behind"),
    [(True, True), (True, False), (False, True)],
    ids=["daemon to stay", "no process can stay", "no daemon"],
)
def test_a_full_build_saves_the_cache_off_its_path(
    make_site, monkeypatch: pytest.MonkeyPatch, daemon: bool, left_behind: bool
) -> None:
    """Where a daemon is to stay, the process left for it saves the content cache; otherwise
    this process saves it while its workers render. Either way the next build finds every file
    in it."""
    files = {f"content/articles/2025-12-01-s{i}.md": article(f"S{i}") for i in range(100)}
    root = make_site(files)
    saved_here: list[bool] = []  # by this process: while the site was not written yet?
    real_save = ContentCache.save

    def save(self: ContentCache) -> None:
        if os.getpid() == test_process:
            saved_here.append(self._dirty and not (root / "site").exists())
        real_save(self)

    test_process = os.getpid()
    monkeypatch.setattr(ContentCache, "save", save)
    monkeypatch.setattr(snapshot, "can_leave_behind", lambda: left_behind)
    monkeypatch.setattr(snapshot, "_stay", lambda *args: None)  # write the plan, then go
    first = run(root, workers=2, daemon=daemon)
    assert first.cache_misses == 100
    if daemon and left_behind:
        assert saved_here == []
    else:
        assert saved_here[0]  # before the site was written (later calls have nothing to write)
    again = run(root, output=root / "elsewhere", workers=2)
    assert again.cache_misses == 0 and again.cache_hits == 100


def test_a_build_that_fails_to_render_still_saves_the_cache(
    make_site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fixing a template on a large site: each try after the first reads every file from the
    cache, though no try got as far as leaving a process behind."""
    files = {f"content/articles/2025-12-01-s{i}.md": article(f"S{i}") for i in range(100)}
    root = make_site(files)
    template = root / "templates/article.html"
    good = template.read_text()
    template.write_text(good.replace("{{ article.title }}", "{{ article.no_such_field }}", 1))
    monkeypatch.setattr(snapshot, "_stay", lambda *args: None)
    with pytest.raises(BroadsheetError):
        run(root, workers=2, daemon=True)
    template.write_text(good)
    again = run(root, workers=2, daemon=True)
    assert again.cache_misses == 0 and again.cache_hits == 100


def test_an_error_in_a_worker_is_reported_like_any_other(make_site) -> None:
    files = {f"content/articles/2025-12-01-s{i}.md": article(f"S{i}") for i in range(100)}
    files["content/articles/2025-12-01-s50.md"] = "---\ntitle: no\ndate: 2025-12-01\n---\n"
    root = make_site(files)
    with pytest.raises(
        BroadsheetError,
        match=re.escape("content/articles/2025-12-01-s50.md:2: 'title' must be text"),
    ):
        run(root, workers=2)


def test_an_edit_saves_a_small_delta_and_leaves_the_cache_base_alone(sample_site: Path) -> None:
    run(sample_site)
    base = sample_site / ".cache/broadsheet/content.pickle"
    before = base.read_bytes()
    path = sample_site / ARTICLE
    text = path.read_text().replace("faint comet", "faint comet, again")
    path.write_text(text.replace("tags: [ai,", "tags: [ai, comets,"))  # a full build
    assert not run(sample_site).updated
    delta = sample_site / ".cache/broadsheet/content.delta"
    assert base.read_bytes() == before
    assert 0 < delta.stat().st_size < len(before) // 4
    again = run(sample_site, output=sample_site / "elsewhere")  # no early stop: reads the cache
    assert again.cache_misses == 0
    assert (
        "faint comet, again" in (sample_site / f"elsewhere/articles/{SLUG}/index.html").read_text()
    )


def test_a_delta_of_another_base_is_ignored(sample_site: Path) -> None:
    run(sample_site)
    path = sample_site / ARTICLE
    path.write_text(path.read_text() + "\nEdited.\n")
    run(sample_site)
    (sample_site / ".cache/broadsheet/content.pickle").unlink()  # the delta's base is gone
    again = run(sample_site, output=sample_site / "elsewhere")
    assert again.cache_hits == 0 and again.cache_misses == 20
    assert "Edited." in (sample_site / f"elsewhere/articles/{SLUG}/index.html").read_text()


def test_a_change_inside_a_linked_template_folder_is_seen(
    sample_site: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared-parts"
    shared.mkdir()
    (shared / "foot.html").write_text("<p>FOOTER-ONE</p>\n")
    (sample_site / "templates/parts").symlink_to(shared)
    base = sample_site / "templates/base.html"
    base.write_text(
        base.read_text().replace("</footer>", '{% include "parts/foot.html" %}</footer>')
    )
    run(sample_site)
    (shared / "foot.html").write_text("<p>FOOTER-TWO</p>\n")
    os.utime(shared / "foot.html", ns=(2, 2))  # an old time: only the content tells
    run(sample_site)
    assert "FOOTER-TWO" in (sample_site / "site/about/index.html").read_text()


def test_an_edit_within_the_same_clock_tick_is_not_missed(
    sample_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "RACY_NS", 60_000_000_000)  # however slow the build
    path = sample_site / ARTICLE
    path.write_text(path.read_text())  # a fresh time, as after an editor's save
    info = path.stat()
    run(sample_site)  # the file was just read: its time is too close to trust
    path.write_text(
        path.read_text().replace("Halcyon", "HALCYON").replace("faint comet", "FAINT COMET")
    )
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    size_matches = path.stat().st_size == info.st_size
    again = run(sample_site, output=sample_site / "elsewhere")
    assert size_matches and again.cache_misses == 1
    assert "FAINT COMET" in (sample_site / f"elsewhere/articles/{SLUG}/index.html").read_text()


def test_files_added_at_the_top_of_the_site_are_kept_across_rebuilds(sample_site: Path) -> None:
    run(sample_site)
    (sample_site / "site/google1234.html").write_text("google-site-verification")
    for text in ("\nOne.\n", "\nTwo.\n"):  # two rebuilds: the file must survive both swaps
        path = sample_site / ARTICLE
        path.write_text(path.read_text() + text)
        run(sample_site)
        assert (sample_site / "site/google1234.html").read_text() == "google-site-verification"
