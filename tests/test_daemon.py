"""The build daemon: after a full build, `python build.py` runs in the process that holds that
build's plan in memory when all that changed is what articles say; it writes exactly what a full
build writes, declines anything else (the command then builds in full, as without a daemon),
answers no one else, and goes away when its project does."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadsheet import daemon
from tests.conftest import REPO, wait_for_writer
from tests.test_snapshot import A_PAGE, A, assert_matches_a_full_build, edit, settle

ANSWERED = re.compile(r"daemon: process (\d+) had the plan in memory")


class Project:
    """The sample project, built by `python build.py` processes that may leave a daemon."""

    def __init__(self, root: Path, sockets: Path) -> None:
        self.root = root
        self.sockets = sockets  # TMPDIR of the builds: the daemon's socket folder is in it
        self.environment = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "TMPDIR": str(sockets),
            "BROADSHEET_DAEMON": "1",
        }

    def build(
        self, *args: str, umask: int = 0o022, **environment: str
    ) -> subprocess.CompletedProcess[str]:
        return self.command("-v", *args, umask=umask, **environment)

    def command(
        self, *args: str, umask: int = 0o022, **environment: str
    ) -> subprocess.CompletedProcess[str]:
        finished = subprocess.run(
            [sys.executable, str(REPO / "build.py"), *args],
            cwd=self.root,
            env={**self.environment, **environment},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=lambda: os.umask(umask),
        )
        self.wait_for_daemon()
        return finished

    def socket(self) -> Path:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("TMPDIR", str(self.sockets))
            path = daemon.socket_path(str(self.root))
        return Path(path) if path else self.sockets / "no-socket-folder-yet"

    def made_with(self, **changes: object) -> dict:
        """What a `python build.py` of this project sends the daemon as its making."""
        code = "import json, broadsheet.daemon as d; print(json.dumps(d.made_with()))"
        printed = subprocess.run(
            [sys.executable, "-c", code],
            cwd=self.root,
            env=self.environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return {**json.loads(printed), **changes}

    def wait_for_daemon(self) -> None:
        """Wait until a daemon a full build left is listening (it first writes the plan)."""
        wait_for_writer(self.root)

    def request(self, message: dict) -> dict:
        """What this project's daemon answers to `message`, as the asking command gets it."""
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("TMPDIR", str(self.sockets))
            return daemon._request(str(self.root), message)

    def pid(self) -> int | None:
        """The daemon's process id, from its socket's peer (None if none listens)."""
        path = self.socket()
        if not path.exists():
            return None
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            try:
                connection.connect(str(path))
            except OSError:
                return None
            credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
            return int.from_bytes(credentials[:4], sys.byteorder)

    def stop(self) -> None:
        try:
            pid = self.request({"stop": True})["stopped"]
        except (OSError, ValueError):
            return
        wait_for_exit(pid)


def wait_for_exit(pid: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().split(") ", 1)[1].startswith("Z"):
                    return  # exited; its parent (init, here) has not reaped it yet
        except (ProcessLookupError, FileNotFoundError):
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} is still running")


def is_running(pid: int) -> bool:
    try:
        wait_for_exit(pid, seconds=0)
    except AssertionError:
        return True
    return False


@pytest.fixture
def project(sample_site: Path, tmp_path: Path) -> Iterator[Project]:
    sockets = tmp_path / "tmp"
    sockets.mkdir()
    settle(sample_site)
    built = Project(sample_site, sockets)
    try:
        yield built
    finally:
        built.stop()


@pytest.fixture
def served(project: Project) -> Project:
    """A project built in full once, its daemon listening."""
    first = project.build()
    assert first.returncode == 0, first.stderr
    assert not ANSWERED.search(first.stderr)
    assert project.pid() is not None
    return project


def test_an_edit_build_is_answered_by_the_daemon_and_matches_a_full_build(
    served: Project, tmp_path: Path
) -> None:
    daemon_pid = served.pid()
    edit(served.root, A, "faint comet", "faint, slow comet")
    again = served.build()
    assert again.returncode == 0, again.stderr
    answered = ANSWERED.search(again.stderr)
    assert answered and int(answered.group(1)) == daemon_pid
    assert "1 files written" in again.stderr
    assert "built 16 articles" in again.stderr  # what the command prints reaches its caller
    assert "faint, slow comet" in (served.root / "site" / A_PAGE).read_text()
    assert_matches_a_full_build(served.root, tmp_path / "scratch")


def test_edits_in_a_row_stay_with_one_daemon_and_add_up(served: Project, tmp_path: Path) -> None:
    daemon_pid = served.pid()
    for number in range(3):
        edit(served.root, A, "faint comet", f"faint comet ({number})")
        again = served.build()
        assert again.returncode == 0, again.stderr
        assert ANSWERED.search(again.stderr), again.stderr
    assert served.pid() == daemon_pid
    unchanged = served.build()
    assert "0 files written" in unchanged.stderr
    assert_matches_a_full_build(served.root, tmp_path / "scratch")


