"""Command line: build (the default), import, serve, deploy.

The only module that catches BroadsheetError, prints it and picks the exit code: 0 success,
1 content or template errors, 2 configuration or usage errors, 3 an unsafe output folder.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from broadsheet import __version__
from broadsheet.config import load_config
from broadsheet.errors import BroadsheetError, ErrorList
from broadsheet.model import BuildContext
from broadsheet.parallel import default_workers
from broadsheet.pipeline import build
from broadsheet.write import check_output_dir

log = logging.getLogger("broadsheet")
COMMANDS = ("build", "import", "serve", "deploy")


def main(argv: Sequence[str], root: Path | None = None) -> int:
    """Run one command; return the process exit code."""
    argv = list(argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "build")
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    root = (root or Path.cwd()).resolve()
    try:
        return int(args.run(args, root) or 0)
    except BroadsheetError as exc:
        if args.debug:
            raise
        _print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="build.py", description="Build a news digest site.")
    parser.add_argument("--version", action="version", version=f"Broadsheet {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="show per-stage timings")
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", parents=[common], help="build the site into site/ (the default)")
    _add_build_options(p)
    p.add_argument("--output", help="output folder (default: output_dir in config.yml)")
    p.add_argument("--no-import", action="store_true", help="do not import content/inbox/ first")
    p.add_argument(
        "--no-cache", action="store_true", help="parse every file again, ignoring .cache/"
    )
    p.set_defaults(run=_run_build)
    return parser


def _add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--drafts", action="store_true", help="include articles marked draft")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--base-url", help="override base_url, e.g. https://user.github.io/repo/")


def _run_build(args: argparse.Namespace, root: Path) -> int:
    config = load_config(root, args.base_url)
    # checked as typed, before Path() could turn "" into "." and fall back to the config
    output = None if args.output is None else check_output_dir(args.output, root)
    ctx = BuildContext(
        root,
        config,
        drafts=args.drafts,
        strict=args.strict,
        output=output,
        workers=default_workers(),
        use_cache=not args.no_cache,
    )
    result = build(ctx)
    for warning in result.warnings:
        _print_error(warning, "warning")
    for stage, seconds in result.timings.items():
        log.debug("  %-7s %.3fs", stage, seconds)
    log.debug("  content files: %d from cache, %d parsed", result.cache_hits, result.cache_misses)
    log.debug(
        "  outputs: %d rendered, %d unchanged since the last build",
        result.rendered,
        result.files - result.rendered,
    )
    if result.stats is not None:
        stats = result.stats
        log.debug(
            "  %d files written, %d unchanged, %d removed",
            stats.written,
            stats.unchanged,
            stats.removed,
        )
    log.info(result.summary())
    return 0


def _print_error(error: BroadsheetError, label: str | None = None) -> None:
    errors = error.errors if isinstance(error, ErrorList) else (error,)
    for item in errors:
        print(
            f"{item.location}: {label + ': ' if label else ''}{item.message}"
            if item.location
            else f"{label or 'error'}: {item.message}",
            file=sys.stderr,
        )


def _setup_logging(verbose: bool) -> None:
    """Send our own log lines (not our libraries') to stderr, one message per line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
