"""`hw4 check`: a student's view of the visible tests, and the reader it shares with the grader."""
import codecs
import json
import os
import subprocess

import nbformat
import pytest
from hw4.check import report
from hw4.submission import read_notebook

from autograder.samples import CHEAT, reference_answers, student_notebook, write_submission
from conftest import HW4


def _check(notebook):
    return subprocess.run([HW4, "check", notebook], capture_output=True, text=True, timeout=600)


def test_a_correct_notebook_passes_every_visible_test_even_as_an_editor_left_it(tmp_path):
    """Saved without cell metadata and with a byte-order mark: `hw4 check` says what the grader will repair,
    and runs the notebook as repaired (its test cells found by their restored metadata)."""
    nb = student_notebook("KL_derivation", reference_answers("KL_derivation"))
    for cell in nb.cells:
        cell.metadata = {}
    (tmp_path / "KL_derivation.ipynb").write_bytes(codecs.BOM_UTF8 + nbformat.writes(nb).encode())
    run = _check(tmp_path / "KL_derivation.ipynb")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "FAIL" not in run.stdout and "TODO" not in run.stdout and "INVALID" not in run.stdout
    assert "9/9 visible tests pass" in run.stdout
    repairs = [line for line in run.stdout.splitlines() if line.startswith("REPAIR")]
    assert len(repairs) == 2 and all("; the grader will repair this: " in line for line in repairs), run.stdout
    assert "byte-order mark" in repairs[0] and "grading metadata" in repairs[1]


def test_stubs_and_mistakes_are_reported_test_by_test(tmp_path):
    write_submission(tmp_path, {"KL_derivation": {**reference_answers("KL_derivation"), "kl_mvn": CHEAT,
                                                  "kl_mc": ""}})
    run = _check(tmp_path / "KL_derivation.ipynb")
    assert run.returncode == 1
    assert "PASS  test_mvn_log_prob_exact" in run.stdout
    assert "FAIL  test_kl_mvn_exact" in run.stdout and "expected" in run.stdout
    assert "test_kl_mc_estimate" in run.stdout


def _ran(cells):
    """A notebook as nbclient leaves it, from (grade id or None, error name or None) per code cell."""
    nb = nbformat.v4.new_notebook()
    for index, (grade_id, error) in enumerate(cells):
        cell = nbformat.v4.new_code_cell(f"\n# cell {index}\nstep({index})")
        if grade_id:
            cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": grade_id, "points": 1}
        if error:
            cell.outputs = [nbformat.v4.new_output("error", ename=error, evalue="why", traceback=[])]
        nb.cells.append(cell)
    return nb


def test_cells_that_fail_after_an_unwritten_function_are_not_reported_as_errors():
    lines, ok = report(_ran([("test_a", None), (None, "NotImplementedError"), (None, "NameError"),
                             (None, "NotImplementedError"), (None, "NameError")]))
    assert ok and lines == [
        "  PASS  test_a (1 pt)",
        "  TODO  cell 1 (# cell 1), outside the tests, calls a function that is not written yet; 2 later cells failed "
        "without its results",
        "1/1 visible tests pass. Hidden tests run when the notebook is graded."]


def test_an_error_before_any_unwritten_function_is_reported_first():
    lines, ok = report(_ran([(None, "ValueError"), ("test_a", "AssertionError"), (None, "NotImplementedError"),
                             (None, "NameError")]))
    assert not ok and lines == [
        "  FAIL  test_a (1 pt): AssertionError: why",
        "  ERROR outside the tests, first in cell 0 (# cell 0): ValueError: why",
        "  TODO  cell 2 (# cell 2), outside the tests, calls a function that is not written yet; 1 later cell failed "
        "without its results",
        "0/1 visible tests pass. Hidden tests run when the notebook is graded."]


# ---------------------------------------------------------------- the reader the grader and `hw4 check` share

def _edited(tmp_path, edit, filename="KL_derivation.ipynb"):
    nb = student_notebook("KL_derivation", reference_answers("KL_derivation"))
    edit(nb.cells)
    nbformat.write(nb, tmp_path / filename)
    return tmp_path / filename


def _index(cells, grade_id):
    return next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _copy_cell(cells, grade_id):
    copy = nbformat.from_dict(json.loads(json.dumps(cells[_index(cells, grade_id)])))
    copy.id = "a-copied-cell"
    cells.insert(_index(cells, grade_id), copy)


def _strip_but_empty(cells, grade_id):
    """An editor dropped every cell's metadata, and the student emptied the answer cell ``grade_id``."""
    cells[_index(cells, grade_id)].source = ""
    for cell in cells:
        cell.metadata.clear()


@pytest.mark.parametrize("edit, reason", [
    (lambda cells: _copy_cell(cells, "kl_mvn"), "the graded cell 'kl_mvn' appears 2 times"),
    (lambda cells: _copy_cell(cells, "test_kl_mvn_exact"), "'test_kl_mvn_exact' appears 2 times"),
    (lambda cells: cells.pop(_index(cells, "derivation")), "the answer cell 'derivation' was deleted"),
    (lambda cells: _strip_but_empty(cells, "kl_mc"),
     "the grader cannot put it back with certainty: no cell between 'test_kl_mvn_high_dim' and 'test_kl_mc_estimate'"),
])
def test_the_reader_finds_what_the_grader_cannot_grade(tmp_path, edit, reason):
    nb = read_notebook("KL_derivation", _edited(tmp_path, edit))
    assert nb.status == "invalid" and reason in nb.reason, nb.reason


@pytest.mark.parametrize("edit, note", [
    (lambda cells: cells.pop(_index(cells, "test_kl_mvn_exact")), "test cell 'test_kl_mvn_exact' was deleted"),
    (lambda cells: setattr(cells[_index(cells, "test_kl_mc_estimate")], "source", "pass"),
     "test cell 'test_kl_mc_estimate' was edited"),
    (lambda cells: cells.pop(_index(cells, "kl_mc")), "the answer cell 'kl_mc' was deleted"),
    (lambda cells: cells.pop(_index(cells, "imports")), "the locked cell 'imports' was deleted"),
])
def test_the_reader_notes_what_the_grader_restores_or_skips(tmp_path, edit, note):
    nb = read_notebook("KL_derivation", _edited(tmp_path, edit))
    assert nb.status == "ok" and any(note in n for n in nb.notes), nb.notes


def test_the_reader_rejects_entries_that_are_not_files_without_opening_them(tmp_path):
    (tmp_path / "folder.ipynb").mkdir()
    os.mkfifo(tmp_path / "pipe.ipynb")  # opening it for reading would block forever
    (tmp_path / "link.ipynb").symlink_to(tmp_path / "link.ipynb")  # a loop
    for name, kind in (("folder", "a folder"), ("pipe", "a named pipe"), ("link", "a symbolic link")):
        nb = read_notebook("VAE", tmp_path / f"{name}.ipynb")
        assert nb.status == "invalid" and kind in nb.reason, nb.reason


def test_check_reports_an_invalid_or_renamed_notebook_before_running_it(tmp_path):
    path = _edited(tmp_path, lambda cells: _copy_cell(cells, "kl_mvn"))
    run = _check(path)
    assert run.returncode == 1 and "INVALID" in run.stdout and "appears 2 times" in run.stdout
    assert "Running" not in run.stdout
    run = _check(_edited(tmp_path, lambda cells: None, "notes.ipynb"))
    assert run.returncode == 1 and "only collects KL_derivation.ipynb and VAE.ipynb" in run.stdout
