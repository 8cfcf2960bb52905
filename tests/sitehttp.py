"""Test helpers for the proofs: build a site for a base URL, serve it like GitHub Pages does.

`build_for` builds a project with a --base-url override. `serve_site` serves the output folder
under the base path from a thread on 127.0.0.1: paths outside the base path are 404, a missing
file answers 404 with the site's own 404.html, and a folder without index.html is 404 too (no
listings). `require_tool` skips a test whose tool is missing, except under CI=true where it fails.
"""

from __future__ import annotations

import http.server
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from broadsheet.cli import main

REPO = Path(__file__).resolve().parents[1]
NODE_MODULES = REPO / "node_modules"


def require_tool(available: object, reason: str) -> None:
    """Skip the test when a tool is missing; under CI=true fail instead, so CI proves it."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: proofs must not be skipped; run .ci/run)")
    pytest.skip(reason)


def build_for(root: Path, base_url: str) -> Path:
    """Build the project at root for base_url into root/site; return the output folder."""
    code = main(["build", "--no-import", "--base-url", base_url], root=root)
    assert code == 0, f"build for {base_url} failed with exit code {code}"
    return root / "site"


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


@dataclass(frozen=True)
class Response:
    """One answer of the local server."""

    url: str  # the URL asked for, after redirects
    status: int
    content_type: str
    body: bytes


def fetch(url: str) -> Response:
    """GET a URL from the local server, following redirects; 4xx/5xx are answers, not errors."""
    try:
        with _OPENER.open(url, timeout=10) as answer:
            return Response(
                answer.url, answer.status, answer.headers["Content-Type"], answer.read()
            )
    except urllib.error.HTTPError as exc:
        with exc:
            return Response(url, exc.code, exc.headers["Content-Type"] or "", exc.read())


@contextmanager
def serve_site(folder: Path, base_path: str = "/") -> Iterator[str]:
    """Serve folder at http://127.0.0.1:<free port><base_path>; yield that URL."""
    handler = _handler_for(folder, base_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{base_path}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _handler_for(folder: Path, base_path: str) -> type[http.server.SimpleHTTPRequestHandler]:
    class PagesHandler(http.server.SimpleHTTPRequestHandler):
        """GitHub Pages, roughly: the site lives under base_path, 404.html for what is missing."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

        def translate_path(self, path: str) -> str:
            clean = unquote(urlsplit(path).path)
            if not clean.startswith(base_path):
                return str(folder / ".outside-base-path")  # never exists: 404
            return super().translate_path("/" + clean[len(base_path) :])

        def list_directory(self, path: str | os.PathLike[str]) -> None:
            self.send_error(404)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None):
            page = folder / "404.html"
            if code != 404 or not page.is_file():
                return super().send_error(code, message, explain)
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return None

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    return PagesHandler
