"""Proof that the key pages are accessible: axe-core finds no serious or critical violation.

axe-core comes from the npm package (pinned in package.json) and runs in headless Chromium
driven by Playwright, on pages served over http under a project subpath, in the light and the
dark colour scheme.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sitehttp import NODE_MODULES, build_for, require_tool, serve_site

AXE = NODE_MODULES / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BASE_URL = "https://example.github.io/broadsheet-demo/"
PAGES = {
    "home": "",
    "digest": "digests/2025-12-02/",
    "article": "articles/talks-on-shared-river-resume-after-two-year-pause/",
    "tag": "tags/energy/",
    "tags index": "tags/",
}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (the system's own; Playwright downloads none)."""
    require_tool(importlib.util.find_spec("playwright"), "playwright (Python) is not installed")
    require_tool(Path(CHROMIUM).is_file() or shutil.which("chromium"), f"{CHROMIUM} not found")
    require_tool(AXE.is_file(), f"{AXE} not found: run `npm ci --ignore-scripts`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_key_pages_have_no_serious_axe_violations(
    browser: Any, sample_site: Path, scheme: str
) -> None:
    output = build_for(sample_site, BASE_URL)
    for path in PAGES.values():
        assert (output / path / "index.html").is_file(), f"sample page {path!r} is gone"
    with serve_site(output, "/broadsheet-demo/") as home:
        page = browser.new_page()
        try:
            page.emulate_media(color_scheme=scheme)
            found = [
                line
                for name, path in PAGES.items()
                for line in axe_problems(page, home + path, name)
            ]
        finally:
            page.close()
    assert found == []


def axe_problems(page: Any, url: str, name: str) -> list[str]:
    """Load url, run axe on it, return one line per serious or critical violation."""
    answer = page.goto(url)
    assert answer is not None and answer.status == 200, url
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{name}: {violation['id']} ({violation['impact']}): {node['target']} "
        f"{node.get('failureSummary', '')}"
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"]
    ]
