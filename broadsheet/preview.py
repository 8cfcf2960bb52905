"""PREVIEW: rebuild into a private folder after every burst of changes watch.py reports.

Input: the project folder and the serve options. Output: a PreviewState after every build (the
folder of the last good build and the errors of the last one), handed to a callback; a failed
build's only once HOLD_ERRORS passed without another save, else the next build's. The preview
never writes into site/: it builds into its own temporary folder, removed by `close`. No web code
here; server.py serves what this module builds.

This is the one place besides cli.py that catches BroadsheetError: a preview must survive a bad
save and show its errors in the browser instead of stopping.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from broadsheet.cache import ContentCache, cache_salt
from broadsheet.config import load_config
from broadsheet.errors import BroadsheetError, ErrorList
from broadsheet.model import BuildContext
from broadsheet.pipeline import BuildResult, Plan, build
from broadsheet.watch import SourceWatcher

log = logging.getLogger(__name__)

# Seconds a failed rebuild waits for another save before the browser is shown its errors. An
# editor that writes a file in place empties it first; a rebuild that read it in between fails,
# and the save's end, a moment later, makes the page flash an error. A real mistake shows anyway.
HOLD_ERRORS = 0.3


@dataclass(frozen=True)
class PreviewOptions:
    """What `serve` was asked to preview."""

    root: Path  # the project folder
    base_url: str | None = None  # --base-url override of config.yml
    drafts: bool = False  # include drafts
    strict: bool = False  # warnings are errors


@dataclass(frozen=True)
class PreviewState:
    """The outcome of one preview build, as the server serves it."""

    site: Path  # folder of the last good build (may be empty if none succeeded yet)
    base_path: str  # URL path the site lives under, e.g. "/news/"
    errors: tuple[str, ...]  # `path:line: message` lines of this build; empty if it succeeded
    changed: tuple[str, ...]  # source files (relative, with /) whose change caused this build


class Preview:
    """One serve session's builds: a private temporary folder, a watch thread, rebuilds."""

    def __init__(
        self,
        options: PreviewOptions,
        builder: Callable[..., BuildResult] = build,
    ) -> None:
        self.options = options
        self.config = load_config(options.root, options.base_url)  # broken: serve stops here
        self.folder = Path(tempfile.mkdtemp(prefix="broadsheet-preview-")).resolve()
        self.site = self.folder / "site"
        self._builder = builder  # pipeline.build; a seam for tests
        self._cache = ContentCache(None, "")  # parsed files, kept in memory between rebuilds
        self._plan: Plan | None = None  # the last good build, for incremental updates
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, publish: Callable[[PreviewState], None]) -> PreviewState:
        """Build once, then watch the sources in a thread and `publish` the rebuilds (a failed
        one only if no save follows it within HOLD_ERRORS)."""
        watcher = SourceWatcher(self.options.root, self.folder, self._stop)  # sees the build's
        state = self.rebuild()  # time too: a save made meanwhile is built right after it
        self._thread = threading.Thread(
            target=self._watch, args=(watcher, publish), name="preview-watch", daemon=True
        )
        self._thread.start()
        return state

    def rebuild(self, changed: tuple[str, ...] = ()) -> PreviewState:
        """Build the site into the preview folder: the one place the preview calls build()."""
        start = time.perf_counter()
        options = self.options
        try:
            config = load_config(options.root, options.base_url)
            ctx = BuildContext(
                options.root,
                config,
                drafts=options.drafts,
                strict=options.strict,
                output=self.site,
                use_cache=False,  # the preview keeps its cache in memory, never in the project
                private_output=True,
            )
            if self._cache.salt != cache_salt(config):  # parsing depends on the config
                self._cache = ContentCache(None, cache_salt(config))
                self._plan = None
            plan, self._plan = self._plan, None  # dropped if this build fails half way
            result = self._builder(ctx, cache=self._cache, previous=plan, changed=changed)
            self._plan = result.plan
        except BroadsheetError as exc:
            errors = _error_lines(exc)
        except Exception as exc:  # a crash must not stop the preview: log it, show it, go on
            log.exception("the preview build crashed")
            errors = (f"error: {type(exc).__name__}: {exc}",)
        else:
            self.config = config
            _log_success(result, changed, time.perf_counter() - start)
            return PreviewState(self.site, config.base_path, (), changed)
        for line in errors:
            log.error("%s", line)
        log.error(
            "build failed in %.2fs; the browser shows the errors unless a save follows at once",
            time.perf_counter() - start,
        )
        return PreviewState(self.site, self.config.base_path, errors, changed)

    def __enter__(self) -> Preview:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop watching and remove the preview folder."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=0.8)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _watch(self, watcher: SourceWatcher, publish: Callable[[PreviewState], None]) -> None:
        held: PreviewState | None = None  # a failed build, shown only if no save follows it
        for changed in watcher.batches(idle=HOLD_ERRORS):
            if not changed:  # the sources stayed as the failed build read them
                if held is not None:
                    publish(held)
                    held = None
                continue
            if held is not None:  # the page still shows the build before it: reload for both
                changed = tuple(sorted({*held.changed, *changed}))
            state = self.rebuild(changed)
            if self._stop.is_set():  # closed while building: do not leave files behind
                shutil.rmtree(self.folder, ignore_errors=True)
                return
            held = state if state.errors else None
            if held is None:
                publish(state)


def _error_lines(error: BroadsheetError) -> tuple[str, ...]:
    items = error.errors if isinstance(error, ErrorList) else (error,)
    return tuple(str(item) for item in items)


def _log_success(result: BuildResult, changed: tuple[str, ...], seconds: float) -> None:
    for warning in result.warnings:
        log.warning("warning: %s", warning)
    if changed:
        log.info("rebuilt in %.2fs", seconds)
        log.debug("  changed: %s", ", ".join(changed))
    else:
        log.info("%s", result.summary())
    stages = ", ".join(f"{stage} {seconds:.3f}s" for stage, seconds in result.timings.items())
    log.debug("  %d of %d files rendered; %s", len(result.rendered), result.files, stages)


def reload_paths(before: PreviewState | None, after: PreviewState) -> tuple[str, ...]:
    """Tell what the browser must reload: the changed stylesheets' URLs, or '*' for the page."""
    css = [p for p in after.changed if p.startswith("static/") and p.endswith(".css")]
    css_only = bool(css) and len(css) == len(after.changed)
    if css_only and before is not None and not before.errors and not after.errors:
        return tuple(after.base_path + path for path in css)
    return ("*",)


def render_error_page(errors: Sequence[str]) -> bytes:
    """Render the page shown in place of every page while the build is broken."""
    return _ERROR_PAGE.render(errors=errors).encode("utf-8")


_ERROR_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Build failed · Broadsheet preview</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem; }
h1 { color: #b00020; }
li { font-family: ui-monospace, monospace; white-space: pre-wrap; margin: .5rem 0; }
</style>
</head>
<body>
<main>
<h1>Build failed</h1>
<p>The preview could not be built. Fix the {{ "problem" if errors|length == 1 else "problems" }}
below and save: this page reloads by itself.</p>
<ul class="build-errors">
{% for error in errors %}<li>{{ error }}</li>
{% endfor %}</ul>
</main>
</body>
</html>
"""
)
