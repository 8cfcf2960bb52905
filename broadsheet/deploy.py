"""DEPLOY: commit the built site to the gh-pages branch and push it.

Input: the project root, its Config and DeployOptions. Output: a DeployResult naming the source
commit, the published commit and every state-changing git command (run, or in a dry run only
planned). The output folder is committed through a temporary index (GIT_INDEX_FILE) with
`git --work-tree=site`, so the user's working tree, index and current branch are never touched:
only refs/heads/<branch> moves. Every git command goes through one GitRunner, which tests
replace with a fake.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from broadsheet.config import CONFIG_FILE, Config
from broadsheet.errors import BroadsheetError, DeployError, ErrorList, SourceLocation
from broadsheet.manifest import MARKER, read_record
from broadsheet.sources import is_junk

log = logging.getLogger(__name__)

SOURCES = ("content", "templates", "static", CONFIG_FILE)  # what the site is built from


@dataclass(frozen=True)
class GitResult:
    """What one git command answered."""

    code: int  # exit status
    out: str  # standard output, as printed
    err: str  # standard error


class GitRunner(Protocol):
    """Runs one git command (without the leading 'git') in cwd, with extra environment."""

    def __call__(
        self, args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, stdin: str = ""
    ) -> GitResult: ...


def run_git(
    args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, stdin: str = ""
) -> GitResult:
    """Run git for real."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise DeployError("git is not installed or not on PATH") from exc
    return GitResult(done.returncode, done.stdout, done.stderr)


