"""Shared fixtures: small sites written into tmp_path, and a way to run the CLI on them."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from broadsheet.cli import main

REPO = Path(__file__).resolve().parents[1]
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
        code = main(list(args), root=root)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
