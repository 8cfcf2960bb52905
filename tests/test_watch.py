"""The source watcher: notified and polled changes come out as batches of project paths."""

from __future__ import annotations

import builtins
import contextlib
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broadsheet import watch
from broadsheet.watch import SourceWatcher
from tests.conftest import article, save

ARTICLE = "content/articles/2025-12-02-a.md"


class Batches:
    """A watcher running in a thread, its batches in a queue."""

    def __init__(self, root: Path, skip: Path | None = None, idle: float | None = None) -> None:
        self.stop = threading.Event()
        self.idle = idle
        self.watcher = SourceWatcher(root, skip, self.stop)
        self.found: queue.SimpleQueue[tuple[str, ...]] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for batch in self.watcher.batches(idle=self.idle):
            self.found.put(batch)

    def next(self, timeout: float = 10.0) -> set[str]:
        """The next batch; fails the test if none comes within `timeout`."""
        try:
            return set(self.found.get(timeout=timeout))
        except queue.Empty:
            pytest.fail(f"no change reported within {timeout} s")

    def none_within(self, seconds: float) -> bool:
        try:
            extra = self.found.get(timeout=seconds)
        except queue.Empty:
            return True
        pytest.fail(f"unexpected batch {extra}")

    def drain(self, seconds: float) -> set[str]:
        """Everything reported within `seconds`."""
        found: set[str] = set()
        with contextlib.suppress(queue.Empty):
            while True:
                found |= set(self.found.get(timeout=seconds))
        return found

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive()


@pytest.fixture
def project(make_site: Callable[..., Path]) -> Path:
    return make_site({ARTICLE: article()})


@pytest.fixture(params=["notified", "polled"])
def watching(
    request: pytest.FixtureRequest, project: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Batches]]:
    if request.param == "polled":  # as where watchfiles cannot be imported
        real_import = builtins.__import__

        def no_watchfiles(name: str, *args: object, **kwargs: object) -> object:
            if name == "watchfiles":
                raise ImportError(name)
            return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(builtins, "__import__", no_watchfiles)
    started: list[Batches] = []

    def start(skip: Path | None = None, idle: float | None = None) -> Batches:
        batches = Batches(project, skip, idle)
        assert (batches.watcher._notified is not None) == (request.param == "notified")
        started.append(batches)
        return batches

    yield start
    for batches in started:
        batches.close()


def test_a_save_is_reported_as_its_project_path(project: Path, watching) -> None:
    batches = watching()
    (project / ARTICLE).write_text(article(body="Changed."))
    assert batches.next() == {ARTICLE}


def test_a_save_by_rename_and_a_new_and_a_removed_file(project: Path, watching) -> None:
    batches = watching()
    temp = project / "content/articles/.2025-12-02-a.md.swp"
    temp.write_text(article(body="Saved through a temporary file."))
    os.replace(temp, project / ARTICLE)
    assert batches.next() == {ARTICLE}
    save(project / "content/articles/2025-12-03-b.md", article())
    assert batches.next() == {"content/articles/2025-12-03-b.md"}
    (project / ARTICLE).unlink()
    assert batches.next() == {ARTICLE}


def test_with_idle_an_empty_batch_says_no_change_followed(project: Path, watching) -> None:
    batches = watching(idle=2.0)
    assert batches.none_within(1.0)  # nothing before the first batch
    save(project / ARTICLE, article(body="Changed."))
    assert batches.next() == {ARTICLE}
    assert batches.next(timeout=5.0) == set()
    assert batches.none_within(2.5)  # once per batch, not on every quiet moment
    save(project / ARTICLE, article(body="Changed again."))
    assert batches.next() == {ARTICLE}
    time.sleep(0.2)  # a save within `idle`: its batch comes, and the empty one after it only
    save(project / ARTICLE, article(body="And again."))
    assert batches.next() == {ARTICLE}
    assert batches.next(timeout=5.0) == set()


def test_editor_junk_and_other_folders_are_not_reported(project: Path, watching) -> None:
    batches = watching()
    (project / "content/articles/notes.md~").write_text("backup")
    (project / "content/articles/.#lock").write_text("lock")
    (project / "README.txt").write_text("not a source")
    (project / "site").mkdir()
    (project / "site/index.html").write_text("output")
    assert batches.none_within(1.0)


def test_config_and_a_folder_made_after_the_start_are_watched(project: Path, watching) -> None:
    batches = watching()
    shutil.rmtree(project / "static")
    assert all(p == "static" or p.startswith("static/") for p in batches.next())
    config = project / "config.yml"
    save(config, config.read_text() + "\n# a comment\n")
    assert batches.next() == {"config.yml"}
    (project / "static").mkdir()
    (project / "static/extra.css").write_text("body { color: red; }")
    seen = batches.next() | batches.drain(0.5)
    assert seen & {"static", "static/extra.css"}  # either way static/ is read again
    save(project / "static/more.css", "p { color: blue; }")
    assert batches.next() == {"static/more.css"}


def test_a_folder_replaced_by_another_is_watched_anew(project: Path, watching) -> None:
    batches = watching()
    new = project / "templates.new"
    shutil.copytree(project / "templates", new)
    os.rename(project / "templates", project / "templates.old")
    os.rename(new, project / "templates")
    seen = batches.next() | batches.drain(0.5)
    assert any(p == "templates" or p.startswith("templates/") for p in seen)
    (project / "templates/page.html").write_text("{{ page.title }}")
    assert "templates/page.html" in batches.next() | batches.drain(0.3)


def test_the_preview_folder_inside_the_project_is_left_out(project: Path, watching) -> None:
    inside = project / "static/preview"
    inside.mkdir()
    batches = watching(skip=inside.resolve())
    (inside / "index.html").write_text("built")
    (project / ARTICLE).write_text(article(body="Changed."))
    assert batches.next() == {ARTICLE}


def test_a_failed_notifier_falls_back_to_polling(project: Path) -> None:
    batches = Batches(project)
    try:
        assert batches.watcher._notified is not None
        batches.watcher._events.put(None)  # what the notifier thread sends when it fails
        assert batches.next() == set(watch.WATCHED)  # everything may have changed meanwhile
        assert batches.watcher._notified is None
        (project / ARTICLE).write_text(article(body="Changed after the fallback."))
        assert batches.next() == {ARTICLE}
    finally:
        batches.close()
