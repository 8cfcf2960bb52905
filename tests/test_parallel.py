"""Jobs across processes: results in order, whoever did them; failures surface."""

from __future__ import annotations

import os
import time

import pytest

from broadsheet import parallel
from broadsheet.parallel import HelperTraceback, run_parallel, run_shared


def square_and_pid(number: int) -> tuple[int, int]:
    time.sleep(0.001)  # long enough for the other process to take its part
    return number * number, os.getpid()


def test_shared_jobs_come_back_in_order_from_both_processes() -> None:
    jobs = [(n,) for n in range(500)]
    results = list(run_shared(square_and_pid, jobs, helpers=1))
    assert [value for value, _ in results] == [n * n for n in range(500)]
    done_by = {pid for _, pid in results}
    assert os.getpid() in done_by and len(done_by) == 2  # this process and its helper


def test_this_process_works_from_the_start_and_its_helper_from_the_end() -> None:
    """Neighbouring jobs fall to one process (what one leaves behind serves the next): the
    jobs each process did are one run, this process's first."""
    jobs = [(n,) for n in range(500)]
    done_by = [pid for _, pid in run_shared(square_and_pid, jobs, helpers=1)]
    runs = [pid for i, pid in enumerate(done_by) if i == 0 or pid != done_by[i - 1]]
    assert runs[0] == os.getpid() and len(runs) == 2


def test_a_slow_start_here_leaves_the_helper_more_jobs() -> None:
    def slow_start() -> None:
        time.sleep(0.3)

    jobs = [(n,) for n in range(600)]
    results = list(run_shared(square_and_pid, jobs, helpers=1, meanwhile=slow_start))
    here = sum(pid == os.getpid() for _, pid in results)
    assert here < len(jobs) // 2  # the helper took what this process could not


def fails_near_the_end(number: int) -> int:
    if number == 195 and os.getpid() != PARENT:
        raise ValueError("one hundred and ninety-five")
    return number


def test_a_helpers_exception_is_raised_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "SHARED_BATCH", 1)
    jobs = [(n,) for n in range(200)]
    for _ in range(20):  # the helper, from the end, claims job 195 unless this process did
        try:
            list(run_shared(fails_near_the_end, jobs, helpers=1, meanwhile=_wait_for_helper))
        except ValueError as exc:
            assert str(exc) == "one hundred and ninety-five"
            assert isinstance(exc.__cause__, HelperTraceback)
            assert "in fails_near_the_end" in str(exc.__cause__)  # where, in the helper
            return
    pytest.fail("job 195 never fell to the helper")


def _wait_for_helper() -> None:
    time.sleep(0.2)  # the helper claims the last jobs meanwhile


def dies_near_the_end(number: int) -> int:
    if number == 295 and os.getpid() != PARENT:
        os._exit(1)  # killed, say, by the out-of-memory killer
    return number


def test_the_jobs_of_a_helper_that_died_are_done_here() -> None:
    jobs = [(n,) for n in range(300)]
    done = run_shared(dies_near_the_end, jobs, helpers=1, meanwhile=_wait_for_helper)
    assert list(done) == list(range(300))


def test_run_parallel_shares_only_when_asked_and_worth_it() -> None:
    few = [(n,) for n in range(10)]
    assert {pid for _, pid in run_parallel(square_and_pid, few, 2, share=True)} == {os.getpid()}
    many = [(n,) for n in range(300)]
    assert len({pid for _, pid in run_parallel(square_and_pid, many, 2, share=True)}) == 2


PARENT = os.getpid()
