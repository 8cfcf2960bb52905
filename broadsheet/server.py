"""SERVE: the live preview over HTTP, with livereload's browser protocol.

Input: PreviewOptions, a port and a host. Output: none; it serves until Ctrl-C (or SIGTERM), then
removes its temporary folder. The only module that imports livereload and tornado. livereload
supplies the reload protocol: its WebSocket handler, its livereload.js and its script injector.
Files are served by our own handler, because livereload's static handler (tornado's) serves a
symbolic link pointing out of the folder, knows no base path and has no error page.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import mimetypes
import signal
import socket
import threading
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler
from livereload.server import LiveScriptInjector
from livereload.watcher import Watcher
from tornado import httpserver, web

from broadsheet.errors import ServeError
from broadsheet.preview import (
    Preview,
    PreviewOptions,
    PreviewState,
    reload_paths,
    render_error_page,
)

log = logging.getLogger(__name__)

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# Loads livereload.js from this server, whatever host name the browser used to reach it.
RELOAD_SCRIPT = (
    b'<script>(function(){var s=document.createElement("script");'
    b'var p=window.location.port||(window.location.protocol=="https:"?443:80);'
    b's.src="//"+window.location.hostname+":"+p+"/livereload.js?port="+p;'
    b"document.head.appendChild(s);})();</script>"
)


def serve(
    options: PreviewOptions, port: int = 8000, host: str = "127.0.0.1", open_browser: bool = False
) -> None:
    """Build the preview, serve it and rebuild on every change until interrupted."""
    if host not in LOCAL_HOSTS:
        log.warning(
            "warning: serving on %s: the preview (drafts included, if asked) is reachable "
            "from the network",
            host,
        )
    asyncio.run(_run(options, port, host, open_browser))


async def _run(options: PreviewOptions, port: int, host: str, open_browser: bool) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    current = Current()
    with Preview(options) as preview:  # closed (watching stopped) before the loop is
        server = _listen(make_app(current), port, host)
        try:
            state = preview.start(lambda state: loop.call_soon_threadsafe(current.update, state))
            current.update(state)
            url = f"http://{_url_host(host)}:{port}{state.base_path}"
            log.info("serving the preview at %s (Ctrl-C to stop)", url)
            if open_browser:
                threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
            await stop.wait()
            log.info("stopping the preview")
        finally:
            server.stop()


class Current:
    """The preview state the server answers from; updated on the event loop only."""

    def __init__(self) -> None:
        self.state: PreviewState | None = None

    def update(self, state: PreviewState) -> None:
        """Serve `state` from now on and tell the open pages what to reload."""
        before, self.state = self.state, state
        if before is None:
            return
        for path in reload_paths(before, state):
            LiveReloadHandler.reload_waiters(path)


def make_app(current: Current) -> web.Application:
    """Return the tornado application: livereload's endpoints, then the preview's files."""
    LiveReloadHandler.watcher = Watcher()  # reload_waiters() logs its `filepath`
    LiveReloadHandler.live_css = True  # a .css path reloads only that stylesheet

    class InjectReloadScript(LiveScriptInjector):
        script = RELOAD_SCRIPT

    handlers = [
        (r"/livereload", LiveReloadHandler),
        (r"/livereload\.js", LiveReloadJSHandler),
        (r"/.*", PreviewHandler, {"current": current}),
    ]
    return web.Application(handlers, transforms=[InjectReloadScript], log_function=_log_request)


@dataclass(frozen=True)
class Found:
    """Where a request path leads: a file, a redirect, or neither (404)."""

    file: Path | None = None
    redirect: str | None = None


def locate(site: Path, base_path: str, url_path: str) -> Found:
    """Map a request path (still %-encoded) to a file inside `site`, never outside it."""
    if url_path in ("/", base_path.rstrip("/")) and base_path != url_path:
        return Found(redirect=base_path)
    if not url_path.startswith(base_path) or "//" in url_path:
        return Found()
    parts = unquote(url_path[len(base_path) :]).split("/")
    if any(p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
        return Found()
    root = site.resolve()
    candidate = root.joinpath(*(p for p in parts if p))
    if candidate.is_dir() and not url_path.endswith("/"):
        return Found(redirect=url_path + "/")
    if candidate.is_dir():
        candidate = candidate / "index.html"
    real = candidate.resolve()
    if not real.is_relative_to(root) or not real.is_file():
        return Found()
    return Found(file=real)


class PreviewHandler(web.RequestHandler):
    """Serve the last good build, or the error page while the build is broken."""

    def initialize(self, current: Current) -> None:
        self.current = current

    def compute_etag(self) -> None:
        return None  # always send the bytes: pages change under the same URL

    def get(self) -> None:
        state = self.current.state
        if state is None:
            raise web.HTTPError(503)
        found = locate(state.site, state.base_path, self.request.path)
        self.set_header("Cache-Control", "no-store")
        if found.redirect:
            self.redirect(found.redirect)
        elif state.errors and (found.file is None or found.file.suffix == ".html"):
            self._send(500, "page.html", render_error_page(state.errors))
        elif found.file is not None:
            self._send(200, found.file.name, found.file.read_bytes())
        else:
            missing = Path(state.site, "404.html")
            body = missing.read_bytes() if missing.is_file() else b"<html><head></head>Not found"
            self._send(404, "404.html", body)

    head = get

    def _send(self, status: int, name: str, body: bytes) -> None:
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/json", "application/xml"):
            kind += "; charset=utf-8"
        self.set_status(status)
        self.set_header("Content-Type", kind)
        self.finish(body)


def _listen(app: web.Application, port: int, host: str) -> httpserver.HTTPServer:
    try:
        return app.listen(port, address=host)
    except socket.gaierror as exc:
        raise ServeError(f"cannot serve on host {host!r}: {exc.strerror}") from exc
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(
                f"port {port} is already in use on {host}; stop the program using it "
                f"or choose another port with --port"
            ) from exc
        raise ServeError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from exc


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _log_request(handler: web.RequestHandler) -> None:
    request = handler.request
    log.debug("%d %s %s", handler.get_status(), request.method, request.uri)
