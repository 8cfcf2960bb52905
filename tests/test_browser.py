"""The live preview in a real browser: headless Chromium driven by Playwright.

Debian's chromium at /usr/bin/chromium is used through `executable_path`; Playwright's own browser
download is never needed. Without Chromium or Playwright these tests skip, except under CI=true,
where a missing browser is a failure.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ARTICLE, ARTICLE_URL, Served, break_title, set_base_url
from tests.sitehttp import CHROMIUM, CHROMIUM_ARGS, require_tool

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

# ms for a save to show in the open page: about 0.1 s here (bench/run.py measures it), but
# CI machines can be slow and busy, and a test must not fail for that.
RELOAD_BOUND = 15_000
SETUP = 20_000  # ms: loading a page and connecting live reload, before any save
TITLE = "AI model helps astronomers spot faint comet"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for this module's tests."""
    require_tool(
        importlib.util.find_spec("playwright"),
        "Playwright is not installed (pip install -r requirements-dev.txt)",
    )
    require_tool(Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page in its own browser context."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


def open_live(page: Page, url: str) -> None:
    """Open `url` and wait until its live-reload connection is up."""
    page.goto(url)
    wait_for_live_reload(page)


def wait_for_live_reload(page: Page) -> None:
    """Wait until livereload.js has finished its handshake with the server."""
    page.wait_for_function(
        "() => window.LiveReload && window.LiveReload.connector.protocol >= 7", timeout=SETUP
    )


def test_saved_title_shows_in_the_open_page(
    sample_site: Path, serve: Callable[..., Served], page: Page
) -> None:
    from playwright.sync_api import expect

    served = serve(sample_site)
    open_live(page, served.url + ARTICLE_URL)
    expect(page.locator("h1")).to_have_text(TITLE)
    article = sample_site / ARTICLE
    article.write_text(article.read_text().replace(TITLE, "Comet spotted by a model", 1))
    expect(page.locator("h1")).to_have_text("Comet spotted by a model", timeout=RELOAD_BOUND)
    expect(page).to_have_title(re.compile("^Comet spotted by a model"))


def test_broken_save_shows_errors_and_the_fix_brings_the_page_back(
    sample_site: Path, serve: Callable[..., Served], page: Page
) -> None:
    from playwright.sync_api import expect

    served = serve(sample_site)
    open_live(page, served.url + ARTICLE_URL)
    article = sample_site / ARTICLE
    text = article.read_text()
    article.write_text(break_title(text))
    errors = page.locator(".build-errors li")
    expect(errors).to_have_count(1, timeout=RELOAD_BOUND)
    expect(errors).to_contain_text(f"{ARTICLE}:2: invalid YAML")
    expect(page.locator("h1")).to_have_text("Build failed")
    assert served.get("/")[0] == 500  # still answering, with the error page
    wait_for_live_reload(page)
    article.write_text(text)
    expect(page.locator("h1")).to_have_text(TITLE, timeout=RELOAD_BOUND)
    assert served.get(ARTICLE_URL)[0] == 200


def test_deleted_article_answers_404(
    sample_site: Path, serve: Callable[..., Served], page: Page
) -> None:
    from playwright.sync_api import expect

    served = serve(sample_site)
    open_live(page, served.url + ARTICLE_URL)
    (sample_site / ARTICLE).unlink()
    expect(page.locator("h1")).to_have_text("Page not found", timeout=RELOAD_BOUND)
    assert served.get(ARTICLE_URL)[0] == 404
    response = page.reload()
    assert response is not None and response.status == 404


def test_css_change_reloads_only_the_stylesheet(
    sample_site: Path, serve: Callable[..., Served], page: Page
) -> None:
    set_base_url(sample_site, "https://example.org/news/")
    served = serve(sample_site)
    open_live(page, served.url + "/news" + ARTICLE_URL)
    page.evaluate("() => { window.notReloaded = true; }")
    stylesheet = sample_site / "static" / "css" / "style.css"
    stylesheet.write_text(stylesheet.read_text() + "\nbody { outline: 7px solid rgb(1, 2, 3); }\n")
    page.wait_for_function(
        "() => getComputedStyle(document.body).outlineColor === 'rgb(1, 2, 3)'",
        timeout=RELOAD_BOUND,
    )
    assert page.evaluate("() => window.notReloaded") is True