def test_a_page_deleted_by_hand_is_written_again(served: Project) -> None:
    (served.root / "site" / A_PAGE).unlink()
    edit(served.root, A, "faint comet", "faint, slow comet")
    again = served.build()
    assert ANSWERED.search(again.stderr)
    assert "faint, slow comet" in (served.root / "site" / A_PAGE).read_text()


@pytest.mark.parametrize(
    "change",
    ["new article", "template", "tags", "settings", "environment", "inbox"],
)
def test_what_is_not_an_edit_of_articles_is_declined_and_built_in_full(
    served: Project, tmp_path: Path, change: str
) -> None:
    old_pid = served.pid()
    assert old_pid is not None
    root, args, environment = served.root, [], {}
    if change == "new article":
        shutil.copy(root / A, root / "content/articles/2025-12-02-the-same-comet-again.md")
    elif change == "template":
        edit(root, "templates/article.html", "</article>", "<p>Read on.</p></article>")
    elif change == "tags":
        edit(root, A, "tags: [ai, ", "tags: [comets, ai, ")
    elif change == "settings":
        args = ["--drafts"]
    elif change == "environment":
        environment = {"SOURCE_DATE_EPOCH": "1700000000"}
    else:
        (root / "content/inbox").mkdir()
        shutil.copy(REPO / "tests/fixtures/import/two_articles.txt", root / "content/inbox")
    again = served.build(*args, **environment)
    assert again.returncode == 0, again.stderr
    assert "daemon: declined" in again.stderr
    if change == "inbox":  # imported by the command itself: its report is shown
        assert "wrote content/articles/" in again.stdout
    assert not ANSWERED.search(again.stderr)
    wait_for_exit(old_pid)  # it declined, and left: the full build left a new daemon
    if change not in ("inbox", "settings"):  # not the site a plain full build makes
        assert_matches_a_full_build(root, tmp_path / "scratch")
    new_pid = served.pid()
    assert new_pid is not None and new_pid != old_pid


def test_an_error_is_shown_by_the_command_as_without_a_daemon(served: Project) -> None:
    edit(served.root, A, "title: ", "title: [unclosed ")
    failed = served.build()
    assert failed.returncode == 1
    assert "daemon: declined" in failed.stderr
    assert f"{A}:3: invalid YAML" in failed.stderr  # where YAML finds the bracket unclosed
    alone = served.build("--no-daemon")
    assert alone.returncode == 1
    assert alone.stderr.split("\n")[-2] == failed.stderr.split("\n")[-2]


def test_no_daemon_is_left_with_no_daemon_in_ci_or_when_turned_off(project: Project) -> None:
    assert project.build("--no-daemon").returncode == 0
    assert project.pid() is None
    edit(project.root, A, "faint comet", "faint, slow comet")
    assert project.build(CI="true", BROADSHEET_DAEMON="").returncode == 0
    assert project.pid() is None
    edit(project.root, A, "faint, slow comet", "faint comet")
    assert project.build(BROADSHEET_DAEMON="0").returncode == 0
    assert project.pid() is None
    edit(project.root, A, "faint comet", "faint, slow comet")
    assert project.build().returncode == 0
    assert project.pid() is not None


def test_the_socket_is_the_users_alone(served: Project) -> None:
    path = served.socket()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not list(served.root.rglob("*.sock"))  # nothing in the project that copying trips on


def test_a_socket_folder_others_may_write_is_not_used(served: Project) -> None:
    old_pid = served.pid()
    folder = served.socket().parent
    folder.chmod(0o777)
    edit(served.root, A, "faint comet", "faint, slow comet")
    again = served.build()
    assert again.returncode == 0 and not ANSWERED.search(again.stderr)
    folder.chmod(0o700)
    served.stop()
    assert old_pid is not None
    wait_for_exit(old_pid)


def test_a_command_from_another_folder_or_with_other_code_is_declined(
    served: Project, tmp_path: Path
) -> None:
    asked = {"argv": ["-v"], "folder": str(tmp_path), "made": served.made_with()}
    assert "another folder" in served.request(asked)["declined"]
    edit(served.root, "templates/article.html", "</article>", "<p>More.</p></article>")
    served.build()  # a full build: a new daemon
    for number, change in enumerate(({"code": "another"}, {"umask": 0o077}, {"flags": "-X"})):
        made = served.made_with()
        assert change.keys() <= made.keys()
        asked = {"argv": ["-v"], "folder": str(served.root), "made": {**made, **change}}
        assert "the code, Python" in served.request(asked)["declined"]
        edit(served.root, A, "faint comet", f"faint comet ({number})")
        served.build()  # the declined command's own build leaves a daemon again
        assert served.pid() is not None


def test_a_command_with_another_umask_is_declined(served: Project) -> None:
    """The files a build writes get the asking command's modes, not the daemon's."""
    edit(served.root, A, "faint comet", "faint, slow comet")
    again = served.build(umask=0o077)
    assert "daemon: declined" in again.stderr and not ANSWERED.search(again.stderr)
    page = served.root / "site" / A_PAGE
    assert page.stat().st_mode & 0o077 == 0


