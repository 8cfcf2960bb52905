"""Output safety: unsafe output folders are refused untouched, and site/ is always one whole build.

Every case hashes the files it cares about before and after, so "nothing was touched" and "old
or new, never mixed" are checked on the bytes, not on the absence of an exception.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import broadsheet.write
from tests.conftest import MINIMAL_CONFIG, REPO, article
from tests.sitecheck import leftovers, manifest, run_build

ARTICLES = {
    "content/articles/2025-12-01-first.md": article("First", "2025-12-01T09:00:00+00:00"),
    "content/articles/2025-12-02-second.md": article("Second", tags="[world]"),
}
SECOND = "content/articles/2025-12-02-second.md"
FIRST = "content/articles/2025-12-01-first.md"


@pytest.fixture
def project(make_site) -> Path:
    return make_site(ARTICLES)


def edit(root: Path, text: str = "An edited body.") -> None:
    """Change one article so the next build differs from the last."""
    (root / SECOND).write_text(article("Second", tags="[world]", body=text), encoding="utf-8")


# (output folder, reason the refusal must give); "{home}" is a tmp folder above the project
UNSAFE = [
    (".", "it is the project folder or one of its parents"),
    ("..", "it is the project folder or one of its parents"),
    ("/", "it is the file system root"),
    ("{home}", "it is your home folder"),
    ("$HOME/x", "contains an unexpanded variable or '~'"),
    ("${OUT}", "contains an unexpanded variable or '~'"),
    ("~/x", "contains an unexpanded variable or '~'"),
    ("~", "contains an unexpanded variable or '~'"),
    ("content/..", "it is the project folder or one of its parents"),
    ("site/../..", "it is the project folder or one of its parents"),
    ("content", "it is inside content/"),
    ("content/site", "it is inside content/"),
    ("content/articles", "it is inside content/"),
    ("templates", "it is inside templates/"),
    ("static/out", "it is inside static/"),
]


@pytest.mark.parametrize(("folder", "reason"), UNSAFE)
@pytest.mark.parametrize("via", ["option", "config"])
def test_unsafe_output_folder_is_refused_before_anything_is_touched(
    project: Path, cli, tmp_path: Path, monkeypatch, folder: str, reason: str, via: str
) -> None:
    home = tmp_path if folder == "{home}" else tmp_path / "elsewhere"  # above the project
    monkeypatch.setenv("HOME", str(home))
    folder = folder.replace("{home}", str(tmp_path))
    if via == "config":
        (project / "config.yml").write_text(f"{MINIMAL_CONFIG}output_dir: '{folder}'\n")
    before = manifest(tmp_path)
    run = cli(project, "--output", folder) if via == "option" else cli(project)
    assert run.code == 3, run.err
    assert run.err.strip() == f"error: refusing output folder {folder!r}: {reason}" or (
        reason.startswith("contains")
        and run.err.strip() == f"error: output folder {folder!r} {reason}"
    ), run.err
    assert manifest(tmp_path) == before


def test_empty_output_option_is_refused(project: Path, cli, tmp_path: Path) -> None:
    before = manifest(tmp_path)
    run = cli(project, "--output", "")
    assert run.code == 3
    assert run.err.strip() == "error: output folder is empty; name a folder such as 'site'"
    assert manifest(tmp_path) == before


def test_empty_output_dir_in_config_is_a_config_error_with_its_line(
    project: Path, cli, tmp_path: Path
) -> None:
    (project / "config.yml").write_text(f"{MINIMAL_CONFIG}output_dir: ''\n")
    before = manifest(tmp_path)
    run = cli(project)
    assert run.code == 2
    assert run.err.strip() == "config.yml:6: 'output_dir' must not be empty"
    assert manifest(tmp_path) == before


def test_output_folder_that_is_a_symlink_is_refused(project: Path, cli, tmp_path: Path) -> None:
    (project / "elsewhere").mkdir()
    (project / "site").symlink_to(project / "elsewhere")
    run = cli(project)
    assert run.code == 3
    assert "refusing output folder 'site': it is not a plain folder" in run.err
    assert manifest(project / "elsewhere") == {}


@pytest.mark.parametrize("folder", ["site-old", "content-site", "../project-site", "sites/site"])
def test_sibling_with_a_common_prefix_is_allowed(project: Path, cli, folder: str) -> None:
    (project / "site").mkdir()
    (project / "site/keep.txt").write_text("the user's own file")
    run = cli(project, "--output", folder)
    assert run.code == 0, run.err
    assert (project / folder / "articles/second/index.html").is_file()
    assert manifest(project / "site") == {"keep.txt": manifest(project / "site")["keep.txt"]}


def test_non_empty_folder_without_marker_is_refused_and_kept(
    project: Path, cli, tmp_path: Path
) -> None:
    (project / "site/docs").mkdir(parents=True)
    (project / "site/docs/thesis.tex").write_text("years of work")
    before = manifest(tmp_path)
    run = cli(project)
    assert run.code == 3
    assert "refusing to replace 'site': it is not empty and was not made by Broadsheet" in run.err
    assert manifest(tmp_path) == before


@pytest.mark.parametrize("changed", [False, True], ids=["same-build", "new-build"])
def test_dot_entries_and_cname_survive_a_rebuild(project: Path, cli, changed: bool) -> None:
    assert cli(project).code == 0
    site = project / "site"
    (site / ".git/objects").mkdir(parents=True)
    (site / ".git/HEAD").write_text("ref: refs/heads/gh-pages\n")
    (site / ".gitignore").write_text("*.tmp\n")
    (site / "CNAME").write_text("news.example.org\n")
    kept = {k: v for k, v in manifest(site).items() if k.startswith(".git") or k == "CNAME"}
    if changed:
        edit(project)
    assert cli(project).code == 0
    after = manifest(site)
    assert {k: after.get(k) for k in kept} == kept
    assert (site / ".git/objects").is_dir()
    assert ("An edited body." in (site / "articles/second/index.html").read_text()) == changed


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_symlinks_in_the_output_are_never_followed(
    project: Path, cli, tmp_path: Path, change: str
) -> None:
    """Our paths that became links are replaced, links we did not make are unlinked: none is
    followed, so nothing outside changes."""
    outside = tmp_path / "outside"
    for name in ("second", "first"):
        (outside / "articles" / name).mkdir(parents=True)
        (outside / "articles" / name / "index.html").write_text("not ours")
    (outside / "precious.txt").write_text("keep me")
    assert cli(project).code == 0
    site = project / "site"
    (site / "linked").symlink_to(outside)
    (site / "index.html").unlink()
    (site / "index.html").symlink_to(outside / "precious.txt")
    shutil.rmtree(site / "articles")
    (site / "articles").symlink_to(outside / "articles")
    before = manifest(outside)
    if change == "edit":
        edit(project)
    else:
        (project / "content/articles/2025-12-01-first.md").unlink()
    run = cli(project)
    assert run.code == 0, run.err
    assert manifest(outside) == before
    assert not os.path.lexists(site / "linked")  # not ours: unlinked, not followed
    for path in [site / "index.html", site / "articles", site / "articles/second/index.html"]:
        assert not path.is_symlink(), path
    assert ("An edited body." in (site / "articles/second/index.html").read_text()) == (
        change == "edit"
    )
    assert not (site / "articles/first").exists() or change == "edit"


FAILING = "{% if article.slug == 'second' %}{{ undefined_name }}{% endif %}\n"


def test_template_error_on_one_page_leaves_site_untouched(project: Path, cli) -> None:
    assert cli(project).code == 0
    before = manifest(project / "site")
    template = project / "templates/article.html"
    lines = template.read_text().splitlines(keepends=True)
    lines.insert(9, FAILING)
    template.write_text("".join(lines))
    edit(project)
    run = cli(project)
    assert run.code == 1
    assert run.err.strip() == (
        "templates/article.html:10: error while rendering: 'undefined_name' is undefined"
    )
    assert manifest(project / "site") == before
    assert leftovers(project) == []


def _failing_open(error: int, project: Path):
    """An `os.open` that fails like the OS would on the first new file write.py creates in
    the output folder or its staging copies (site/, .site-*, .site.tmp-*)."""
    real = os.open

    def fake(path, flags, *args, **kwargs):
        place = Path(path).relative_to(project).parts[0] if project in Path(path).parents else ""
        if flags & os.O_EXCL and place.startswith(("site", ".site")):
            raise OSError(error, os.strerror(error), str(path))
        return real(path, flags, *args, **kwargs)

    return fake


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EIO])
@pytest.mark.parametrize("first", [False, True], ids=["rebuild", "first-build"])
def test_failed_write_leaves_site_untouched_with_a_clear_error(
    project: Path, cli, monkeypatch, error: int, first: bool
) -> None:
    if not first:
        assert cli(project).code == 0
    before = manifest(project / "site") if not first else None
    edit(project)
    monkeypatch.setattr(broadsheet.write.os, "open", _failing_open(error, project))
    run = cli(project)
    assert run.code == 3, run.err
    assert run.err.startswith(f"error: cannot write the site to site/: {os.strerror(error)} (")
    if first:
        assert not (project / "site").exists()
    else:
        assert manifest(project / "site") == before
    assert leftovers(project) == []


def test_a_disk_that_fills_while_a_page_is_written_names_the_page(
    project: Path, cli, monkeypatch
) -> None:
    """os.write's error names no file; the build's does."""
    real = os.write

    def full(handle: int, data: object) -> int:
        if "site.tmp-" in os.readlink(f"/proc/self/fd/{handle}"):  # a new page of this build
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(handle, data)  # type: ignore[arg-type]

    monkeypatch.setattr(broadsheet.write.os, "write", full)
    run = cli(project)
    assert run.code == 3, run.err
    assert re.fullmatch(
        r"error: cannot write the site to site/: No space left on device \(\S+\.site\.tmp-\S+\)\n",
        run.err,
    ), run.err
    assert not (project / "site").exists()
    assert leftovers(project) == []


def test_failure_before_the_commit_leaves_site_untouched(project: Path, cli, monkeypatch) -> None:
    assert cli(project).code == 0
    before = manifest(project / "site")
    edit(project)

    def refuse(path: Path, data: object) -> None:
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(broadsheet.write, "_write_manifest", refuse)
    run = cli(project)
    assert run.code == 3
    assert "cannot write the site to site/: Permission denied" in run.err
    assert manifest(project / "site") == before
    assert leftovers(project) == []


def test_second_build_waits_then_fails_clearly_while_the_lock_is_held(
    project: Path, cli, monkeypatch
) -> None:
    assert cli(project).code == 0
    before = manifest(project / "site")
    edit(project)
    monkeypatch.setattr(broadsheet.write, "LOCK_WAIT", 0.3)
    with open(project / ".site.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        run = cli(project)
    assert run.code == 3
    assert run.err.strip() == "error: another build is still writing site/; try again when it ends"
    assert manifest(project / "site") == before
    assert cli(project).code == 0  # and once the lock is free, the build goes through


def test_two_builds_at_once_both_finish_and_never_interleave(make_site, tmp_path: Path) -> None:
    root = make_site(many_articles(120))
    reference = tmp_path / "reference"
    assert run_build(root, "--output", str(reference)).returncode == 0
    children = [_start_build(root) for _ in range(3)]
    for child in children:
        assert child.wait(timeout=120) == 0, child.stderr.read() if child.stderr else ""
        if child.stderr:
            child.stderr.close()
    assert manifest(root / "site") == manifest(reference)
    assert leftovers(root) == []


def many_articles(count: int, edited: int | None = None) -> dict[str, str]:
    """`count` articles over a month; article number `edited` has a different body."""
    files = {}
    for n in range(count):
        day = 1 + n % 28
        body = "Edited body." if n == edited else f"Body of article {n}.\n\nSecond paragraph."
        files[f"content/articles/2025-11-{day:02d}-story-{n}.md"] = article(
            f"Story {n}", f"2025-11-{day:02d}T{n % 24:02d}:00:00+00:00", body, tags="[world, ai]"
        )
    return files


def _start_build(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(REPO / "build.py")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_old_or_new_build(make_site, tmp_path: Path) -> None:
    count, edited = 200, 7
    versions = {
        "A": many_articles(count),
        "B": many_articles(count, edited),
    }
    root = make_site(versions["A"])
    manifests = {}
    for name, files in versions.items():
        for path, text in files.items():
            (root / path).write_text(text, encoding="utf-8")
        started = time.monotonic()
        assert run_build(root).returncode == 0
        duration = time.monotonic() - started
        manifests[name] = manifest(root / "site")
    assert manifests["A"] != manifests["B"]
    current, rng = "B", random.Random(20251202)
    for _ in range(15):
        target = "A" if current == "B" else "B"
        edited_path = f"content/articles/2025-11-{1 + edited % 28:02d}-story-{edited}.md"
        (root / edited_path).write_text(versions[target][edited_path], encoding="utf-8")
        child = _start_build(root)
        time.sleep(rng.uniform(0.1, duration * 1.1))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if child.stderr:
            child.stderr.close()
        now = manifest(root / "site")
        assert now in (manifests["A"], manifests["B"]), "site/ is a mix of two builds"
        current = "A" if now == manifests["A"] else "B"
    assert run_build(root).returncode == 0
    assert manifest(root / "site") == manifests[target]
    assert leftovers(root) == []


def test_removing_a_page_never_deletes_through_a_linked_folder(
    project: Path, cli, tmp_path: Path
) -> None:
    """site/articles moved elsewhere and linked back: removals must not reach the copy."""
    assert cli(project).code == 0
    site = project / "site"
    shutil.move(site / "articles", tmp_path / "moved")
    (site / "articles").symlink_to(tmp_path / "moved")
    before = manifest(tmp_path / "moved")
    (project / "content/articles/2025-12-01-first.md").unlink()
    run = cli(project)
    assert run.code == 0, run.err
    assert manifest(tmp_path / "moved") == before


class Killed(BaseException):
    """Stands for SIGKILL at one exact moment: nothing after it runs."""


# Every call through which write.py changes the file system; the kill lands on the k-th.
MUTATIONS = ["replace", "rename", "link", "unlink", "rmdir", "mkdir"]


def _prepared(project: Path, cli, tmp_path: Path, spare: bool) -> tuple[dict, dict]:
    """Leave `project` built, with an edit pending; return the old and the new build's hashes.

    With `spare` the project has been rebuilt once already, so the spare copy exists.
    """
    assert cli(project).code == 0
    if spare:
        edit(project, "A first edit.")
        assert cli(project).code == 0
    old = manifest(project / "site")
    (project / FIRST).unlink()
    edit(project, "The final edit.")
    assert cli(project, "--output", str(tmp_path / "new")).code == 0
    return old, manifest(tmp_path / "new")


def _build_killed_at(project: Path, cli, step: int) -> bool:
    """Build with a kill at the `step`-th file system change; tell whether it was reached."""
    calls = [0]

    def counting(real):
        def call(*args, **kwargs):
            calls[0] += 1
            if calls[0] == step:
                raise Killed
            return real(*args, **kwargs)

        return call

    with pytest.MonkeyPatch.context() as patch:
        for name in MUTATIONS:
            patch.setattr(broadsheet.write.os, name, counting(getattr(os, name)))
        patch.setattr(broadsheet.write, "_exchange", counting(broadsheet.write._exchange))
        try:
            cli(project)
        except Killed:
            return True
    return False


@pytest.mark.parametrize("spare", [False, True], ids=["first-rebuild", "later-rebuild"])
def test_build_killed_at_any_step_leaves_old_or_new_then_recovers(
    make_site, cli, tmp_path: Path, spare: bool
) -> None:
    """Kill a rebuild at every single file system change it makes, one run per step."""
    template = make_site(ARTICLES, folder="template")
    old, new = _prepared(template, cli, tmp_path, spare)
    for step in range(1, 400):
        project = tmp_path / f"step-{step}"
        shutil.copytree(template, project, symlinks=True)
        if not _build_killed_at(project, cli, step):
            assert manifest(project / "site") == new
            break
        assert manifest(project / "site") in (old, new), f"site/ is a mix after step {step}"
        assert cli(project).code == 0
        assert manifest(project / "site") == new, f"no recovery after a kill at step {step}"
        assert leftovers(project) == []
        shutil.rmtree(project)
    else:
        raise AssertionError("the build made more than 400 changes to the file system")
    assert step > 5  # the kill did land inside the build


def test_a_stale_spare_whose_deletion_is_killed_is_deleted_by_the_next_build(
    make_site, cli, tmp_path: Path
) -> None:
    """A killed build leaves the spare out of step; the next build deletes and remakes it. Kill
    that deletion at every step: the build after must still take the spare for ours."""
    template = make_site(ARTICLES, folder="template")
    _, new = _prepared(template, cli, tmp_path, spare=True)
    spare = template / ".site-spare"
    (spare / ".broadsheet-site").write_text('{"about": "spare copy, being changed"}')
    files = sum(len(names) + len(folders) for _, folders, names in os.walk(spare))
    for step in range(1, files + 2):
        project = tmp_path / f"step-{step}"
        shutil.copytree(template, project, symlinks=True)
        _build_killed_at(project, cli, step)
        run = cli(project)
        assert run.code == 0, f"after a kill at step {step}: {run.err}"
        assert manifest(project / "site") == new
        assert leftovers(project) == []
        shutil.rmtree(project)


@pytest.mark.parametrize("cut_after", [1, 2], ids=["first-rename", "second-rename"])
def test_a_swap_cut_short_without_renameat2_is_put_right(
    project: Path, cli, tmp_path: Path, cut_after: int
) -> None:
    """Where the system cannot exchange folders atomically, three renames stand in for it; a
    build killed between them must not lose the old site or leave the new one half-named."""
    old, new = _prepared(project, cli, tmp_path, spare=True)
    real, calls = os.rename, [0]

    def rename(src, dst, *args, **kwargs):
        real(src, dst, *args, **kwargs)
        calls[0] += 1
        if calls[0] == cut_after:
            raise Killed

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(broadsheet.write, "_exchange", lambda a, b: False)
        patch.setattr(broadsheet.write.os, "rename", rename)
        with pytest.raises(Killed):
            cli(project)
    broadsheet.write._recover(project / "site")  # what the next build does first
    assert manifest(project / "site") in (old, new)
    assert cli(project).code == 0
    assert manifest(project / "site") == new
    assert leftovers(project) == [] and not (project / ".site-swapping").exists()
