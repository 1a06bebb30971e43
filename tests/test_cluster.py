"""Grading on a real Dask cluster on loopback: a scheduler and two workers as separate processes."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.coordinator.grade import grade_class
from conftest import summary

DASK = Path(sys.executable).with_name("dask")


def _start(args, log):
    return subprocess.Popen([DASK, *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture
def cluster(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "dask.log", "w")
    scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                        "--scheduler-file", scheduler_file], log)
    for _ in range(300):
        if scheduler_file.exists() and scheduler_file.stat().st_size:
            break
        time.sleep(0.1)
    address = json.loads(scheduler_file.read_text())["address"]
    workers = [_start(["worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                       "--name", f"w{i}"], log) for i in range(2)]
    yield address, workers
    for process in [*workers, scheduler]:
        _stop(process)
    log.close()


def test_cluster_grading_survives_a_dead_worker_and_equals_a_local_run(small_class, small_graded, cluster,
                                                                       tmp_path):
    address, workers = cluster
    local = small_graded.results

    def kill_a_worker_after_the_first_student(line):
        if line.startswith("  ") and workers[0].poll() is None:
            _stop(workers[0])  # it holds a student mid-grade: the scheduler must hand it to the other

    remote = grade_class(small_class, tmp_path / "remote", scheduler=address,
                         log=kill_a_worker_after_the_first_student)
    assert workers[0].poll() is not None
    assert summary(remote) == summary(local)
    assert (tmp_path / "remote" / "grades.csv").read_text().count("\n") == len(local) + 1
