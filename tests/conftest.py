"""Shared fixtures: small sites written into tmp_path, and a way to run the CLI on them."""

from __future__ import annotations

import fcntl
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from broadsheet.cli import main

REPO = Path(__file__).resolve().parents[1]

# Builds leave no build daemon behind (broadsheet/daemon.py) unless a test asks for one: a
# process per test project would outlive the test, holding its memory.
os.environ["BROADSHEET_DAEMON"] = "0"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

MINIMAL_CONFIG = """\
title: Test Digest
description: A digest for tests.
base_url: https://example.org/
timezone: UTC
sections: [World, Business]
"""


def article(
    title: str = "An article",
    date: str = "2025-12-02T10:00:00+00:00",
    body: str = "Body text.",
    **fields: str,
) -> str:
    """Return the text of an article file; extra fields are YAML lines written as given."""
    lines = [f"title: {title}", f"date: {date}"] + [
        f"{key}: {value}" for key, value in fields.items()
    ]
    return "---\n" + "\n".join(lines) + "\n---\n" + textwrap.dedent(body).strip() + "\n"


@pytest.fixture
def make_site(tmp_path: Path) -> Callable[..., Path]:
    """Write a small site into tmp_path: {relative path: text}; templates/static from the repo."""

    def make(
        files: Mapping[str, str | bytes] | None = None,
        config: str = MINIMAL_CONFIG,
        folder: str = "project",
    ) -> Path:
        root = tmp_path / folder
        root.mkdir()
        shutil.copytree(REPO / "templates", root / "templates")
        shutil.copytree(REPO / "static", root / "static")
        (root / "config.yml").write_text(config, encoding="utf-8")
        for name, data in (files or {}).items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_text(data, encoding="utf-8")
        return root

    return make


@pytest.fixture
def sample_site(tmp_path: Path) -> Path:
    """A copy of the repository's sample project (config, content, templates, static)."""
    root = tmp_path / "sample"
    root.mkdir()
    for name in ("content", "templates", "static"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("inbox"))
    shutil.copy(REPO / "config.yml", root / "config.yml")
    return root


@dataclass(frozen=True)
class Run:
    """The outcome of one CLI run."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run build.py's main() in-process in a project folder and capture its output."""

    def run(root: Path, *args: str) -> Run:
        capsys.readouterr()
        try:
            code = main(list(args), root=root)
        finally:
            wait_for_writer(root)  # so a test may delete or copy the project at once
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def wait_for_writer(root: Path) -> None:
    """Wait until the process a full build leaves writing its plan for the next build (in the
    project's .cache/) is done, if there is one."""
    lock = root / ".cache/broadsheet/plan.lock"
    if lock.exists():
        with open(lock) as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)


# An article of the sample site, its source and its page (for base_url https://example.org/).
ARTICLE = "content/articles/2025-12-02-ai-model-helps-astronomers-spot-faint-comet.md"
ARTICLE_URL = "/articles/ai-model-helps-astronomers-spot-faint-comet/"


def break_title(text: str) -> str:
    """Make line 2 (the title) invalid YAML, with markup that must come out escaped."""
    lines = text.splitlines(keepends=True)
    assert lines[1].startswith("title: ")
    lines[1] = "title: <b>Broken: title\n"
    return "".join(lines)


def articles_for_workers(count: int = 150) -> dict[str, str]:
    """Enough articles for a build to render in worker processes."""
    return {
        f"content/articles/2025-12-{1 + i % 9:02d}-story-{i}.md": article(
            f"Story {i}",
            f"2025-12-{1 + i % 9:02d}T{i % 24:02d}:00:00+00:00",
            tags=f"[t{i % 7}, common]",
            body=f"Text {i}.",
        )
        for i in range(count)
    }


def save(path: Path, text: str) -> None:
    """Save as many editors do, by renaming a written copy over the file: one change, seen
    whole. (write_text empties the file first; a busy machine may report that on its own.)"""
    temp = path.parent / "4913"  # the name Vim writes first, to learn whether it may
    temp.write_text(text)
    os.replace(temp, path)


def set_base_url(root: Path, base_url: str) -> None:
    """Change base_url in a project's config.yml."""
    config = root / "config.yml"
    text = re.sub(r"(?m)^base_url:.*$", f"base_url: {base_url}", config.read_text())
    config.write_text(text)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Served:
    """A `build.py serve` process on a free port, with its log and temporary folder."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path  # the server's stderr
    tmp: Path  # its TMPDIR: the preview folder is made in here

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> tuple[int, str, bytes]:
        """Send one GET with `path` exactly as given; return status, Location and body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.putrequest("GET", path, skip_accept_encoding=True)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, response.getheader("Location") or "", response.read()
        finally:
            connection.close()

    def stop(self) -> int:
        """Send Ctrl-C (SIGINT) and return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start `python build.py serve` in a project folder; wait until it answers; stop it after."""
    started: list[Served] = []

    def start(root: Path, *args: str, env: Mapping[str, str] | None = None) -> Served:
        port = free_port()
        tmp = Path(tempfile.mkdtemp(dir=tmp_path, prefix="serve-tmp-"))
        log = tmp_path / f"serve-{port}.log"
        command = [sys.executable, str(REPO / "build.py"), "serve", "--port", str(port), *args]
        environment = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(REPO), **(env or {})}
        with open(log, "wb") as handle:
            process = subprocess.Popen(command, cwd=root, stderr=handle, env=environment)
        served = Served(process, port, log, tmp)
        started.append(served)
        _wait_until_listening(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.stop()


def _wait_until_listening(served: Served) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"serve exited early:\n{served.log.read_text()}")
        try:
            served.get("/")  # answered only once the first build is done
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"serve did not listen within 30 s:\n{served.log.read_text()}")
