"""Grading runs: parallel equals sequential, interrupted runs resume, --regrade redoes, the CLI, the sandbox switch."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.grade import grade_class
from conftest import summary


def test_parallel_grading_equals_sequential(small_sequential, small_graded):
    one, (_, two) = small_sequential, small_graded
    assert summary(one) == summary(two)
    assert one["right"]["score"] > one["wrong"]["score"] > 0 == one["blank"]["score"]


def test_interrupted_run_grades_only_what_is_missing(small_class, small_graded, tmp_path):
    graded_out, first = small_graded
    out = shutil.copytree(graded_out, tmp_path / "out")  # the shared run stays as it was for other tests
    (out / "results" / "wrong.json").unlink()  # as if the run had stopped before this student
    log = []
    resumed = grade_class(small_class, out, jobs=2, log=log.append)
    assert log[0].startswith("grading 1 of 4 students")
    assert summary(resumed) == summary(first)
    log.clear()
    grade_class(small_class, out, jobs=2, regrade=True, log=log.append)
    assert log[0].startswith("grading 4 of 4 students")


def test_cli_grades_and_exits_zero(small_class, tmp_path):
    hw4 = Path(sys.executable).with_name("hw4")
    run = subprocess.run([hw4, "grade", small_class, "--out", "cli", "--jobs", "2"],  # a relative DIR, as users type
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "not valid JSON" in run.stdout  # the broken student's reason
    assert "right                missing     25/43" in run.stdout
    assert (tmp_path / "cli" / "grades.csv").read_text().count("\n") == 5


def test_without_the_sandbox_the_grades_are_the_same(small_class, small_graded, tmp_path):
    _, sandboxed = small_graded
    unconfined = grade_class(small_class, tmp_path / "unconfined", jobs=2, sandboxed=False, log=lambda _: None)
    assert summary(unconfined) == summary(sandboxed)


def test_grading_stops_with_a_clear_error_when_the_sandbox_cannot_be_made(small_class, tmp_path):
    hw4 = Path(sys.executable).with_name("hw4")
    run = subprocess.run([hw4, "grade", small_class, "--out", tmp_path / "out"], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PATH": str(hw4.parent)})  # no bwrap on this PATH
    assert run.returncode != 0
    assert "bubblewrap is not installed" in run.stderr and "--no-sandbox" in run.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()
