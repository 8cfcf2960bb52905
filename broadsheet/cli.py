"""Command line: build (the default), import, serve, deploy, daemon.

The only module that catches BroadsheetError, prints it and picks the exit code: 0 success,
1 content or template errors, 2 configuration or usage errors, 3 an unsafe output folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from broadsheet import __version__
from broadsheet.config import load_config
from broadsheet.daemon import enabled as daemon_enabled
from broadsheet.errors import BroadsheetError, ErrorList
from broadsheet.manifest import check_output_dir
from broadsheet.model import BuildContext
from broadsheet.parallel import default_workers
from broadsheet.pipeline import build

if TYPE_CHECKING:
    from broadsheet.config import Config
    from broadsheet.importer import ImportReport

log = logging.getLogger("broadsheet")
COMMANDS = ("build", "import", "serve", "deploy", "daemon")


def run(argv: Sequence[str]) -> NoReturn:
    """The process entry point: main(), then exit at once.

    A build leaves millions of objects behind; freeing them one by one on the way out takes
    longer than an incremental build itself, and the operating system reclaims the memory
    anyway. Every file is closed and every cleanup has run when main() returns, so only the
    output streams need flushing.
    """
    code = main(argv)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str], root: Path | None = None) -> int:
    """Run one command; return the process exit code."""
    argv = list(argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "build")
    args = _parser(argv[0]).parse_args(argv)
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


def _parser(command: str) -> argparse.ArgumentParser:
    """The command line; the importer's modules load only when its command is the one run."""
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
    p.add_argument(
        "--no-daemon",
        action="store_true",
        help="build in this process and leave no daemon holding the site for the next build",
    )
    p.set_defaults(run=_run_build)

    p = sub.add_parser("import", parents=[common], help="turn copied news text into articles")
    if command == "import":
        from broadsheet import importer

        importer.add_import_arguments(p)
    p.set_defaults(run=_run_import)

    p = sub.add_parser("serve", parents=[common], help="preview the site with live reload")
    _add_build_options(p)
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--open", action="store_true", help="open the preview in the web browser")
    p.add_argument("--no-import", action="store_true", help="do not import content/inbox/ first")
    p.set_defaults(run=_run_serve)

    p = sub.add_parser(
        "deploy", parents=[common], help="commit the built site to the gh-pages branch and push"
    )
    p.add_argument("--remote", default="origin", help="remote to push to (default: origin)")
    p.add_argument("--branch", default="gh-pages", help="branch to publish (default: gh-pages)")
    p.add_argument("--dry-run", action="store_true", help="print what would be done, do nothing")
    p.add_argument(
        "--force", action="store_true", help="publish even if site/ is stale or sources unsaved"
    )
    p.set_defaults(run=_run_deploy)

    p = sub.add_parser(
        "daemon",
        parents=[common],
        help="tell about the build daemon that holds the site, or stop it",
    )
    p.add_argument(
        "action", nargs="?", default="status", choices=("status", "stop"), help="status or stop"
    )
    p.set_defaults(run=_run_daemon)
    return parser


def _add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--drafts", action="store_true", help="include articles marked draft")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--base-url", help="override base_url, e.g. https://user.github.io/repo/")


def _run_import(args: argparse.Namespace, root: Path) -> int:
    from broadsheet import importer

    config = load_config(root)
    report = importer.import_files(
        args.files, importer.options_from_args(args, root, config), config, root
    )
    _print_import(report)
    return 1 if report.errors else 0


def _print_import(report: ImportReport) -> None:
    """Written files on stdout; warnings and errors on stderr."""
    from broadsheet import importer

    for line in importer.format_report(report):
        if line.startswith(("wrote ", "would write ")) or ": already imported as " in line:
            print(line)
    for warning in report.warnings:
        _print_error(warning, "warning")
    for error in report.errors:
        _print_error(error)


def _run_build(args: argparse.Namespace, root: Path) -> int:
    config = load_config(root, args.base_url)
    # checked as typed (Path("") would be "."), and before the inbox import writes anything
    output = check_output_dir(args.output if args.output is not None else config.output_dir, root)
    inbox_failed = _import_inbox(args, root, config)
    ctx = BuildContext(
        root,
        config,
        drafts=args.drafts,
        strict=args.strict,
        output=output,
        workers=default_workers(),
        use_cache=not args.no_cache,
        daemon=not args.no_daemon and daemon_enabled(),
    )
    result = build(ctx)
    for warning in result.warnings:
        _print_error(warning, "warning")
    for stage, seconds in result.timings.items():
        log.debug("  %-7s %.3fs", stage, seconds)
    if result.updated:
        log.debug(
            "  plan: the last build's, updated for %d files parsed again", result.cache_misses
        )
    else:
        log.debug(
            "  content files: %d from cache, %d parsed", result.cache_hits, result.cache_misses
        )
    log.debug(
        "  outputs: %d rendered, %d unchanged since the last build",
        len(result.rendered),
        result.files - len(result.rendered),
    )
    stats = result.stats
    log.debug(
        "  %d files written, %d unchanged, %d removed",
        stats.written,
        stats.unchanged,
        stats.removed,
    )
    log.info(result.summary())
    if inbox_failed:
        log.info("some files in content/inbox/ could not be imported; they are still there")
        return 1
    return 0


def _run_daemon(args: argparse.Namespace, root: Path) -> int:
    from broadsheet.daemon import control

    return control(args.action, root)


def _run_deploy(args: argparse.Namespace, root: Path) -> int:
    from broadsheet.deploy import DeployOptions, deploy_site, run_git

    options = DeployOptions(args.remote, args.branch, dry_run=args.dry_run, force=args.force)
    config = load_config(root)
    result = deploy_site(root, config, options, run_git)
    for warning in result.warnings:
        _print_error(warning, "warning")
    if result.dry_run:
        print(f"Dry run: would publish {config.output_dir}/ built from {result.source[:12]}:")
        print("\n".join(f"  {step}" for step in result.steps))
        return 0
    log.info(
        "published %s/ from %s as %s on %s and pushed it to %s",
        config.output_dir,
        result.source[:12],
        (result.commit or "")[:12],
        args.branch,
        args.remote,
    )
    return 0


def _import_inbox(args: argparse.Namespace, root: Path, config: Config) -> bool:
    """Import content/inbox/ unless --no-import; tell whether a file failed."""
    if args.no_import or not (root / "content" / "inbox").is_dir():
        return False
    from broadsheet import importer  # the importer's modules load only when there is an inbox
    from broadsheet.rawinput import inbox_files
    from broadsheet.snapshot import in_daemon, refuse_full_build

    if in_daemon() and inbox_files(root / "content" / "inbox", root)[0]:
        refuse_full_build()  # the build daemon does not import: new articles need a full build
    report = importer.import_inbox(root, config)
    _print_import(report)
    return bool(report.errors)


def _run_serve(args: argparse.Namespace, root: Path) -> int:
    from broadsheet.preview import PreviewOptions
    from broadsheet.server import serve  # imports tornado and livereload: only when serving

    _import_inbox(args, root, load_config(root, args.base_url))
    options = PreviewOptions(root, args.base_url, drafts=args.drafts, strict=args.strict)
    serve(options, port=args.port, host=args.host, open_browser=args.open)
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
