"""`hw4 check`: a student's view of the visible tests."""
import subprocess
import sys
from pathlib import Path

from autograder.samples import CHEAT, reference_answers, write_submission

HW4 = Path(sys.executable).with_name("hw4")


def _check(notebook):
    return subprocess.run([HW4, "check", notebook], capture_output=True, text=True, timeout=600)


def test_a_correct_notebook_passes_every_visible_test(tmp_path):
    write_submission(tmp_path, {"KL_derivation": reference_answers("KL_derivation")})
    run = _check(tmp_path / "KL_derivation.ipynb")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "FAIL" not in run.stdout and "TODO" not in run.stdout
    assert "9/9 visible tests pass" in run.stdout


def test_stubs_and_mistakes_are_reported_test_by_test(tmp_path):
    write_submission(tmp_path, {"KL_derivation": {**reference_answers("KL_derivation"), "kl_mvn": CHEAT,
                                                  "kl_mc": ""}})
    run = _check(tmp_path / "KL_derivation.ipynb")
    assert run.returncode == 1
    assert "PASS  test_mvn_log_prob_exact" in run.stdout
    assert "FAIL  test_kl_mvn_exact" in run.stdout and "expected" in run.stdout
    assert "test_kl_mc_estimate" in run.stdout


def test_a_blank_notebook_is_all_todo(tmp_path):
    write_submission(tmp_path, {"KL_derivation": {}})
    run = _check(tmp_path / "KL_derivation.ipynb")
    assert run.returncode == 1
    assert run.stdout.count("TODO") == 9 and "0/9 visible tests pass" in run.stdout
