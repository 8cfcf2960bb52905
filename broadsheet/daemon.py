"""DAEMON: the last build kept in memory, so that `python build.py` after an edit is an update.

A build into the site's folder leaves a process behind (snapshot.py): after a full build, the
one that writes the plan to .cache/; after a build that updated that plan, one of its own. It
holds the plan in memory and listens on a socket of the project's, in a folder of the user's
own under $TMPDIR or /tmp (nothing in the project is a socket that copying it would trip on),
until no build has used it for IDLE_SECONDS. The next `python build.py` (build.py calls `ask`
before importing anything else) sends it its command line; the daemon runs that command as the
command itself would, with the plan it holds instead of one read from disk, and answers with
what the command printed and its exit code. What is not an update of that plan (incremental.py
decides: edits to what articles say) it declines before writing anything, and exits; the
command then builds in its own process as if there were no daemon, and leaves a new one.

The daemon only answers its own user, asking from the same folder with the same code,
libraries, Python and environment that it was made with; it exits when its socket is taken
over by a newer daemon or removed, or the project's .cache/ is deleted or the project moved.
None is left in CI (when CI is set), with `--no-daemon`, or with BROADSHEET_DAEMON=0.

This module is the first one a build imports: what the asking side needs is the standard
library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import struct
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from broadsheet import generator

if TYPE_CHECKING:
    from pathlib import Path

    from broadsheet.snapshot import Resident

_MAX_SOCKET_PATH = 96  # a socket's path has room for 103 bytes or more; ".sock-<pid>" fits
_CACHE = os.path.join(".cache", "broadsheet")  # a daemon lives as long as its project's cache
_ERROR = os.path.join(_CACHE, "daemon.error")  # the traceback of the daemon's last failure
IDLE_SECONDS = 15 * 60  # an unused daemon then exits, giving its memory back
_POLL = 2.0  # seconds between an idle daemon's checks that it is still the project's
_ANSWER_WAIT = 300.0  # a daemon taking longer is taken for stuck: the command builds itself
_REQUEST_WAIT = 10.0
_MAX_MESSAGE = 64 * 1024 * 1024
_HEADER = struct.Struct("!I")
# What the build reads from the environment, or Python's behaviour depends on.
_ENVIRONMENT = (
    "SOURCE_DATE_EPOCH",
    "TZ",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "PYTHONPATH",
    "PYTHONHASHSEED",
    "PYTHONIOENCODING",
    "PYTHONUTF8",
)
_NO_DAEMON = "--no-daemon"


def enabled() -> bool:
    """Whether a daemon may be asked or left running: BROADSHEET_DAEMON=0 or 1 says, and
    otherwise yes, but not in CI (CI is set), where nothing should outlive the job."""
    setting = os.environ.get("BROADSHEET_DAEMON", "")
    if setting:
        return setting != "0"
    return not os.environ.get("CI")


def wanted(argv: Sequence[str]) -> bool:
    """Whether this command line is a build that may ask the daemon (or leave one)."""
    if not enabled() or "-h" in argv or "--help" in argv:
        return False
    if any(len(arg) > 5 and _NO_DAEMON.startswith(arg) for arg in argv):  # argparse takes --no-d
        return False
    first = argv[0] if argv else "build"
    return first == "build" or (first.startswith("-") and first != "--version")


def ask(argv: Sequence[str]) -> int | None:
    """Have the project's daemon run this build: its exit code, once what the build prints is
    printed; or None when there is no daemon, or it declined (then build in this process)."""
    if not wanted(argv):
        return None
    try:
        request = {"argv": list(argv), "folder": os.getcwd(), "made": made_with()}
        answer = _request(os.getcwd(), request)
        if "declined" in answer:
            if "-v" in argv or "--verbose" in argv:
                print(f"  daemon: declined ({answer['declined']}); building here", file=sys.stderr)
            return None
        code, printed, shown = int(answer["code"]), str(answer["stdout"]), str(answer["stderr"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none, none listening (a killed one's socket), gone, too slow, or garbled
    except KeyboardInterrupt:  # as a build in this process would; the daemon's build finishes
        return 130
    sys.stderr.write(shown)
    sys.stdout.write(printed)
    return code


def control(action: str, project: Path) -> int:
    """`python build.py daemon status|stop`: tell about the daemon of `project`, or stop it."""
    from broadsheet.snapshot import wait_for_writer

    wait_for_writer(project)  # a full build's process may still be writing the plan
    try:
        answer = _request(str(project), {action: True}, wait=_REQUEST_WAIT)
    except (OSError, ValueError):
        print("no build daemon holds this project's site")
        return 0
    if action == "stop":
        print(f"stopped the build daemon (process {answer.get('stopped')})")
    else:
        memory = answer.get("memory_mib")
        print(
            f"build daemon: process {answer.get('pid')}, {answer.get('builds')} builds run, "
            f"idle {answer.get('idle')} s (it stays {answer.get('stays')} s more)"
            + (f", {memory} MiB in memory" if memory is not None else "")
        )
    return 0


def _request(project: str, message: dict[str, Any], wait: float = _ANSWER_WAIT) -> dict[str, Any]:
    """Send `message` to the daemon of `project` and return its answer; OSError when there is
    none (or not the user's own), ValueError when the answer is garbled."""
    path = socket_path(project)
    if path is None or not os.path.exists(path):
        raise FileNotFoundError(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(wait)
        connection.connect(path)
        if not _same_user(connection):
            raise PermissionError(path)
        _send(connection, message)
        return _receive(connection)


def socket_path(project: str, make: bool = False) -> str | None:
    """Where the daemon of the project in folder `project` listens; None when the folder for
    it is not this user's alone (or cannot be made, with `make`)."""
    import hashlib

    real = os.path.realpath(project).encode("utf-8", "surrogateescape")
    name = hashlib.sha256(real).hexdigest()[:24] + ".sock"
    for base in (os.environ.get("TMPDIR"), "/tmp"):
        folder = os.path.join(base or "/tmp", f"broadsheet-{os.getuid()}")
        if len(os.path.join(folder, name).encode()) <= _MAX_SOCKET_PATH:
            break
    else:
        return None
    if make:
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
    try:
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return os.path.join(folder, name)


def made_with() -> dict[str, Any]:
    """What a daemon must have been made with to run a build for this process."""
    return {
        "code": repr(generator()),
        "python": [sys.executable, sys.version],
        "environment": {name: os.environ.get(name) for name in _ENVIRONMENT},
        "user": os.getuid(),
        "umask": _umask(),  # the modes of the files the build writes
        "flags": repr(sys.flags),
        "path": sys.path[1:],  # [0] is the script's folder: build.py's, or a test's
    }


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _send(connection: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode("utf-8", "surrogatepass")
    connection.sendall(_HEADER.pack(len(data)) + data)


def _receive(connection: socket.socket) -> dict[str, Any]:
    (size,) = _HEADER.unpack(_read_exactly(connection, _HEADER.size))
    if size > _MAX_MESSAGE:
        raise ValueError("message too large")
    message = json.loads(_read_exactly(connection, size).decode("utf-8", "surrogatepass"))
    if not isinstance(message, dict):
        raise ValueError("not a message")
    return message


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    parts: list[bytes] = []
    while size:
        part = connection.recv(min(size, 1 << 20))
        if not part:
            raise ValueError("connection closed")
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


# The daemon's side: runs in the process snapshot.py leaves in the background.


def serve(resident: Resident, root: Path, lock: int) -> None:
    """Listen for builds of `root` and run them with `resident`, the plan in memory, until
    idle too long or no longer the project's daemon. `lock` (the plan's, held by this process
    while it wrote the plan) is released once the daemon is listening, so that whoever waits
    for the plan finds the daemon ready too."""
    import fcntl
    import gc

    from broadsheet.snapshot import keep_resident
    from broadsheet.write import prepare_spare

    try:
        os.chdir(root)
        path = socket_path(".", make=True)
        if path is None:
            return  # no folder of the user's own for it: the plan on disk serves the next build
        listener, identity = _listen(path)
    except OSError:
        return  # a file system without sockets, a missing /tmp: likewise
    prepare_spare(resident.output)  # so that the first edit after a cold build need not
    fcntl.flock(lock, fcntl.LOCK_UN)
    os.close(lock)
    keep_resident(resident)
    signal.signal(signal.SIGTERM, _exit_on_signal)  # so that its socket goes with it
    gc.freeze()  # what the build made stays: collections need not look at it
    gc.enable()
    with listener:
        try:
            _answer_until_done(listener, path, identity, root)
        finally:
            if _is_ours(path, identity):
                os.unlink(path)


class _Terminated(BaseException):
    """SIGTERM: past every handler of the build's (not a command line's SystemExit)."""


def _exit_on_signal(number: int, _frame: object) -> None:
    raise _Terminated(number)


def _listen(path: str) -> tuple[socket.socket, tuple[int, int]]:
    """A listening socket at `path`, readable and writable by this user only; put in place of
    any earlier daemon's at once (that daemon sees it and exits)."""
    temporary = f"{path}-{os.getpid()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mask = os.umask(0o177)
    try:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        listener.bind(temporary)
        listener.listen(8)
        os.replace(temporary, path)
        info = os.stat(path)
    except OSError:
        listener.close()
        raise
    finally:
        os.umask(mask)
    return listener, (info.st_dev, info.st_ino)


def _is_ours(path: str, identity: tuple[int, int]) -> bool:
    try:
        info = os.stat(path)
    except OSError:
        return False
    return (info.st_dev, info.st_ino) == identity


def _still_wanted(path: str, identity: tuple[int, int], root: Path) -> bool:
    """Whether this is still the daemon of a project that is where it was, cache and all."""
    try:
        return _is_ours(path, identity) and os.path.isdir(_CACHE) and os.path.samefile(root, ".")
    except OSError:
        return False


def _answer_until_done(
    listener: socket.socket, path: str, identity: tuple[int, int], root: Path
) -> None:
    import time

    listener.settimeout(_POLL)
    _STATUS["last"] = time.monotonic()
    while True:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            idle = time.monotonic() - _STATUS["last"]
            if idle > IDLE_SECONDS or not _still_wanted(path, identity, root):
                return
            continue
        with connection:
            outcome = _answer(connection, root)
        if outcome is _DONE:
            return
        if outcome is _SERVED:  # a probe or a stranger does not keep a daemon alive
            _STATUS["last"] = time.monotonic()
            _STATUS["builds"] += 1


_STATUS = {"last": 0.0, "builds": 0}  # in the daemon: when it last ran a build, how many


_SERVED, _IGNORED, _DONE = "served", "ignored", "done"


def _answer(connection: socket.socket, root: Path) -> str:
    """Run one command for whoever asked; tell whether it was served, ignored, or the daemon
    is done (stopped, declined, or after an error: the command that follows starts afresh)."""
    connection.settimeout(_REQUEST_WAIT)
    try:
        if not _same_user(connection):
            return _IGNORED
        request = _receive(connection)
    except (OSError, ValueError):
        return _IGNORED  # not one of ours, or gone: keep serving
    if request.get("stop"):
        _reply(connection, {"stopped": os.getpid()})
        return _DONE
    if request.get("status"):
        _reply(connection, _status(root))
        return _IGNORED
    why = _declined(request, root)
    code, printed, shown = 0, "", ""
    if why is None:
        code, printed, shown, why = _run(request["argv"], root)
    if why is not None:
        _reply(connection, {"declined": why})
        return _DONE  # the command builds by itself, and may leave a daemon of its own
    _reply(connection, {"code": code, "stdout": printed, "stderr": shown})
    return _SERVED if code == 0 else _DONE


def _status(root: Path) -> dict[str, Any]:
    import time

    idle = time.monotonic() - _STATUS["last"]
    memory = None
    with (
        contextlib.suppress(OSError, ValueError, IndexError, StopIteration),
        open("/proc/self/status", encoding="ascii") as status,
    ):
        memory = next(int(ln.split()[1]) for ln in status if ln.startswith("VmRSS:")) // 1024
    return {
        "pid": os.getpid(),
        "project": str(root),
        "builds": _STATUS["builds"],
        "idle": round(idle),
        "stays": max(0, round(IDLE_SECONDS - idle)),
        "memory_mib": memory,
    }


def _reply(connection: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the command was interrupted: what it asked is done
        _send(connection, message)


def _same_user(connection: socket.socket) -> bool:
    """Where the system says who is at the other end (Linux), that it is this process's user;
    elsewhere the socket folder's mode keeps others out."""
    peer = getattr(socket, "SO_PEERCRED", None)
    if peer is None or not sys.platform.startswith("linux"):
        return True
    credentials = struct.Struct("3i")
    _pid, uid, _gid = credentials.unpack(
        connection.getsockopt(socket.SOL_SOCKET, peer, credentials.size)
    )
    return uid == os.getuid()


def _declined(request: dict[str, Any], root: Path) -> str | None:
    """Why this daemon cannot run the command asked for, or None if it can."""
    argv = request.get("argv")
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return "not a command line"
    if not wanted(argv):
        return "not a build"
    try:
        if not os.path.samefile(str(request.get("folder")), root):
            return "asked from another folder"
    except OSError:
        return "asked from another folder"
    if not os.path.isdir(_CACHE):
        return "the project's .cache/ was deleted"
    if request.get("made") != made_with():
        return "the code, Python, libraries or environment changed since it started"
    return None


def _run(argv: list[str], root: Path) -> tuple[int, str, str, str | None]:
    """Run the command as build.py would, capturing what it prints: (exit code, stdout,
    stderr, None); or why it must run in the asking process instead."""
    import io

    from broadsheet.cli import main
    from broadsheet.snapshot import FullBuildNeeded

    printed, shown = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(shown):
            code = main(argv, root)
    except FullBuildNeeded:
        return 0, "", "", "the build must run in full"
    except SystemExit:
        return 0, "", "", "a command line for the command itself to answer"
    except Exception as exc:  # a bug of the daemon's: the command builds by itself
        import traceback

        with contextlib.suppress(OSError), open(_ERROR, "w", encoding="utf-8") as report:
            traceback.print_exc(file=report)
        return 0, "", "", f"failed with {type(exc).__name__}, see {_ERROR}"
    return code, printed.getvalue(), shown.getvalue(), None
