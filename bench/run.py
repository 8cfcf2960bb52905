"""Measure build speed and memory on generated corpora of several sizes.

    python bench/run.py --articles 1000 4000 10000 [--runs 5] [--json bench/results/latest.json]

For each size a corpus is generated into a temporary folder (bench/corpus.py) and this
repository's build.py is run on it in fresh processes, with the corpus as working directory:
cold builds (no output folder, no .cache/), no-change builds, one-article-edit builds; then the
preview as `serve` runs it, from saving an article to the reload signal. Each build's peak memory
is read from os.wait4 on that build's own process. A Markdown table goes to stdout; every raw
run and the machine's description go to the JSON file.
"""

from __future__ import annotations

import argparse
import compileall
import fcntl
import json
import os
import platform
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus import generate_corpus  # noqa: E402
from broadsheet.cache import CACHE_DIR  # noqa: E402
from broadsheet.snapshot import LOCK_NAME  # noqa: E402

BUILD = REPO / "build.py"
_STATS = re.compile(r"(\d+) files written, (\d+) unchanged, (\d+) removed")
_SUMMARY = re.compile(r"files in ([\d.]+)s")
_DAEMON = re.compile(r"daemon: process (\d+) had the plan in memory")


@dataclass(frozen=True)
class BuildRun:
    """One measured `build.py -v` process."""

    seconds: float  # wall time from start to exit, interpreter start-up included
    reported: float | None  # the build's own total from its summary line
    written: int | None  # from `N files written`
    unchanged: int | None
    removed: int | None
    peak_rss_mib: float  # the process's (and its waited-for children's) largest RSS
    background: float  # seconds from its exit until the kept plan was written (full builds)
    updated: bool  # it brought the plan the last full build kept up to date (-v says so)
    daemon: int | None  # the build daemon that ran it, with the plan in memory (-v says so)


