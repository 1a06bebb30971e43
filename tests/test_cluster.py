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
from autograder.course import autograded_tests

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


def test_cluster_grading_survives_a_dead_worker_and_grades_as_a_local_run(small_class, cluster, tmp_path):
    """The small class's grades are known (conftest.small_class): the reference KL answers earn every KL point,
    a wrong kl_mvn loses only kl_mvn's, a blank notebook none, a broken file is invalid
    (and a notebook not handed in, missing)."""
    address, workers = cluster

    def kill_a_worker_after_the_first_student(line):
        if line.startswith("  ") and workers[0].poll() is None:
            _stop(workers[0])  # it holds a student mid-grade: the scheduler must hand it to the other

    remote = grade_class(small_class, tmp_path / "remote", scheduler=address,
                         log=kill_a_worker_after_the_first_student)
    assert workers[0].poll() is not None
    kl = {test_id: points for notebook, test_id, points in autograded_tests() if notebook == "KL_derivation"}
    assert {test_id: t.score for test_id, t in remote["right"].tests.items() if test_id in kl} == kl
    lost = {test_id for test_id, t in remote["wrong"].tests.items() if test_id in kl and t.score < kl[test_id]}
    assert lost and all(test_id.startswith("test_kl_mvn") for test_id in lost)
    assert remote["blank"].score == 0 and remote["broken"].notebooks["KL_derivation"].status == "invalid"
    assert (tmp_path / "remote" / "grades.csv").read_text().count("\n") == len(remote) + 1 == 5
