"""Tests of the live preview: change gathering, builds into a private folder, serving, shutdown."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from broadsheet import preview as preview_module
from broadsheet.errors import BroadsheetError
from broadsheet.model import BuildContext
from broadsheet.pipeline import BuildResult, build
from broadsheet.preview import (
    Preview,
    PreviewOptions,
    PreviewState,
    reload_paths,
    render_error_page,
)
from broadsheet.server import Found, locate
from broadsheet.watch import Debouncer, changed_paths, scan_sources
from tests.conftest import (
    ARTICLE,
    ARTICLE_URL,
    REPO,
    Run,
    Served,
    break_title,
    save,
    set_base_url,
)


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under `folder` and a hash of its bytes."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# Gathering changes


def test_debouncer_gathers_a_burst_into_one_rebuild() -> None:
    debouncer = Debouncer(quiet=0.3, max_wait=3.0)
    for step in range(10):
        debouncer.add({f"content/articles/{step}.md"}, now=step * 0.05)
        assert not debouncer.due(now=step * 0.05 + 0.01)
    assert not debouncer.due(now=0.45 + 0.29)
    assert debouncer.due(now=0.45 + 0.3)
    assert len(debouncer.take()) == 10
    assert not debouncer.due(now=10.0)


def test_debouncer_rebuilds_after_max_wait_even_if_changes_go_on() -> None:
    debouncer = Debouncer(quiet=0.3, max_wait=3.0)
    step = 0
    while not debouncer.due(now=step / 10):
        debouncer.add({"content/articles/a.md"}, now=step / 10)
        step += 1
    assert step == 30  # changes every 0.1 s never leave 0.3 s of quiet


def test_debouncer_ignores_empty_change_sets() -> None:
    debouncer = Debouncer()
    debouncer.add(set(), now=0.0)
    assert not debouncer.due(now=100.0)
    assert debouncer.take() == ()


def test_scan_leaves_out_editor_junk_and_unwatched_files(make_site: Callable[..., Path]) -> None:
    root = make_site({"content/articles/a.md": "x", "notes.txt": "not watched"})
    before = scan_sources(root)
    articles = root / "content" / "articles"
    for junk in (".a.md.swp", "a.md~", ".#a.md", "4913", "#a.md#", "a.md.tmp"):
        (articles / junk).write_text("junk")
    (root / "content" / ".git").mkdir()
    (root / "content" / ".git" / "HEAD").write_text("ref")
    (root / "README.txt").write_text("not watched")
    after = scan_sources(root)
    assert changed_paths(before, after) == set()
    assert "content/articles/a.md" in after
    assert "config.yml" in after
    assert "templates/base.html" in after


def test_scan_sees_edits_renames_and_deletions(make_site: Callable[..., Path]) -> None:
    root = make_site({"content/articles/a.md": "x", "content/articles/b.md": "y"})
    before = scan_sources(root)
    replacement = root / "content" / "articles" / "a.md.new"
    replacement.write_text("x")  # same size: a save via rename is seen by its inode
    os.replace(replacement, root / "content" / "articles" / "a.md")
    (root / "content" / "articles" / "b.md").unlink()
    (root / "static" / "extra.css").write_text("p{}")
    assert changed_paths(before, scan_sources(root)) == {
        "content/articles/a.md",
        "content/articles/b.md",
        "static/extra.css",
    }


def test_scan_skips_the_preview_folder_inside_the_project(make_site: Callable[..., Path]) -> None:
    root = make_site()
    inside = root / "static" / "preview"
    inside.mkdir()
    (inside / "index.html").write_text("built")
    assert "static/preview/index.html" not in scan_sources(root, skip=inside.resolve())
    assert "static/preview/index.html" in scan_sources(root)


# What the browser reloads


def state(changed: tuple[str, ...], errors: tuple[str, ...] = ()) -> PreviewState:
    return PreviewState(Path("/nowhere"), "/news/", errors, changed)


def test_css_only_change_reloads_just_the_stylesheet() -> None:
    after = state(("static/css/style.css",))
    assert reload_paths(state(()), after) == ("/news/static/css/style.css",)


def test_any_other_change_reloads_the_page() -> None:
    mixed = state(("static/css/style.css", "templates/base.html"))
    assert reload_paths(state(()), mixed) == ("*",)
    assert reload_paths(state(()), state(("content/articles/a.md",))) == ("*",)


def test_css_change_after_a_failed_build_reloads_the_page() -> None:
    broken = state(("content/articles/a.md",), errors=("a.md:2: bad",))
    assert reload_paths(broken, state(("static/css/style.css",))) == ("*",)


# Serving files


@pytest.fixture
def served_folder(tmp_path: Path) -> Path:
    site = tmp_path / "preview" / "site"
    (site / "articles" / "a").mkdir(parents=True)
    (site / "articles" / "a" / "index.html").write_text("<p>a</p>")
    (site / "index.html").write_text("home")
    (site / ".broadsheet-site").write_text("marker")
    (tmp_path / "preview" / "secret.txt").write_text("secret")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "index.html").write_text("outside")
    (site / "leak.txt").symlink_to(tmp_path / "preview" / "secret.txt")
    (site / "leakdir").symlink_to(tmp_path / "outside")
    return site


@pytest.mark.parametrize(
    "path",
    [
        "/news/../secret.txt",
        "/news/%2e%2e/secret.txt",
        "/news/%2E%2E/secret.txt",
        "/news/..%2fsecret.txt",
        "/news/articles/%2e%2e/%2e%2e/secret.txt",
        "/news/leak.txt",
        "/news/leakdir/",
        "/news/leakdir/index.html",
        "/news/.broadsheet-site",
        "/news/%00",
        "/news/..%5csecret.txt",
        "/secret.txt",
        "/index.html",
        "/news/missing/",
    ],
)
def test_locate_refuses_paths_outside_the_served_folder(served_folder: Path, path: str) -> None:
    assert locate(served_folder, "/news/", path) == Found()


def test_locate_finds_pages_under_the_base_path(served_folder: Path) -> None:
    page = served_folder / "articles" / "a" / "index.html"
    assert locate(served_folder, "/news/", "/news/articles/a/") == Found(file=page)
    assert locate(served_folder, "/news/", "/news/articles/a/index.html") == Found(file=page)
    assert locate(served_folder, "/news/", "/news/") == Found(file=served_folder / "index.html")


def test_locate_redirects_to_the_base_path_and_to_folders(served_folder: Path) -> None:
    assert locate(served_folder, "/news/", "/") == Found(redirect="/news/")
    assert locate(served_folder, "/news/", "/news") == Found(redirect="/news/")
    assert locate(served_folder, "/news/", "/news/articles/a") == Found(
        redirect="/news/articles/a/"
    )
    assert locate(served_folder, "/", "//articles/a") == Found()  # never to another host


def test_error_page_lists_each_error_escaped() -> None:
    page = render_error_page(
        ["content/articles/a.md:3: invalid YAML", "templates/base.html:7: <script>x</script>"]
    ).decode()
    assert "Build failed" in page
    assert "<li>content/articles/a.md:3: invalid YAML</li>" in page
    assert "templates/base.html:7: &lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x" not in page
    assert "</head>" in page  # where the live-reload script is injected


# Preview builds


class CountingBuilder:
    """pipeline.build, counting its calls, the ones running and the ones that failed."""

    def __init__(self) -> None:
        self.calls = 0
        self.running = 0
        self.failures = 0
        self.failed = threading.Event()  # set by the first failure

    def __call__(self, ctx: BuildContext, **options: Any) -> BuildResult:
        self.calls += 1
        self.running += 1
        try:
            return build(ctx, **options)
        except BroadsheetError:
            self.failures += 1
            self.failed.set()
            raise
        finally:
            self.running -= 1


def wait_until_settled(builder: CountingBuilder, published: list[PreviewState]) -> None:
    """Wait until a rebuild was published, none runs and no other one started for a second,
    and for longer than the preview holds a failure back (HOLD_ERRORS)."""
    quiet = max(1.0, preview_module.HOLD_ERRORS + 0.5)
    deadline = time.monotonic() + 60 + quiet
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if builder.calls != seen or builder.running:
            seen, since = builder.calls, time.monotonic()
        elif published and time.monotonic() - since > quiet:
            return
        time.sleep(0.05)
    pytest.fail("the preview never settled")


def start_watching(
    open_preview: Callable[..., Preview],
) -> tuple[CountingBuilder, list[PreviewState]]:
    """Start a preview that counts its builds; return the counter and the published states."""
    builder = CountingBuilder()
    published: list[PreviewState] = []
    open_preview(builder=builder).start(published.append)
    return builder, published


@pytest.fixture
def open_preview(sample_site: Path) -> Iterator[Callable[..., Preview]]:
    """Make Previews of the sample site; close them after the test."""
    opened: list[Preview] = []

    def open_(drafts: bool = False, builder: Callable[..., BuildResult] = build) -> Preview:
        opened.append(Preview(PreviewOptions(sample_site, drafts=drafts), builder=builder))
        return opened[-1]

    yield open_
    for preview in opened:
        preview.close()


def test_preview_builds_into_its_own_folder_and_leaves_site_alone(
    sample_site: Path, open_preview: Callable[..., Preview]
) -> None:
    site = sample_site / "site"
    site.mkdir()
    (site / ".broadsheet-site").write_text("marker")
    (site / "index.html").write_text("the published build")
    before = tree_digest(site)
    preview = open_preview(drafts=True)
    rebuilt = threading.Event()
    state = preview.start(lambda state: rebuilt.set())
    assert state.errors == ()
    assert not state.site.is_relative_to(sample_site)
    assert (state.site / "index.html").is_file()
    save(sample_site / ARTICLE, (sample_site / ARTICLE).read_text() + "\nMore.\n")
    assert rebuilt.wait(30)  # the watcher's rebuild is done: no build runs as it closes
    assert preview.rebuild(("content/articles/x.md",)).errors == ()
    preview.close()
    assert tree_digest(site) == before
    assert not preview.folder.exists()
    assert not (sample_site / ".cache").exists()


def test_preview_with_drafts_shows_the_draft_banner(
    sample_site: Path, open_preview: Callable[..., Preview]
) -> None:
    articles = sample_site / "content" / "articles"
    assert any("draft: true" in p.read_text() for p in articles.iterdir()), "no draft to show"
    state = open_preview(drafts=True).rebuild()
    pages = list(state.site.glob("articles/*/index.html"))
    assert len(pages) == len(list(articles.glob("*.md")))
    assert "Preview with drafts" in (state.site / "index.html").read_text()


def test_failed_build_keeps_last_good_files_and_reports_file_and_line(
    sample_site: Path, open_preview: Callable[..., Preview]
) -> None:
    preview = open_preview()
    good = preview.rebuild()
    (sample_site / ARTICLE).write_text(break_title((sample_site / ARTICLE).read_text()))
    broken = preview.rebuild((ARTICLE,))
    assert len(broken.errors) == 1
    assert broken.errors[0].startswith(f"{ARTICLE}:2: ")
    assert (broken.site / ARTICLE_URL.strip("/") / "index.html").is_file()
    assert broken.site == good.site


def test_junk_files_trigger_nothing_and_are_never_published(
    sample_site: Path, open_preview: Callable[..., Preview]
) -> None:
    builder = CountingBuilder()
    published: list[PreviewState] = []
    preview = open_preview(builder=builder)
    preview.start(published.append)
    for junk in (".x.md.swp", "x.md~", ".#x.md", "4913"):
        (sample_site / "content" / "articles" / junk).write_text("---\ntitle: [\n---\n")
    (sample_site / "static" / "css" / "style.css~").write_text("junk")
    time.sleep(1.0)  # several polls and a quiet period: nothing may follow
    assert builder.calls == 1
    assert published == []
    state = preview.rebuild()
    assert state.errors == ()
    assert not (state.site / "static" / "css" / "style.css~").exists()


def test_fifty_quick_writes_cause_at_most_a_few_rebuilds(
    sample_site: Path, open_preview: Callable[..., Preview]
) -> None:
    article = sample_site / ARTICLE
    text = article.read_text()
    builder, published = start_watching(open_preview)
    saved = [time.monotonic()]
    for number in range(50):
        if number % 2:  # in place: a rebuild may read the file empty, and fail
            article.write_text(text + f"\nEdit {number}.\n")
        else:
            save(article, text + f"\nEdit {number}.\n")
        saved.append(time.monotonic())
        time.sleep(0.01)
    wait_until_settled(builder, published)
    # A busy machine may stall the loop: a stall longer than the watcher's quiet period
    # ends a burst, and the rest is a new one. Quick saves must never make one rebuild each.
    stalls = sum(later - earlier > 0.25 for earlier, later in itertools.pairwise(saved))
    assert 1 <= len(published) <= 2 + 2 * stalls
    assert builder.calls <= 1 + 2 * (2 + 2 * stalls)  # a failed build, and the one after it
    shown = [state for state in published if state.errors]  # only after a stall mid-save
    assert len(shown) <= stalls
    assert builder.calls - 1 == len(published) + builder.failures - len(shown)
    assert published[-1].errors == () and ARTICLE in published[-1].changed
    assert "Edit 49." in (published[-1].site / ARTICLE_URL.strip("/") / "index.html").read_text()


def test_a_file_read_while_an_editor_writes_it_shows_no_error(
    sample_site: Path, open_preview: Callable[..., Preview], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview_module, "HOLD_ERRORS", 5.0)  # however slow the machine
    article = sample_site / ARTICLE
    text = article.read_text()
    builder, published = start_watching(open_preview)
    with article.open("w") as saving:  # emptied, as an editor writing in place does first
        assert builder.failed.wait(30)  # a rebuild read it so
        saving.write(text + "\nSaved in place.\n")
    wait_until_settled(builder, published)
    assert builder.calls == 3  # the first build, the one that read the empty file, the last
    assert [state.errors for state in published] == [()]
    assert published[0].changed == (ARTICLE,)
    assert (
        "Saved in place." in (published[0].site / ARTICLE_URL.strip("/") / "index.html").read_text()
    )


def test_a_lasting_mistake_is_shown_after_the_hold(
    sample_site: Path, open_preview: Callable[..., Preview]
) -> None:
    article = sample_site / ARTICLE
    builder, published = start_watching(open_preview)
    save(article, break_title(article.read_text()))
    wait_until_settled(builder, published)
    assert builder.calls == 2
    assert len(published) == 1
    assert published[0].errors[0].startswith(f"{ARTICLE}:2: ")


# The server process


def test_serve_answers_under_the_base_path_and_refuses_traversal(
    sample_site: Path, serve: Callable[..., Served]
) -> None:
    set_base_url(sample_site, "https://example.org/news/")
    (sample_site / "static" / "link.css").symlink_to(sample_site / "config.yml")
    served = serve(sample_site)
    status, location, body = served.get("/")
    assert (status, location) == (302, "/news/")
    status, _, body = served.get("/news" + ARTICLE_URL)
    assert status == 200
    assert b"AI model helps astronomers spot faint comet" in body
    assert b"/livereload.js?port=" in body
    assert served.get("/news/static/css/style.css")[0] == 200
    for path in (
        "/news/../config.yml",
        "/news/%2e%2e/config.yml",
        "/news/%2e%2e%2fconfig.yml",
        "/news/static/..%2f..%2fconfig.yml",
        "/news/static/link.css",
        "/../../../../etc/passwd",
        "/news/.broadsheet-site",
    ):
        status, _, body = served.get(path)
        assert status == 404, path
        assert b"base_url" not in body
    assert served.get("/articles/")[0] == 404  # outside the base path
    assert served.stop() == 0


def test_serve_shows_the_error_page_in_place_of_any_page(
    sample_site: Path, serve: Callable[..., Served]
) -> None:
    served = serve(sample_site)
    article = sample_site / ARTICLE
    text = article.read_text()
    article.write_text(break_title(text))
    deadline = time.monotonic() + 30
    while served.get(ARTICLE_URL)[0] != 500 and time.monotonic() < deadline:
        time.sleep(0.1)
    for path in (ARTICLE_URL, "/", "/no/such/page/"):
        status, _, body = served.get(path)
        assert status == 500, path
        assert f"{ARTICLE}:2: ".encode() in body
        assert b"<b>" not in body
        assert b"/livereload.js?port=" in body
    assert served.get("/static/css/style.css")[0] == 200
    article.write_text(text)
    while served.get(ARTICLE_URL)[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert served.get(ARTICLE_URL)[0] == 200
    assert served.stop() == 0
    log = served.log.read_text()
    assert f"{ARTICLE}:2: " in log
    assert re.search(r"rebuilt in \d+\.\d\ds", log)


def test_ctrl_c_stops_quickly_removes_the_preview_folder_and_leaves_site(
    sample_site: Path, serve: Callable[..., Served]
) -> None:
    served = serve(sample_site, "--drafts")
    assert served.get("/")[0] == 200
    assert len(list(served.tmp.iterdir())) == 1  # the preview folder
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(timeout=10) == 0  # about 0.3 s on an idle machine
    assert list(served.tmp.iterdir()) == []
    assert not (sample_site / "site").exists()
    assert "Traceback" not in served.log.read_text()


def test_serve_opens_the_browser_when_asked(
    sample_site: Path, serve: Callable[..., Served]
) -> None:
    opened = sample_site.parent / "opened.txt"
    browser = f"sh -c 'echo \"$0\" > {opened}' %s"
    served = serve(sample_site, "--open", env={"BROWSER": browser})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (opened.exists() and opened.read_text()):
        time.sleep(0.05)  # the shell makes the file, then writes to it
    assert opened.read_text().strip() == f"http://127.0.0.1:{served.port}/"


def run_serve(root: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `build.py serve` expecting it to stop by itself (it cannot listen)."""
    command = [sys.executable, str(REPO / "build.py"), "serve", *args]
    environment = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        command, cwd=root, env=environment, capture_output=True, text=True, timeout=60
    )


def test_port_in_use_is_a_clear_error(sample_site: Path, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = run_serve(sample_site, tmp, "--port", str(port))
    assert run.returncode == 2
    assert f"port {port} is already in use" in run.stderr
    assert "--port" in run.stderr
    assert "Traceback" not in run.stderr
    assert list(tmp.iterdir()) == []


def test_another_host_warns_that_the_preview_is_on_the_network(
    sample_site: Path, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.2", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = run_serve(sample_site, tmp_path, "--host", "127.0.0.2", "--port", str(port))
    assert "reachable from the network" in run.stderr
    assert run.returncode == 2


def test_serve_with_a_broken_config_stops_before_serving(
    sample_site: Path, cli: Callable[..., Run]
) -> None:
    (sample_site / "config.yml").write_text("titel: x\n")
    run = cli(sample_site, "serve", "--port", "1")
    assert run.code == 2
    assert "config.yml:1: unknown setting 'titel'" in run.err