def main(argv: list[str] | None = None) -> int:
    """Run every measurement for every size; print the table, save the JSON."""
    parser = argparse.ArgumentParser(description="Benchmark build.py on generated corpora.")
    parser.add_argument("--articles", type=int, nargs="+", default=[1000, 4000, 10000])
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each kind")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    compile_bytecode()
    results = []
    # Everything the runs make is deleted once, at the end: see _set_aside.
    with tempfile.TemporaryDirectory(prefix="broadsheet-bench-") as temp:
        for size in args.articles:
            project = Path(temp) / str(size) / "project"
            results.append(measure_size(project, size, args.runs, args.seed))
    print(render_table(results))
    print()
    print(render_targets(results))
    print(render_calibration(results))
    report = {"machine": machine_info(), "runs": args.runs, "seed": args.seed, "sizes": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nraw runs saved to {args.json}", file=sys.stderr)
    return 0


def compile_bytecode() -> None:
    """Write the package's bytecode, as the first build on a default Python install does.

    Where PYTHONDONTWRITEBYTECODE is set (some containers and CI images set it) no build ever
    writes it, and every one would spend 0.1-0.15 s compiling the package again: the runs
    would measure that machine's setting, not the build.
    """
    compileall.compile_dir(REPO / "broadsheet", quiet=1)


def measure_size(project: Path, size: int, runs: int, seed: int) -> dict[str, Any]:
    """Generate one corpus and run every kind of measurement on it."""
    _progress(f"{size} articles: generating corpus")
    speed_before = calibrate()
    start = time.perf_counter()
    corpus = generate_corpus(project, size, seed)
    generated = time.perf_counter() - start
    run_build(project)  # warm-up, not measured: fills the page cache
    _progress(f"{size} articles: {runs} cold builds")
    cold = []
    for number in range(runs):
        _set_aside(project, project.parent / f"cold-{number}")
        cold.append(run_build(project))
    _progress(f"{size} articles: {runs} no-change builds")
    unchanged = [run_build(project) for _ in range(runs)]
    _progress(f"{size} articles: {runs} one-article edit builds")
    edited_file = _published_article(corpus.articles)
    edit = []
    for number in range(runs):
        _append_sentence(edited_file, number)
        edit.append(run_build(project))
    daemon_mib = _resident_mib(edit[-1].daemon)
    _progress(f"{size} articles: serve, save to reload")
    serve = measure_serve_rebuilds(project, edited_file, runs)
    return {
        "articles": size,
        "calibration_seconds": [speed_before, calibrate()],  # before and after: see calibrate
        "corpus_seconds": generated,
        "load_average_after": os.getloadavg(),  # other work on the machine skews the times
        "cold": [asdict(r) for r in cold],
        "no_change": [asdict(r) for r in unchanged],
        "edit": [asdict(r) for r in edit],
        "daemon_rss_mib": daemon_mib,  # what the build daemon holds, idle after the edits
        "serve": serve,
    }


def run_build(project: Path) -> BuildRun:
    """Run `build.py -v` in `project` as a fresh process; time it and read its peak RSS."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(BUILD), "-v"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    # wait4 rather than wait(): it returns the rusage of this child alone, whose ru_maxrss
    # also covers the worker processes it waited for (the largest one, not their sum).
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    background = _wait_for_plan_writer(project)
    if process.returncode != 0:
        raise SystemExit(f"build failed in {project} (exit {process.returncode}):\n{output}")
    stats = _STATS.search(output)
    summary = _SUMMARY.search(output)
    return BuildRun(
        seconds=seconds,
        reported=float(summary.group(1)) if summary else None,
        written=int(stats.group(1)) if stats else None,
        unchanged=int(stats.group(2)) if stats else None,
        removed=int(stats.group(3)) if stats else None,
        peak_rss_mib=usage.ru_maxrss / 1024,  # Linux reports KiB
        background=background,
        updated="plan: the last build's, updated" in output,
        daemon=int(answered.group(1)) if (answered := _DAEMON.search(output)) else None,
    )


def _wait_for_plan_writer(project: Path) -> float:
    """Wait for the process a full build leaves writing its plan for the next build (it holds
    the plan's lock from before the build exits until it is done), so that the next measured
    build has the machine to itself; return how long that took."""
    start = time.perf_counter()
    try:
        with open(project / CACHE_DIR / LOCK_NAME, "rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)
    except FileNotFoundError:
        pass  # no full build here yet
    return time.perf_counter() - start


def measure_serve_rebuilds(project: Path, article: Path, runs: int = 5) -> dict[str, Any]:
    """Time serve from saving an article to the signal that reloads the browser.

    The preview starts as `python build.py serve` starts it: a full build, then its watcher.
    Each run appends a sentence to `article` (published, the one the edit builds change) and waits for the preview to publish the new
    site, the moment server.py sends the reload signal. `seconds` is that whole wait, the
    watcher noticing the save included; `rebuild` is the part spent building. Saves are half a
    second apart, as a curator's are (quicker ones are gathered into one rebuild on purpose).
    """
    from broadsheet.pipeline import build
    from broadsheet.preview import Preview, PreviewOptions

    rebuilds: list[float] = []

    def timed_build(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return build(*args, **kwargs)
        finally:
            rebuilds.append(time.perf_counter() - start)

    published: queue.SimpleQueue[tuple[float, Any]] = queue.SimpleQueue()
    seconds = []
    with Preview(PreviewOptions(project), builder=timed_build) as preview:
        preview.start(lambda state: published.put((time.perf_counter(), state)))
        for number in range(runs):
            time.sleep(0.5)
            start = time.perf_counter()
            _append_sentence(article, 100 + number)
            end, state = published.get(timeout=60)
            if state.errors:
                raise RuntimeError(f"the preview rebuild failed: {state.errors}")
            seconds.append(end - start)
    return {"api": "broadsheet.preview.Preview.start", "seconds": seconds, "rebuild": rebuilds[1:]}


def calibrate(runs: int = 3) -> float:
    """How fast the machine is now: the median time of a fixed pure-Python loop. A shared
    machine's speed drifts, by half or more within an hour on some; builds measured beside the
    same figure can be compared, and a run whose figure moved says the machine did."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        sum(i * i for i in range(2_000_000))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def render_calibration(results: list[dict[str, Any]]) -> str:
    """Return a line saying how fast the machine was while each size was measured."""
    parts = []
    for result in results:
        low, high = sorted(result["calibration_seconds"])
        span = f"{low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f}-{high:.2f}"
        parts.append(f"{result['articles']:,}: {span} s")
    sizes = ", ".join(parts)
    return f"- machine speed, a fixed Python loop before and after each size (lower is faster): {sizes}"


def render_table(results: list[dict[str, Any]]) -> str:
    """Return the medians as a Markdown table."""
    lines = [
        "| articles | cold s | plan kept after s | no-change s | edit s | serve save to reload s "
        "| files written no-change / edit | peak RSS MiB | daemon RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        serve_text = f"{statistics.median(result['serve']['seconds']):.3f}"
        builds = result["cold"] + result["no_change"] + result["edit"]
        lines.append(
            f"| {result['articles']:,} | {_median(result['cold']):.2f} "
            f"| {_median(result['cold'], 'background'):.2f} "
            f"| {_median(result['no_change']):.2f} | {_median(result['edit']):.2f} "
            f"| {serve_text} "
            f"| {_median(result['no_change'], 'written'):g} / {_median(result['edit'], 'written'):g} "
            f"| {max(b['peak_rss_mib'] for b in builds):.0f} "
            f"| {_mib(result.get('daemon_rss_mib'))} |"
        )
    return "\n".join(lines)


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def render_targets(results: list[dict[str, Any]]) -> str:
    """Return a line per target of bench/README.md: met, missed, or not measured."""
    by_size = {r["articles"]: r for r in results}
    checks: list[tuple[str, bool | None]] = []
    if 4000 in by_size:
        r = by_size[4000]
        checks.append(("cold 4,000 <= 4 s", _median(r["cold"]) <= 4))
        checks.append(("edit 4,000 <= 0.5 s", _median(r["edit"]) <= 0.5))
        checks.append(
            ("serve save to reload 4,000 <= 0.15 s",
             statistics.median(r["serve"]["seconds"]) <= 0.15)
        )  # fmt: skip
        checks.append(
            ("no-change 4,000 <= 0.4 s, 0 files written",
             _median(r["no_change"]) <= 0.4 and _median(r["no_change"], "written") == 0)
        )  # fmt: skip
        if 10000 in by_size:
            big = by_size[10000]
            peak = max(b["peak_rss_mib"] for b in big["cold"])
            checks.append(
                ("cold 10,000 <= 2.7 x cold 4,000, peak <= 400 MiB",
                 _median(big["cold"]) <= 2.7 * _median(r["cold"]) and peak <= 400)
            )  # fmt: skip
    if not checks:
        return "targets: need a 4,000-article run (and 10,000 for the scaling target)"
    words = {True: "met", False: "MISSED", None: "not measured"}
    return "\n".join(f"- {name}: {words[ok]}" for name, ok in checks)


def machine_info() -> dict[str, Any]:
    """Describe the machine and the code measured."""
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "commit": commit or None,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return platform.processor() or None


def _resident_mib(pid: int | None) -> float | None:
    """The resident memory of process `pid` (the build daemon), from /proc; None if unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def _median(builds: list[dict[str, Any]], key: str = "seconds") -> float:
    return statistics.median(b[key] for b in builds if b[key] is not None)


def _set_aside(project: Path, aside: Path) -> None:
    """Move everything a previous build left (output folder, spare copy, cache) into `aside`,
    so the next build starts cold, as in a fresh clone.

    Moved rather than deleted: on ext4 without a journal (the development machine's disk),
    making a file or folder walks past every inode freed in the last minutes, one by one
    (perf shows the kernel's `find_inode_bit` and `recently_deleted`). A 4,000-article build
    right after deleting the previous output took 11-14 s with 9-14 s of system time, against
    7.5 s with 1.3 s without: that would time the deletion, not the build.
    """
    aside.mkdir(parents=True)
    for leftover in (project / "site", project / ".cache", *project.glob(".site-*")):
        if leftover.exists():
            leftover.rename(aside / leftover.name)


def _published_article(articles: tuple[Path, ...]) -> Path:
    """The article in the middle of the corpus, or the next one that is not a draft."""
    middle = len(articles) // 2
    for path in articles[middle:] + articles[:middle]:
        if "\ndraft: true\n" not in path.read_text(encoding="utf-8"):
            return path
    raise SystemExit("the corpus has no published article")


def _append_sentence(path: Path, number: int) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(f"\nThis sentence was added by edit number {number} of the benchmark.\n")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