def test_someone_else_is_not_answered(served: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon's side of the check: the peer's user, from the system, must be its own."""
    here, there = socket.socketpair()
    with here, there:
        daemon._send(there, {"stop": True})
        monkeypatch.setattr(os, "getuid", lambda: 12345)
        assert daemon._answer(here, served.root) == daemon._IGNORED
        monkeypatch.undo()
        assert daemon._answer(here, served.root) == daemon._DONE  # the same message, answered


def test_deleting_the_cache_stops_the_daemon(served: Project) -> None:
    pid = served.pid()
    assert pid is not None
    shutil.rmtree(served.root / ".cache")
    wait_for_exit(pid, seconds=10)
    assert not served.socket().exists()


def test_a_newer_full_build_takes_over_and_the_old_daemon_leaves(served: Project) -> None:
    old_pid = served.pid()
    assert old_pid is not None
    edit(served.root, "templates/article.html", "</article>", "<p>More.</p></article>")
    assert served.build("--no-daemon").returncode == 0
    assert served.pid() == old_pid  # --no-daemon leaves the old one alone
    edit(served.root, "templates/article.html", "<p>More.</p>", "<p>Even more.</p>")
    no_asking = "from broadsheet.cli import run; run([])"  # builds without asking the daemon
    subprocess.run(
        [sys.executable, "-c", no_asking], cwd=served.root, env=served.environment, check=True
    )
    served.wait_for_daemon()
    new_pid = served.pid()
    assert new_pid not in (None, old_pid)
    wait_for_exit(old_pid)  # its socket was taken: it left by itself
    assert served.pid() == new_pid


def test_an_imported_inbox_leaves_a_daemon_for_the_next_edit(served: Project) -> None:
    (served.root / "content/inbox").mkdir()
    shutil.copy(REPO / "tests/fixtures/import/two_articles.txt", served.root / "content/inbox")
    imported = served.build()
    assert imported.returncode == 0 and "daemon: declined" in imported.stderr
    assert "wrote content/articles/" in imported.stdout
    assert list((served.root / "content/inbox/done").iterdir())  # what stays in the inbox
    edit(served.root, A, "faint comet", "faint, slow comet")
    again = served.build()
    assert ANSWERED.search(again.stderr), again.stderr


def test_an_interrupted_command_leaves_the_daemon_serving(served: Project) -> None:
    pid = served.pid()
    path = str(served.socket())
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(path)
        connection.sendall(b"\x00\x00")  # half a message, then gone
    edit(served.root, A, "faint comet", "faint, slow comet")
    again = served.build()
    assert ANSWERED.search(again.stderr) and served.pid() == pid
    os.kill(pid, signal.SIGTERM)
    wait_for_exit(pid)
    assert not served.socket().exists()  # it removed its socket on the way out


def test_the_answer_is_json_of_what_the_command_prints(served: Project) -> None:
    edit(served.root, A, "faint comet", "faint, slow comet")
    made = served.made_with()
    answer = served.request({"argv": [], "folder": str(served.root), "made": made})
    assert answer["code"] == 0 and answer["stdout"] == ""
    assert answer["stderr"].startswith("built 16 articles")


@pytest.mark.parametrize("reply", [b"\x00\x00\x00\x05hello", b'\x00\x00\x00\x07{"x":1}', b""])
def test_a_garbled_or_missing_answer_means_building_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reply: bytes
) -> None:
    import threading

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("BROADSHEET_DAEMON", "1")
    monkeypatch.chdir(tmp_path)
    path = daemon.socket_path(str(tmp_path), make=True)
    assert path is not None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen(1)

        def answer() -> None:
            connection, _ = listener.accept()
            with connection:
                daemon._receive(connection)
                connection.sendall(reply)

        thread = threading.Thread(target=answer)
        thread.start()
        assert daemon.ask(["-v"]) is None
        thread.join()


def test_the_daemon_makes_the_spare_copy_before_the_first_edit(served: Project) -> None:
    """A cold build writes site/ beside it and renames it into place; the spare copy that later
    builds change (a hard link per file) is made by the daemon, not by the first edit."""
    spare = served.root / ".site-spare"
    assert (spare / ".broadsheet-site").read_bytes() == (
        served.root / "site/.broadsheet-site"
    ).read_bytes()
    assert (spare / A_PAGE).stat().st_ino == (served.root / "site" / A_PAGE).stat().st_ino


def test_daemon_status_and_stop_from_the_command_line(served: Project) -> None:
    pid = served.pid()
    edit(served.root, A, "faint comet", "faint, slow comet")
    served.build()
    status = served.command("daemon")
    assert status.returncode == 0
    assert f"build daemon: process {pid}, 1 builds run, idle " in status.stdout
    assert "MiB in memory" in status.stdout
    stopped = served.command("daemon", "stop")
    assert stopped.stdout == f"stopped the build daemon (process {pid})\n"
    assert pid is not None
    wait_for_exit(pid)
    gone = served.command("daemon", "status").stdout
    assert gone == "no build daemon holds this project's site\n"
