"""The plan a full build keeps for the next `python build.py`: after edits to what articles say,
the site that build writes is exactly what a full build from scratch writes, and any other
change, or a kept plan that is unusable, makes a full build."""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from broadsheet import incremental, snapshot
from broadsheet.config import load_config
from broadsheet.errors import ErrorList
from broadsheet.model import BuildContext
from broadsheet.pipeline import BuildResult, build
from broadsheet.snapshot import load_snapshot
from tests.conftest import REPO, article, wait_for_writer
from tests.sitecheck import manifest, run_build

A = "content/articles/2025-12-02-ai-model-helps-astronomers-spot-faint-comet.md"
B = "content/articles/2025-12-02-talks-on-shared-river-resume-after-two-year-pause.md"
C = "content/articles/2025-11-28-storm-imogen-brings-record-rainfall-to-western-coast.md"
A_PAGE = "articles/ai-model-helps-astronomers-spot-faint-comet/index.html"


def run(root: Path, **options: object) -> BuildResult:
    config = load_config(root, options.pop("base_url", None))  # type: ignore[arg-type]
    return build(BuildContext(root, config, workers=1, **options))  # type: ignore[arg-type]


@pytest.fixture
def site(sample_site: Path) -> Path:
    """The sample project with files older than the clock tick a build distrusts, built once."""
    settle(sample_site)
    assert not run(sample_site).updated
    return sample_site


def settle(root: Path) -> None:
    """Date every input file ten seconds back: a file changed just before a build is read
    again by every later one (its time cannot prove a second change), as after a checkout."""
    old = time.time_ns() - 10_000_000_000
    for top in ("content", "templates", "static"):
        for path in (root / top).rglob("*"):
            os.utime(path, ns=(old, old))


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def assert_matches_a_full_build(root: Path, scratch: Path) -> None:
    """site/ holds the files, keys and build record a fresh full build makes, in a process of
    its own (nothing kept in memory or in .cache/ is shared)."""
    shutil.rmtree(scratch, ignore_errors=True)
    fresh = run_build(root, "--no-cache", "--no-import", "--output", str(scratch))
    assert fresh.returncode == 0, fresh.stderr
    assert manifest(root / "site") == manifest(scratch)  # the marker's bytes included


def test_a_first_build_finds_no_plan_without_loading_the_updater(sample_site: Path) -> None:
    """The modules that update a kept plan (and Jinja with them) are not loaded by a build
    that cannot have one: the first."""
    assert not snapshot.may_have_plan(sample_site)
    code = (
        "import sys\n"
        "from broadsheet import pipeline\n"
        "real = pipeline.build_site\n"
        "def build_site(*args):\n"
        "    print('loaded:', 'broadsheet.incremental' in sys.modules, file=sys.stderr)\n"
        "    return real(*args)\n"
        "pipeline.build_site = build_site\n"
        "from broadsheet.cli import run\n"
        "run(['-v', '--no-import', '--no-daemon'])\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.run(
        [sys.executable, "-c", code],
        cwd=sample_site,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert first.returncode == 0, first.stderr
    assert "full build: no plan was kept here" in first.stderr
    assert "loaded: False" in first.stderr
    wait_for_writer(sample_site)
    assert snapshot.may_have_plan(sample_site)


def test_an_edit_is_written_from_the_kept_plan(site: Path, tmp_path: Path) -> None:
    edit(site, A, "faint comet", "faint, slow comet")
    result = run(site)
    assert result.updated and result.cache_misses == 1
    assert A_PAGE in result.rendered
    assert "tags/index.html" not in result.rendered  # no tag's count changed
    assert 0 < result.stats.written <= len(result.rendered)  # some show the digest, not the text
    assert "faint, slow comet" in (site / "site" / A_PAGE).read_text()
    assert_matches_a_full_build(site, tmp_path / "fresh")


def test_edits_since_the_kept_plan_add_up(site: Path, tmp_path: Path) -> None:
    """Each build takes every article changed since the plan was kept, not only the last."""
    original = (site / A).read_text()
    edit(site, A, "faint comet", "faint, slow comet")
    assert run(site).updated
    edit(site, B, "river", "long river")
    result = run(site)
    assert result.updated and result.cache_misses == 2
    assert_matches_a_full_build(site, tmp_path / "fresh")
    (site / A).write_text(original)  # back to the bytes the plan was made from
    assert run(site).updated
    assert "faint, slow comet" not in (site / "site" / A_PAGE).read_text()
    assert_matches_a_full_build(site, tmp_path / "fresh")


def test_a_page_deleted_by_hand_is_made_again(site: Path, tmp_path: Path) -> None:
    (site / "site" / A_PAGE).unlink()
    edit(site, C, "rainfall", "heavy rainfall")
    result = run(site)
    assert result.updated and A_PAGE in result.rendered
    assert_matches_a_full_build(site, tmp_path / "fresh")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda root: edit(root, A, "tags: [ai,", "tags: [ai, comets,"), id="tags"),
        pytest.param(lambda root: edit(root, A, "2025-12-02T13:45", "2025-12-01T13:45"), id="date"),
        pytest.param(
            lambda root: edit(root, A, "---\ntitle", "---\ndraft: true\ntitle"), id="draft"
        ),
        pytest.param(
            lambda root: (root / "content/articles/2025-12-03-new.md").write_text(article()),
            id="new article",
        ),
        pytest.param(lambda root: (root / A).unlink(), id="deleted article"),
        pytest.param(
            lambda root: edit(
                root, "templates/article.html", "</article>", "<p>Fin.</p></article>"
            ),
            id="template",
        ),
        pytest.param(lambda root: edit(root, A, "location:", "locaton:"), id="a warning"),
        pytest.param(lambda root: edit(root, "config.yml", "title: ", "title: New "), id="config"),
    ],
)
def test_other_changes_build_in_full(site: Path, tmp_path: Path, change: Callable) -> None:
    change(site)
    assert not run(site).updated
    assert_matches_a_full_build(site, tmp_path / "fresh")


