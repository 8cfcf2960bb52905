"""Run one function over many inputs across processes, in order, when it is worth it.

Workers are forked, so they start with the parent's modules (and anything module-level the
caller set up) already loaded; inputs go out in chunks to keep pickling cheap. Where this process
works beside them (run_shared), every process claims the next few jobs from a shared counter:
this one from the start of the list, a helper from its end.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import traceback
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

    With `share` this process works through the jobs beside the others (run_shared): right when
    it would otherwise only wait. Without, it stays free to consume the results as they come
    (the writer does). `meanwhile` runs in this process once the workers are busy (or first,
    when there are none), before the first result is yielded.
    """
    if workers <= 1 or len(jobs) < MIN_PARALLEL or not _can_fork():
        if meanwhile is not None:
            meanwhile()
        yield from (function(*job) for job in jobs)
        return
    if share:
        yield from run_shared(function, jobs, workers - 1, meanwhile)
        return
    chunk = max(1, len(jobs) // (workers * 8))
    import multiprocessing  # here: a build with little to do never loads it

    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        results = pool.imap(_Call(function), jobs, chunksize=chunk)  # starts at once
        if meanwhile is not None:
            meanwhile()
        yield from results


SHARED_BATCH = 16  # jobs claimed at once by run_shared's processes: a few milliseconds of work


def run_shared(
    function: Callable[..., R],
    jobs: Sequence[tuple[Any, ...]],
    helpers: int,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[R]:
    """Yield function(*job) for every job, in order, worked out by this process and `helpers`
    forked ones, each claiming SHARED_BATCH jobs at a time until none are left: all finish
    within a batch of each other, however much `meanwhile` delays this one.

    This process works from the start of the list, the first helper from its end (and any
    others from alternate ends), so jobs next to each other mostly fall to one process: what
    one job leaves in a process (a fragment rendered once per build, render.FragmentCache)
    then serves its neighbours. Helpers send their results from a thread, so a busy reader
    never stalls their work; the jobs of a helper that died are done here. A helper's
    exception is raised here."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    counter = context.Array("q", [0, len(jobs)])  # the first and one past the last unclaimed
    results: dict[int, Any] = {}
    started: list[tuple[Any, Any]] = []  # each helper process and the end its results come from
    readers: list[threading.Thread] = []
    try:
        for number in range(helpers):  # all forked before a thread here reads (and may import)
            receiver, sender = context.Pipe(duplex=False)
            args = (function, jobs, counter, sender, number % 2 == 0)
            process = context.Process(target=_help, args=args, daemon=True)
            process.start()
            sender.close()
            started.append((process, receiver))
        for _process, receiver in started:
            readers.append(threading.Thread(target=_receive, args=(receiver, results), daemon=True))
            readers[-1].start()
        if meanwhile is not None:
            meanwhile()
        for batch in _claimed(counter):
            results.update((index, function(*jobs[index])) for index in batch)
    except BaseException:
        _stop(counter)
        raise
    finally:
        for reader in readers:
            reader.join()
        for _process, receiver in started[len(readers) :]:
            receiver.close()  # no reader: its helper's sending fails, and it ends
        for process, _receiver in started:
            process.join()
    failure = results.pop(-1, None)
    if failure is not None:
        error, trace = failure
        raise error from HelperTraceback(trace)
    for index in range(len(jobs)):  # a helper that died took its claimed jobs with it
        if index not in results:
            results[index] = function(*jobs[index])
    yield from (results[index] for index in range(len(jobs)))


class HelperTraceback(Exception):
    """Where in a helper process the exception raised by run_shared happened."""


def _claimed(counter: Any, from_end: bool = False) -> Iterator[range]:
    """The batches of job indexes this process claims, SHARED_BATCH at a time from the start
    of the unclaimed jobs (or from their end), until none are left."""
    lock, bounds = counter.get_lock(), counter.get_obj()
    while True:
        with lock:
            first, end = bounds
            if first >= end:
                return
            if from_end:
                first = bounds[1] = max(first, end - SHARED_BATCH)
            else:
                end = bounds[0] = min(end, first + SHARED_BATCH)
        yield range(first, end)


def _stop(counter: Any) -> None:
    """Leave no job to claim: every process stops after its batch. Lock-free (a helper killed
    while it held the lock must not hold the caller up), so both bounds are moved past each
    other: a claim under way overwrites only the one it moves."""
    bounds = counter.get_obj()
    bounds[0], bounds[1] = 1 << 62, 0


def _help(
    function: Callable[..., Any],
    jobs: Sequence[tuple[Any, ...]],
    counter: Any,
    sender: Any,
    from_end: bool,
) -> None:
    """A helper of run_shared: work through claimed jobs; a thread sends the results."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the caller's to handle: it stops us
    outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    thread = threading.Thread(target=_send, args=(outbox, sender), daemon=True)
    thread.start()
    try:
        for batch in _claimed(counter, from_end):
            outbox.put([(index, function(*jobs[index])) for index in batch])
    except BaseException as exc:  # for the caller to raise; the others may stop now
        _stop(counter)
        outbox.put([(-1, (exc, traceback.format_exc()))])
    finally:
        outbox.put(None)
        thread.join()


def _send(outbox: queue.SimpleQueue[Any], sender: Any) -> None:
    """Send each batch until told to stop. One that cannot be sent (the reader is gone, a
    result does not pickle) ends the sending: the caller does the jobs it does not get."""
    with sender:
        while (batch := outbox.get()) is not None:
            try:
                sender.send(batch)
            except Exception:
                return


def _receive(receiver: Any, results: dict[int, Any]) -> None:
    """Gather a helper's results until it is done, or died, or sent what does not unpickle
    (the caller then does the jobs missing)."""
    with receiver:
        try:
            while True:
                results.update(receiver.recv())
        except Exception:
            return


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


class _Call:
    """A picklable `lambda job: function(*job)`."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function

    def __call__(self, job: Iterable[Any]) -> Any:
        return self.function(*job)