@dataclass(frozen=True)
class DeployOptions:
    """How `build.py deploy` publishes."""

    remote: str = "origin"  # where to push
    branch: str = "gh-pages"  # the branch GitHub Pages serves
    dry_run: bool = False  # only print what would be done
    force: bool = False  # publish even a stale site or one with uncommitted sources


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did, or in a dry run would do."""

    source: str  # the commit the site was built from
    commit: str | None  # the published branch commit; None in a dry run
    steps: tuple[str, ...]  # state-changing git commands, as one would type them
    warnings: tuple[BroadsheetError, ...]  # refusals overridden by --force
    dry_run: bool


def deploy_site(
    root: Path, config: Config, options: DeployOptions, git: GitRunner = run_git
) -> DeployResult:
    """Commit the output folder to options.branch and push it; refuse a stale or unsaved site."""
    output = Path(os.path.abspath(root / config.output_dir))  # built by us: stale_site checks
    source = _ask(git, root, "rev-parse", "--verify", "HEAD^{commit}")
    branch_ref = f"refs/heads/{options.branch}"
    if git(["symbolic-ref", "--quiet", "HEAD"], root).out.strip() == branch_ref:
        raise DeployError(f"you are on '{options.branch}'; switch to the branch you build from")
    unsaved = unsaved_sources(git, root)
    problems = stale_site(output, root) + not_for_publishing(output, root) + unsaved
    if problems and not options.force:
        raise ErrorList(problems)
    local = _tip(git, root, branch_ref)
    parent = local or _tip(git, root, f"refs/remotes/{options.remote}/{options.branch}")
    message = f"Publish site from {source}" + (" with uncommitted changes" if unsaved else "")
    steps = _Steps(git, root, options.dry_run)
    commit = _commit_site(steps, output, parent, message)
    steps.run("update-ref", "-m", message, branch_ref, commit, local or "")
    steps.run("push", options.remote, options.branch)
    return DeployResult(
        source,
        None if options.dry_run else commit,
        tuple(steps.done),
        tuple(problems),
        options.dry_run,
    )


def stale_site(output: Path, root: Path) -> list[BroadsheetError]:
    """Return why the output folder is not a build of the current sources, if it is not."""
    name = output.relative_to(root) if output.is_relative_to(root) else output
    marker = output / MARKER
    if not marker.is_file():
        return [DeployError(f"{name}/ was not built yet (no {MARKER}); run `python build.py`")]
    built = marker.stat().st_mtime_ns
    newer = sorted(p for p in _source_files(root) if p.stat().st_mtime_ns > built)
    return [
        DeployError(
            f"changed after {name}/ was built; run `python build.py` first (or deploy with --force)",
            SourceLocation(path.relative_to(root)),
        )
        for path in newer
    ]


def not_for_publishing(output: Path, root: Path) -> list[BroadsheetError]:
    """Say why a build is not one to publish: it shows drafts."""
    name = output.relative_to(root) if output.is_relative_to(root) else output
    if read_record(output).get("drafts"):
        return [
            DeployError(f"{name}/ was built with --drafts; run `python build.py` to leave them out")
        ]
    return []


def unsaved_sources(git: GitRunner, root: Path) -> list[BroadsheetError]:
    """Return one error per source file with uncommitted changes (untracked ones included)."""
    status = _ask(git, root, "status", "--porcelain", "--untracked-files=all", "--", *SOURCES)
    return [
        DeployError(
            "has uncommitted changes; commit them so the published site matches a commit"
            " (or deploy with --force)",
            SourceLocation(line[3:].split(" -> ")[-1]),
        )
        for line in status.splitlines()
        if line.strip()
    ]


def _source_files(root: Path) -> list[Path]:
    files = [root / CONFIG_FILE] if (root / CONFIG_FILE).is_file() else []
    for folder in SOURCES[:-1]:
        for path in (root / folder).rglob("*"):
            parts = path.relative_to(root).parts
            if path.is_file() and not any(is_junk(part) for part in parts):
                files.append(path)
    return files


def _ask(git: GitRunner, root: Path, *args: str) -> str:
    """Run a git command that must succeed; return its output without the final newline."""
    result = git(args, root)
    if result.code != 0:
        detail = result.err.strip() or result.out.strip() or f"exit status {result.code}"
        raise DeployError(f"`{shlex.join(['git', *args])}` failed: {detail}")
    return result.out.rstrip("\n")  # keep leading spaces: `git status --porcelain` needs them


def _tip(git: GitRunner, root: Path, ref: str) -> str | None:
    result = git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    return result.out.strip() if result.code == 0 else None


class _Steps:
    """Runs the state-changing git commands, or in a dry run only records them."""

    def __init__(self, git: GitRunner, root: Path, dry_run: bool) -> None:
        self.git, self.root, self.dry_run = git, root, dry_run
        self.done: list[str] = []

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, stdin: str = "", plan: str = ""
    ) -> str:
        """Run one command and return its output; in a dry run return `plan` instead."""
        prefix = "".join(f"{key}={shlex.quote(value)} " for key, value in (env or {}).items())
        self.done.append(prefix + shlex.join(["git", *args]))
        if self.dry_run:
            return plan
        result = self.git(args, self.root, env, stdin)
        if result.code != 0:
            detail = result.err.strip() or f"exit status {result.code}"
            raise DeployError(f"`{self.done[-1]}` failed: {detail}")
        return result.out.strip()


def _commit_site(steps: _Steps, output: Path, parent: str | None, message: str) -> str:
    """Commit the output folder's files (plus .nojekyll) on top of parent; return the commit."""
    folder = (
        nullcontext("<temporary folder>")
        if steps.dry_run
        else tempfile.TemporaryDirectory(prefix="broadsheet-deploy-")
    )
    with folder as temp:
        index = {"GIT_INDEX_FILE": f"{temp}/index"}
        pathspec = ("--", ":/", f":(top,exclude){MARKER}")
        steps.run("--work-tree", str(output), "add", "--all", "--force", *pathspec, env=index)
        empty = steps.run("hash-object", "-w", "--stdin", plan="<empty-blob>")
        steps.run("update-index", "--add", "--cacheinfo", f"100644,{empty},.nojekyll", env=index)
        tree = steps.run("write-tree", env=index, plan="<tree>")
    if (
        parent
        and not steps.dry_run
        and _ask(steps.git, steps.root, "rev-parse", f"{parent}^{{tree}}") == tree
    ):
        log.info("the site is unchanged since %s; nothing new to commit", parent[:12])
        return parent
    with_parent = ("-p", parent) if parent else ()
    return steps.run("commit-tree", tree, *with_parent, "-m", message, plan="<commit>")
