"""`build.py deploy`: the gh-pages branch gets the built site, and nothing else changes."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from broadsheet.config import load_config
from broadsheet.deploy import DeployOptions, GitResult, deploy_site
from broadsheet.errors import BroadsheetError, DeployError
from broadsheet.write import MARKER

SOURCE = "1111111111111111111111111111111111111111"
OLD_PAGES = "2222222222222222222222222222222222222222"
READ_ONLY = {"rev-parse", "symbolic-ref", "status"}


class FakeGit:
    """A GitRunner that answers from a script and records every command with its index file."""

    def __init__(self, answers: Mapping[str, GitResult | str] | None = None) -> None:
        self.answers = {
            "rev-parse --verify HEAD^{commit}": f"{SOURCE}\n",
            "symbolic-ref --quiet HEAD": "refs/heads/main\n",
            "rev-parse --verify --quiet refs/heads/gh-pages^{commit}": GitResult(1, "", ""),
            "rev-parse --verify --quiet refs/remotes/origin/gh-pages^{commit}": GitResult(
                1, "", ""
            ),
            "hash-object -w --stdin": "e69de29\n",
            "write-tree": "7ree\n",
            "commit-tree": "c0mm1t\n",
            **(answers or {}),
        }
        self.calls: list[str] = []

    def __call__(
        self, args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, stdin: str = ""
    ) -> GitResult:
        command = " ".join(args)
        index = (env or {}).get("GIT_INDEX_FILE")
        self.calls.append(f"[temp index] {command}" if index else command)
        for key, answer in self.answers.items():
            if command == key or command.startswith(key + " "):
                return GitResult(0, answer, "") if isinstance(answer, str) else answer
        return GitResult(0, "", "")

    def commands(self) -> list[str]:
        """The subcommands run, e.g. ['rev-parse', 'status', ...]."""
        return [call.removeprefix("[temp index] ").split()[0] for call in self.calls]


def on_existing_branch(branch: str, old_tree: str) -> FakeGit:
    """A FakeGit where `branch` exists at OLD_PAGES with the tree `old_tree`."""
    return FakeGit(
        {
            f"rev-parse --verify --quiet refs/heads/{branch}^{{commit}}": f"{OLD_PAGES}\n",
            f"rev-parse {OLD_PAGES}^{{tree}}": f"{old_tree}\n",
        }
    )


@pytest.fixture
def built(make_site: Callable[..., Path]) -> Path:
    """A small project with a fresh build in site/."""
    root = make_site(
        {"content/articles/2025-12-02-a.md": "---\ntitle: A\ndate: 2025-12-02\n---\nA\n"}
    )
    output = root / "site"
    output.mkdir()
    (output / "index.html").write_text("<!doctype html>")
    (output / MARKER).touch()
    future = (output / MARKER).stat().st_mtime + 60
    os.utime(output / MARKER, (future, future))
    return root


def deploy(root: Path, git: FakeGit, **options: bool | str) -> tuple[str, ...]:
    result = deploy_site(root, load_config(root), DeployOptions(**options), git)  # type: ignore[arg-type]
    return result.steps


def test_first_deploy_commits_site_to_new_branch_and_pushes(built: Path) -> None:
    git = FakeGit()
    deploy(built, git)
    site = built / "site"
    assert git.calls == [
        "rev-parse --verify HEAD^{commit}",
        "symbolic-ref --quiet HEAD",
        "status --porcelain --untracked-files=all -- content templates static config.yml",
        "rev-parse --verify --quiet refs/heads/gh-pages^{commit}",
        "rev-parse --verify --quiet refs/remotes/origin/gh-pages^{commit}",
        f"[temp index] --work-tree {site} add --all --force -- :/ :(top,exclude){MARKER}",
        "hash-object -w --stdin",
        "[temp index] update-index --add --cacheinfo 100644,e69de29,.nojekyll",
        "[temp index] write-tree",
        f"commit-tree 7ree -m Publish site from {SOURCE}",
        f"update-ref -m Publish site from {SOURCE} refs/heads/gh-pages c0mm1t ",
        "push origin gh-pages",
    ]


def test_deploy_builds_on_the_existing_branch_with_its_remote_and_name(built: Path) -> None:
    git = on_existing_branch("site", old_tree="01d7ree")
    deploy(built, git, remote="upstream", branch="site")
    assert git.calls[-4:] == [
        f"rev-parse {OLD_PAGES}^{{tree}}",
        f"commit-tree 7ree -p {OLD_PAGES} -m Publish site from {SOURCE}",
        f"update-ref -m Publish site from {SOURCE} refs/heads/site c0mm1t {OLD_PAGES}",
        "push upstream site",
    ]


def test_deploy_of_an_unchanged_site_makes_no_new_commit(built: Path) -> None:
    git = on_existing_branch("gh-pages", old_tree="7ree")  # the tree write-tree gives
    deploy(built, git)
    assert "commit-tree" not in git.commands()
    assert git.calls[-1] == "push origin gh-pages"


def test_dry_run_runs_only_read_only_commands_and_lists_the_plan(built: Path) -> None:
    git = FakeGit()
    steps = deploy(built, git, dry_run=True)
    assert set(git.commands()) <= READ_ONLY
    index = "GIT_INDEX_FILE='<temporary folder>/index'"
    site = shlex.quote(str(built / "site"))
    assert steps == (
        f"{index} git --work-tree {site} add --all --force -- :/ ':(top,exclude){MARKER}'",
        "git hash-object -w --stdin",
        f"{index} git update-index --add --cacheinfo '100644,<empty-blob>,.nojekyll'",
        f"{index} git write-tree",
        f"git commit-tree '<tree>' -m 'Publish site from {SOURCE}'",
        f"git update-ref -m 'Publish site from {SOURCE}' refs/heads/gh-pages '<commit>' ''",
        "git push origin gh-pages",
    )


def test_refuses_a_site_that_was_never_built(built: Path) -> None:
    (built / "site" / MARKER).unlink()
    git = FakeGit()
    with pytest.raises(BroadsheetError, match="was not built yet"):
        deploy(built, git)
    assert set(git.commands()) <= READ_ONLY


def test_refuses_a_site_older_than_its_sources(built: Path) -> None:
    template = built / "templates" / "base.html"
    later = (built / "site" / MARKER).stat().st_mtime + 10
    os.utime(template, (later, later))
    git = FakeGit()
    with pytest.raises(BroadsheetError) as caught:
        deploy(built, git)
    assert "templates/base.html: changed after site/ was built" in str(caught.value)
    assert set(git.commands()) <= READ_ONLY


def test_refuses_uncommitted_content_and_force_publishes_it_with_a_note(built: Path) -> None:
    status = " M content/articles/2025-12-02-a.md\n?? content/articles/new.md\n"
    git = FakeGit({"status --porcelain": status})
    with pytest.raises(BroadsheetError) as caught:
        deploy(built, git)
    message = str(caught.value)
    assert "content/articles/2025-12-02-a.md: has uncommitted changes" in message
    assert "content/articles/new.md: has uncommitted changes" in message
    assert set(git.commands()) <= READ_ONLY
    forced = FakeGit({"status --porcelain": status})
    deploy(built, forced, force=True)
    assert (
        f"commit-tree 7ree -m Publish site from {SOURCE} with uncommitted changes" in forced.calls
    )


def test_refuses_to_deploy_from_the_pages_branch_itself(built: Path) -> None:
    git = FakeGit({"symbolic-ref --quiet HEAD": "refs/heads/gh-pages\n"})
    with pytest.raises(DeployError, match="you are on 'gh-pages'"):
        deploy(built, git)


def test_a_failed_push_is_reported_with_gits_words(built: Path) -> None:
    git = FakeGit({"push": GitResult(1, "", "! [rejected] gh-pages -> gh-pages (fetch first)")})
    with pytest.raises(DeployError, match=r"git push origin gh-pages.*fetch first"):
        deploy(built, git)


def git_in(folder: Path, *args: str) -> str:
    """Run real git in folder; return its output."""
    done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(sample_site: Path, tmp_path: Path, cli: Callable) -> Path:
    """The sample project as a git repository on main with a bare 'origin', built."""
    remote = tmp_path / "remote.git"
    git_in(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(remote))
    (sample_site / ".gitignore").write_text("/site/\n")
    for args in (
        ("init", "--quiet", "-b", "main"),
        ("config", "user.name", "Test Curator"),
        ("config", "user.email", "curator@example.org"),
        ("config", "commit.gpgsign", "false"),
        ("remote", "add", "origin", str(remote)),
        ("add", "."),
        ("commit", "--quiet", "-m", "Sample site"),
    ):
        git_in(sample_site, *args)
    assert cli(sample_site, "build", "--no-import").code == 0
    return sample_site


def test_deploy_publishes_site_to_gh_pages_and_touches_nothing_else(
    repo: Path, cli: Callable
) -> None:
    remote = repo.parent / "remote.git"
    head = git_in(repo, "rev-parse", "HEAD")
    (repo / "notes.txt").write_text("work in progress, not content\n")
    git_in(repo, "add", "notes.txt")  # staged: the user's index must survive the deploy
    before = (git_in(repo, "status", "--porcelain"), git_in(repo, "symbolic-ref", "HEAD"))

    run = cli(repo, "deploy")

    assert run.code == 0, run.err
    assert (git_in(repo, "status", "--porcelain"), git_in(repo, "symbolic-ref", "HEAD")) == before
    assert git_in(repo, "rev-parse", "HEAD") == head
    published = set(git_in(remote, "ls-tree", "-r", "--name-only", "gh-pages").splitlines())
    built = {p.relative_to(repo / "site").as_posix() for p in (repo / "site").rglob("*")}
    built = {name for name in built if (repo / "site" / name).is_file()}
    assert published == (built - {MARKER}) | {".nojekyll"}
    assert "index.html" in published and "static/css/style.css" in published
    message = git_in(remote, "log", "-1", "--format=%s", "gh-pages")
    assert message == f"Publish site from {head}"
    assert (
        git_in(remote, "show", "gh-pages:index.html")
        == (repo / "site/index.html").read_text().strip()
    )


def test_second_deploy_builds_on_the_first_and_skips_an_unchanged_site(
    repo: Path, cli: Callable
) -> None:
    remote = repo.parent / "remote.git"
    assert cli(repo, "deploy").code == 0
    first = git_in(remote, "rev-parse", "gh-pages")
    assert cli(repo, "deploy").code == 0
    assert git_in(remote, "rev-parse", "gh-pages") == first  # nothing new to publish
    about = repo / "content" / "pages" / "about.md"
    about.write_text(about.read_text() + "\nOne more line.\n")
    git_in(repo, "commit", "--quiet", "-am", "Longer About page")
    assert cli(repo, "build", "--no-import").code == 0
    assert cli(repo, "deploy").code == 0
    assert git_in(remote, "rev-parse", "gh-pages^") == first
    assert "One more line." in git_in(remote, "show", "gh-pages:about/index.html")


def test_dry_run_changes_no_ref_and_writes_no_object(repo: Path, cli: Callable) -> None:
    objects = sorted(str(p) for p in (repo / ".git" / "objects").rglob("*"))
    run = cli(repo, "deploy", "--dry-run")
    assert run.code == 0, run.err
    assert "git push origin gh-pages" in run.out
    assert git_in(repo, "branch", "--list", "gh-pages") == ""
    assert sorted(str(p) for p in (repo / ".git" / "objects").rglob("*")) == objects


def test_cli_refuses_uncommitted_content_and_a_stale_site_with_exit_1(
    repo: Path, cli: Callable
) -> None:
    article = next((repo / "content" / "articles").glob("*.md"))
    article.write_text(article.read_text() + "\nAn edit.\n")
    run = cli(repo, "deploy")
    assert run.code == 1
    name = article.relative_to(repo).as_posix()
    assert f"{name}: changed after site/ was built" in run.err
    assert f"{name}: has uncommitted changes" in run.err
    assert git_in(repo, "branch", "--list", "gh-pages") == ""


def test_a_site_built_with_drafts_is_not_published(repo: Path, cli: Callable) -> None:
    assert cli(repo, "build", "--no-import", "--drafts").code == 0
    run = cli(repo, "deploy")
    assert run.code == 1
    assert "site/ was built with --drafts; run `python build.py` to leave them out" in run.err
    assert git_in(repo, "branch", "--list", "gh-pages") == ""
    assert cli(repo, "build", "--no-import").code == 0
    assert cli(repo, "deploy", "--dry-run").code == 0


def test_unchanged_rebuild_makes_the_site_fresh_again(repo: Path, cli: Callable) -> None:
    marker = repo / "site" / MARKER
    earlier = marker.stat().st_mtime - 60
    os.utime(marker, (earlier, earlier))  # sources rewritten since, with the same text
    assert cli(repo, "deploy", "--dry-run").code == 1
    assert cli(repo, "build", "--no-import").code == 0
    assert cli(repo, "deploy", "--dry-run").code == 0


def test_cname_setting_writes_cname_and_it_is_published(repo: Path, cli: Callable) -> None:
    config = repo / "config.yml"
    config.write_text(config.read_text() + "cname: news.example.org\n")
    git_in(repo, "commit", "--quiet", "-am", "Custom domain")
    assert cli(repo, "build", "--no-import", "--base-url", "https://news.example.org/").code == 0
    assert (repo / "site" / "CNAME").read_text() == "news.example.org\n"
    assert cli(repo, "deploy").code == 0
    remote = repo.parent / "remote.git"
    assert git_in(remote, "show", "gh-pages:CNAME") == "news.example.org"


def test_no_cname_file_without_the_setting(repo: Path) -> None:
    assert not (repo / "site" / "CNAME").exists()
