"""Proof that every generated HTML page is valid: the Nu Html Checker reports no error.

vnu.jar comes from the npm package vnu-jar (pinned in package.json) and runs with Java, once
over every page of the sample site built under a project subpath.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.sitehttp import NODE_MODULES, build_for, require_tool

VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"


def test_every_page_passes_the_nu_html_checker(sample_site: Path) -> None:
    java = shutil.which("java")
    require_tool(java, "java not found: install a Java runtime (default-jre-headless)")
    require_tool(VNU_JAR.is_file(), f"{VNU_JAR} not found: run `npm ci --ignore-scripts`")
    output = build_for(sample_site, "https://example.github.io/broadsheet-demo/")
    pages = sorted(str(p) for p in output.rglob("*.html"))
    assert len(pages) > 40
    assert any(p.endswith("404.html") for p in pages)
    messages = run_vnu(java, pages)
    errors = [
        f"{Path(m.get('url', '?').removeprefix('file:')).relative_to(output)}:"
        f"{m.get('lastLine', '?')}: {m['message']}"
        for m in messages
        if m.get("type") in ("error", "non-document-error")
    ]
    assert errors == []


def run_vnu(java: str | None, pages: list[str]) -> list[dict[str, object]]:
    """Check the pages in one run of vnu.jar; return its messages."""
    command = [str(java), "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *pages]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    try:
        return json.loads(done.stderr or done.stdout)["messages"]
    except (ValueError, KeyError) as exc:
        raise AssertionError(f"vnu.jar gave no JSON report: {done.stderr[:2000]}") from exc
