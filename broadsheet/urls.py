"""The one place that knows URLs and output paths, base path included.

Every link a template writes comes from Urls, so a site built for `https://user.github.io/repo/`
links to `/repo/...` everywhere. `output_path` turns such a URL back into the file that serves it,
and proves the file stays inside the output folder.
"""

from __future__ import annotations

from broadsheet.config import Config
from broadsheet.errors import OutputError
from broadsheet.model import Article, Digest, Page, Tag


class Urls:
    """Site-relative URLs (starting with the base path) for every kind of page."""

    def __init__(self, config: Config) -> None:
        self.base = config.base_path  # "/" or "/repo/"
        self.origin = config.origin  # "https://user.github.io" or ""

    def home(self, page: int = 1) -> str:
        """The home page, or page N of the digest listing."""
        return self.base if page == 1 else f"{self.base}page/{page}/"

    def digest(self, digest: Digest | str) -> str:
        """A digest's page."""
        digest_id = digest if isinstance(digest, str) else digest.id
        return f"{self.base}digests/{digest_id}/"

    def article(self, article: Article | str) -> str:
        """An article's page (given the article or its slug)."""
        slug = article if isinstance(article, str) else article.slug
        return f"{self.base}articles/{slug}/"

    def tag(self, tag: Tag, page: int = 1) -> str:
        """A tag's page, or page N of it."""
        first = f"{self.base}tags/{tag.slug}/"
        return first if page == 1 else f"{first}page/{page}/"

    def tag_feed(self, tag: Tag) -> str:
        """A tag's Atom feed."""
        return f"{self.base}tags/{tag.slug}/feed.xml"

    def page(self, page: Page | str) -> str:
        """A standalone page such as About (given the page or its slug)."""
        slug = page if isinstance(page, str) else page.slug
        return f"{self.base}{slug}/"

    def file(self, name: str) -> str:
        """A file at the site root or below it: 'tags/', 'feed.xml', 'static/style.css'."""
        return f"{self.base}{name.lstrip('/')}"

    def absolute(self, url: str) -> str:
        """The full URL with scheme and host, for feeds, sitemaps and canonical links."""
        return f"{self.origin}{url}"


def output_path(url: str, urls: Urls) -> str:
    """Return the file in the output folder that serves a site URL from Urls."""
    if not url.startswith(urls.base):
        raise OutputError(f"internal URL {url!r} is outside the base path {urls.base!r}")
    relative = url[len(urls.base) :]
    if relative == "" or relative.endswith("/"):
        relative += "index.html"
    return safe_output_path(relative)


def safe_output_path(relative: str) -> str:
    """Return a relative output path (POSIX text) once proven it cannot leave the output folder."""
    wrapped = f"/{relative}/"
    bad = (
        not relative
        or "\\" in relative
        or "\x00" in relative
        or "//" in wrapped
        or "/./" in wrapped
        or "/../" in wrapped
    )
    if bad:
        raise OutputError(f"refusing output path {relative!r}: it would leave the output folder")
    return relative