def test_an_error_in_an_edited_article_is_reported_and_the_site_kept(site: Path) -> None:
    before = manifest(site / "site")
    edit(site, A, "title: ", "title: [\n")
    with pytest.raises(ErrorList) as caught:
        run(site)
    assert str(caught.value.errors[0].location).startswith(f"{A}:")
    assert manifest(site / "site") == before


def test_many_changed_files_build_in_full(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a checkout that changes many files, parsing them in parallel is quicker."""
    monkeypatch.setattr(incremental, "MAX_KEPT_EDITS", 2)
    for name in (A, B, C):
        edit(site, name, "\n---\n", "\n---\nA first line.\n\n")
    settle(site)  # else all three are parsed again by every build (see the next test)
    result = run(site)
    assert not result.updated and result.cache_misses == 3
    edit(site, A, "A first line.", "A changed first line.")
    edit(site, B, "A first line.", "A changed first line.")
    assert run(site).updated


def test_an_edit_in_the_clock_tick_of_the_scan_is_seen(sample_site: Path, tmp_path: Path) -> None:
    """A file changed just before a build was listed may change again with the same size and
    time: such a file is parsed again by every build that uses the plan."""
    settle(sample_site)
    os.utime(sample_site / A)  # changed just now, as the build starts
    assert not run(sample_site).updated
    path = sample_site / A
    before = path.stat()
    text = path.read_text()
    path.write_text(text.replace("faint comet", "Faint comet"))  # the same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same time
    edit(sample_site, C, "rainfall", "heavy rainfall")
    result = run(sample_site)
    assert result.updated and result.cache_misses == 2
    assert "Faint comet" in (sample_site / "site" / A_PAGE).read_text()
    assert_matches_a_full_build(sample_site, tmp_path / "fresh")


def test_an_article_replaced_by_a_link_builds_in_full(site: Path, tmp_path: Path) -> None:
    """The full build's checks of links apply: one pointing outside content/ is skipped."""
    outside = tmp_path / "outside.md"
    outside.write_text((site / A).read_text().replace("faint comet", "borrowed comet"))
    (site / A).unlink()
    (site / A).symlink_to(outside)
    assert not run(site).updated
    assert not (site / "site" / A_PAGE).exists()
    assert_matches_a_full_build(site, tmp_path / "fresh")


def test_templates_that_read_the_whole_site_build_in_full(site: Path, tmp_path: Path) -> None:
    edit(site, "templates/base.html", "</main>", "{{ site.articles | length }}</main>")
    assert not run(site).updated
    edit(site, A, "faint comet", "faint, slow comet")
    assert not run(site).updated
    assert_matches_a_full_build(site, tmp_path / "fresh")


def test_a_static_file_deleted_by_hand_builds_in_full(site: Path, tmp_path: Path) -> None:
    """The kept plan knows a static file's key but not its bytes."""
    static = next(p for p in (site / "site/static").rglob("*") if p.is_file())
    static.unlink()
    edit(site, A, "faint comet", "faint, slow comet")
    assert not run(site).updated
    assert_matches_a_full_build(site, tmp_path / "fresh")


def test_a_missing_template_cache_is_made_again(site: Path, tmp_path: Path) -> None:
    """In a process of its own, which has compiled no template yet."""
    shutil.rmtree(site / ".cache/broadsheet/templates")
    edit(site, A, "faint comet", "faint, slow comet")
    again = run_build(site, "--no-import", "-v")
    assert again.returncode == 0, again.stderr
    assert "plan: the last build's, updated" in again.stderr + again.stdout
    assert_matches_a_full_build(site, tmp_path / "fresh")


def test_other_settings_build_in_full(site: Path, tmp_path: Path) -> None:
    edit(site, A, "faint comet", "faint, slow comet")
    assert not run(site, drafts=True).updated  # a plan is kept for the settings it was made with
    edit(site, A, "slow comet", "slow, bright comet")
    assert not run(site, base_url="https://other.example.org/").updated
    edit(site, A, "bright comet", "bright, famous comet")
    assert not run(site, output=tmp_path / "elsewhere").updated


def test_a_corrupt_kept_plan_is_ignored(site: Path, tmp_path: Path) -> None:
    kept = site / ".cache/broadsheet/plan.pickle"
    with load_snapshot(BuildContext(site, load_config(site)), site / "site") as snapshot:
        assert snapshot is not None
    with open(kept.with_name("plan.lock")) as lock:  # no writer is busy with it
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = kept.read_bytes()
        kept.write_bytes(data[: len(data) // 2] + b"\0" * 64)
    edit(site, A, "faint comet", "faint, slow comet")
    assert not run(site).updated
    assert "faint, slow comet" in (site / "site" / A_PAGE).read_text()
    assert_matches_a_full_build(site, tmp_path / "fresh")
    edit(site, A, "slow comet", "slow, bright comet")  # the full build kept a new plan
    assert run(site).updated


def test_the_plan_is_written_after_the_build_returns(
    sample_site: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The full build returns while a detached process writes its plan, holding none of the
    build's files but the plan's lock; the next build waits for it, so it never reads half a
    file. The writer here waits for a go-ahead file before writing."""
    settle(sample_site)
    go, seen = tmp_path / "go", tmp_path / "writer.json"
    real = snapshot._write

    def held_back(*args: Any) -> None:
        fds = sorted(int(n) for n in os.listdir("/proc/self/fd"))
        seen.write_text(json.dumps({"sid": os.getsid(0), "fds": fds}))
        deadline = time.monotonic() + 30
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        real(*args)

    monkeypatch.setattr(snapshot, "_write", held_back)
    read_end, write_end = os.pipe()  # as a caller's pipe the build's process inherits
    try:
        assert not run(sample_site).updated
        os.close(write_end)
        ready, _, _ = select.select([read_end], [], [], 10)
        assert ready and os.read(read_end, 1) == b""  # no one else holds the pipe open
        lock = sample_site / ".cache/broadsheet/plan.lock"
        with open(lock) as handle, pytest.raises(BlockingIOError):  # the writer holds it
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    finally:
        go.touch()
        os.close(read_end)
    edit(sample_site, A, "faint comet", "faint, slow comet")
    assert run(sample_site).updated
    writer = json.loads(seen.read_text())
    assert writer["sid"] != os.getsid(0)  # not stopped by an interrupt of the next command
    assert len(writer["fds"]) <= 5  # 0-2 on /dev/null, the lock, and the listing itself


def test_a_failed_writer_says_why(
    site: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    def fails(*args: Any) -> None:
        raise pickle.PicklingError("cannot pickle this")

    wait_for_writer(site)
    (site / ".cache/broadsheet/plan.pickle").unlink()
    leftover = site / ".cache/broadsheet/.plan.pickle-x1y2"  # of a writer killed on the way
    leftover.write_bytes(b"half")
    monkeypatch.setattr(snapshot, "_write", fails)
    edit(site, A, "tags: [ai,", "tags: [ai, comets,")
    assert not run(site).updated
    monkeypatch.undo()
    edit(site, A, "faint comet", "faint, slow comet")
    verbose = cli(site, "-v", "--no-import")
    assert verbose.code == 0
    assert "the last plan was not kept: PicklingError: cannot pickle this" in verbose.err
    assert "full build: no plan was kept" in verbose.err
    wait_for_writer(site)
    assert not leftover.exists()  # the full build's writer cleared it
    edit(site, A, "slow comet", "slow, bright comet")
    assert run(site).updated


@pytest.mark.parametrize("trouble", ["first process", "no process to spare"])
def test_without_a_background_process_no_plan_is_kept(
    sample_site: Path, monkeypatch: pytest.MonkeyPatch, trouble: str
) -> None:
    """A container's first process takes every other with it when it ends; a system short of
    processes refuses a fork. Either way the build succeeds, and the next one is a full build."""
    settle(sample_site)
    if trouble == "first process":
        monkeypatch.setattr(snapshot.os, "getpid", lambda: 1)
    else:

        def refused() -> int:
            raise BlockingIOError(11, "Resource temporarily unavailable")

        monkeypatch.setattr(snapshot.os, "fork", refused)
    assert not run(sample_site).updated
    assert (sample_site / "site" / A_PAGE).is_file()
    wait_for_writer(sample_site)
    assert not (sample_site / ".cache/broadsheet/plan.pickle").exists()


def test_a_plan_locked_for_too_long_is_done_without(
    site: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(snapshot, "LOCK_WAIT", 0.2)
    with open(site / ".cache/broadsheet/plan.lock") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a writer that does not finish, or another program
        edit(site, A, "faint comet", "faint, slow comet")
        assert not run(site).updated
    assert_matches_a_full_build(site, tmp_path / "fresh")


def test_a_build_with_child_signals_ignored_succeeds(sample_site: Path) -> None:
    """A launcher that ignores SIGCHLD passes that on: the writer is then reaped by itself."""
    process = subprocess.run(
        [sys.executable, "-c", IGNORING_SIGCHLD, str(REPO / "build.py"), "--no-import"],
        cwd=sample_site,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 0, process.stderr


IGNORING_SIGCHLD = """
import os, signal, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""
