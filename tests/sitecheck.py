"""Read a built site back: parse its HTML, resolve its links, hash its files, run the build."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests.conftest import REPO

LINK_ATTRIBUTES = {"a": "href", "link": "href", "script": "src", "img": "src", "source": "src"}


class PageParser(HTMLParser):
    """Collect the links, element names and text of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        wanted = LINK_ATTRIBUTES.get(tag)
        if wanted and attributes.get(wanted):
            self.links.append(attributes[wanted] or "")
        for candidate in (attributes.get("srcset") or "").split(","):
            if candidate.strip():
                self.links.append(candidate.split()[0])  # "url 2x" or "url 640w"

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str) -> list[dict[str, str | None]]:
        """Attributes of every element named `tag`."""
        return [attrs for name, attrs in self.tags if name == tag]


def parse_page(path: Path) -> PageParser:
    """Parse one HTML file."""
    return parse_html(path.read_text(encoding="utf-8"))


def parse_html(text: str) -> PageParser:
    """Parse one HTML document."""
    parser = PageParser()
    parser.feed(text)
    parser.close()
    return parser


def html_pages(output: Path) -> list[Path]:
    """Every HTML file of a built site."""
    return sorted(output.rglob("*.html"))


def resolve(url: str, output: Path, base_path: str = "/", origin: str = "") -> Path | None:
    """Return the file an internal URL serves, or None for an external URL."""
    parts = urlsplit(url)
    if parts.scheme in ("mailto",) or (
        parts.netloc and f"{parts.scheme}://{parts.netloc}" != origin
    ):
        return None
    path = unquote(parts.path)
    if not path:
        return None  # a fragment on the same page
    assert path.startswith(base_path), f"internal URL {url!r} escapes the base path {base_path!r}"
    relative = path[len(base_path) :]
    target = output / relative
    return target / "index.html" if relative == "" or relative.endswith("/") else target


def broken_links(output: Path, base_path: str = "/", origin: str = "") -> list[str]:
    """Every internal link of every page that does not resolve to a file, as 'page -> url'."""
    broken = []
    for page in html_pages(output):
        for url in parse_page(page).links:
            target = resolve(url, output, base_path, origin)
            if target is not None and not target.is_file():
                broken.append(f"{page.relative_to(output)} -> {url}")
    return broken


def manifest(folder: Path) -> dict[str, str]:
    """Hash of every file under `folder` by relative path; a symbolic link shows its target."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[name] = f"link -> {os.readlink(path)}"
        elif path.is_file():
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def leftovers(parent: Path, name: str = "site") -> list[str]:
    """Staging and old-build folders of interrupted builds beside the output folder."""
    return sorted(p.name for p in parent.glob(f".{name}.*") if p.is_dir())


def run_build(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `python build.py` in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, str(REPO / "build.py"), *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


SAFE_SCHEMES = ("http", "https", "mailto")
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "srcset", "poster", "data", "xlink:href")
FORBIDDEN = ("script", "iframe", "object", "embed", "form", "base", "style", "svg", "math")


def unsafe_markup(html: str) -> list[str]:
    """Everything executable in an HTML fragment: elements, on* handlers, unsafe URL schemes."""
    parser = PageParser()
    parser.feed(html)
    parser.close()
    problems = []
    for tag, attrs in parser.tags:
        if tag in FORBIDDEN:
            problems.append(f"<{tag}> element")
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            problems.append("<meta http-equiv=refresh>")
        for name, value in attrs.items():
            if name.startswith("on") or name == "style":
                problems.append(f"<{tag} {name}=...>")
            if name in URL_ATTRIBUTES and not _safe_url(value or ""):
                problems.append(f"<{tag} {name}={value!r}>")
    return problems


def _safe_url(url: str) -> bool:
    """A URL a browser would not run: relative, or http(s)/mailto (as browsers read schemes)."""
    cleaned = "".join(c for c in url if ord(c) > 0x20 and c != "\x7f")
    scheme, colon, _ = cleaned.partition(":")
    if not colon or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return True  # no scheme ("java%09script" is not one): a relative URL
    return scheme.lower() in SAFE_SCHEMES


def content_ids(output: Path) -> set[str]:
    """Every id and name attribute value in every page of a built site."""
    found = set()
    for page in html_pages(output):
        for _tag, attrs in parse_page(page).tags:
            found.update(attrs[key] or "" for key in ("id", "name") if key in attrs)
    return found
