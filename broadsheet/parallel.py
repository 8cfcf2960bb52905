"""Run one function over many inputs across processes, in order, when it is worth it.

Workers are forked, so they start with the parent's modules (and anything module-level the
caller set up) already loaded; inputs go out in chunks to keep pickling cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

R = TypeVar("R")

MIN_PARALLEL = 64  # fewer inputs than this are not worth starting processes for


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def run_parallel(
    function: Callable[..., R],
    jobs: Sequence[tuple[Any, ...]],
    workers: int,
    share: bool = False,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[R]:
    """Yield function(*job) for every job, in order; in `workers` processes when there are many.

    With `share` this process takes the first part of the jobs itself while the others run
    the rest: right when it would otherwise only wait. Without, it stays free to consume the
    results as they come (the writer does). `meanwhile` runs in this process once the workers
    are busy (or first, when there are none), before the first result is yielded.
    """
    if workers <= 1 or len(jobs) < MIN_PARALLEL or not _can_fork():
        if meanwhile is not None:
            meanwhile()
        yield from (function(*job) for job in jobs)
        return
    helpers = workers - 1 if share else workers
    mine = len(jobs) // workers if share else 0
    rest = jobs[mine:]
    chunk = max(1, len(rest) // (helpers * 8))
    import multiprocessing  # here: a build with little to do never loads it

    context = multiprocessing.get_context("fork")
    with context.Pool(helpers) as pool:
        results = pool.imap(_Call(function), rest, chunksize=chunk)  # starts at once
        if meanwhile is not None:
            meanwhile()
        yield from (function(*job) for job in jobs[:mine])
        yield from results


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


class _Call:
    """A picklable `lambda job: function(*job)`."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function

    def __call__(self, job: Iterable[Any]) -> Any:
        return self.function(*job)
