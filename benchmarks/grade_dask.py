"""The coordinator's cost per student when a Dask cluster grades, and what it means for 1,000 students.

Starts a Dask scheduler and --workers single-thread workers on loopback as separate processes (`dask
scheduler`, `dask worker --nthreads 1 --no-nanny`), grades a class of --students complete submissions
(grade_class.build_class with complete=True: every function answered, a third with one wrong) through
autograder.coordinator.grade.grade_class(scheduler=...), as `hw4 grade --scheduler` does, and measures in this process,
which is the coordinator:

* wall time, and worker seconds per student (results/<id>.json);
* the coordinator's CPU seconds (getrusage of this process alone: the Dask client, collecting results,
  writing results/<id>.json, recording each student in the class gradebook and feedback, the tables);
* the wall seconds of its serial steps, timed by wrapping them: writing each result as it arrives
  (grade.write_atomic) and recording each student (grade.record), which also happens as each result
  arrives, while the workers grade the next students.

From those it prints the estimate for N = 1,000 students on k workers (one core each):
    T(k) = set-up + max(N·w/k, N·r)
with w the worker seconds per student and r the coordinator's CPU seconds per student (recording included):
on a core of its own, that is what its single thread can do. Here it shares the cores with the workers, so
the wall seconds of its recording are longer than its CPU seconds; both are printed. Also printed: the k at
which the single writer's N·r reaches the workers' N·w/k, past which more workers do not help.

    .venv/bin/python benchmarks/grade_dask.py [--students 20] [--workers 4]
"""
import argparse
import collections
import functools
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.coordinator import grade
from grade_class import build_class  # noqa: I100 (benchmarks/ is this script's folder)
from grade_profile import clock, seconds

DASK = Path(sys.executable).with_name("dask")
N = 1000


def start_cluster(folder, n_workers):
    """A scheduler and ``n_workers`` workers as process groups of their own; (address, processes)."""
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "dask.log", "w")
    start = functools.partial(subprocess.Popen, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    processes = [start([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                        "--scheduler-file", scheduler_file])]
    while not (scheduler_file.exists() and scheduler_file.stat().st_size):
        time.sleep(0.1)
    address = json.loads(scheduler_file.read_text())["address"]
    processes += [start([DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"])
                  for _ in range(n_workers)]
    return address, processes


def timed(function, label):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with clock(label):
            return function(*args, **kwargs)
    return wrapper


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    grade.write_atomic = timed(grade.write_atomic, "write_atomic")
    grade.record = timed(grade.record, "record")
    with tempfile.TemporaryDirectory(prefix="hw4-dask-") as tmp:
        tmp = Path(tmp)
        build_class(tmp / "submissions", args.students, complete=True)
        address, processes = start_cluster(tmp, args.workers)
        try:
            cpu_before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            results = grade.grade_class(tmp / "submissions", tmp / "out", scheduler=address, log=lambda _: None)
            wall, cpu_after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
        finally:
            for process in processes:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    n = args.students
    worker = statistics.mean(r.seconds for r in results.values())
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime) / n
    record = seconds["record"] / n
    statuses = collections.Counter(r.status for r in results.values())
    print(f"{n} complete students on {args.workers} single-thread Dask workers, {os.cpu_count()} CPU cores: "
          f"{wall:.1f} s wall, statuses {dict(statuses)}")
    print(f"worker seconds per student (grade_student): mean {worker:.2f}")
    print(f"coordinator per student: {cpu:.3f} s CPU in all; wall seconds of its serial steps, beside the "
          f"workers: recording {record:.3f} s, writing its result {seconds['write_atomic'] / n:.4f} s")
    print(f"\nestimate for {N} students, T(k) = max(N*w/k, N*r) (w = {worker:.2f} s, r = {cpu:.3f} s), "
          "set-up left out:")
    for k in (1, 2, 4, 8, 16, 32, 64, 128):
        grading, writing = N * worker / k, N * cpu
        print(f"  k = {k:>3}: grading {grading / 60:7.1f} min, recording {writing / 60:5.1f} min beside it "
              f"= {max(grading, writing) / 60:7.1f} min")
    print(f"the single writer becomes the limit at k = w / r = {worker / cpu:.0f} workers")


if __name__ == "__main__":
    main()
