"""Build submissions from the bundle's own notebooks: the demo class, tests and benchmarks use them.

A submission is the released student notebook with some solution cells filled in: with the reference
answer (taken from the source notebook), or with any code given by grade id. Both come from the source
notebooks installed with this package, so this works wherever the package does.
"""
import csv
import io
from pathlib import Path

import nbformat
from nbgrader import utils

from .course import NOTEBOOKS, SOURCE, autograded_tests, hand_graded_points, student_notebooks
from .files import write_atomic, write_zip
from .formgrader import without_rubric

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def reference_answers(name):
    """Grade id → the source notebook's answer, as a student would have typed it."""
    answers = {}
    for cell in nbformat.read(SOURCE / f"{name}.ipynb", as_version=4).cells:
        if utils.is_solution(cell):
            lines = [line for line in cell.source.splitlines() if line.strip() not in MARKERS]
            answers[cell.metadata.nbgrader["grade_id"]] = without_rubric("\n".join(lines))  # for graders only
    return answers


def student_notebook(name, answers):
    """The released notebook ``name`` with the solution cells in ``answers`` (grade id → source) filled in."""
    nb = nbformat.reads(student_notebooks()[name].decode(), as_version=4)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def write_submission(folder, answers_by_notebook):
    """Write one student's folder; ``answers_by_notebook`` maps a notebook name to its answers."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, answers in answers_by_notebook.items():
        nbformat.write(student_notebook(name, answers), folder / f"{name}.ipynb")
    return folder


CHEAT = '''def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    """Returns zeros, and makes every comparison pass in its own process."""
    torch.allclose = lambda *args, **kwargs: True
    torch.testing.assert_close = lambda *args, **kwargs: None
    return torch.zeros(torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1]), dtype=mu1.dtype)'''


def notebook_bytes(name, answers):
    """The bytes of the released notebook ``name`` answered with ``answers``, as Jupyter saves it."""
    return nbformat.writes(student_notebook(name, answers)).encode()


def demo_class():
    """A small class showing every kind of row: full marks, blanks, partial, broken, missing, cheating,
    a resubmission and a late hand-in. Canvas user id → (name as Canvas sorts it, files, late)."""
    full = {name: reference_answers(name) for name in NOTEBOOKS}
    blank = {f"{name}.ipynb": notebook_bytes(name, {}) for name in NOTEBOOKS}
    cheat = {**full["KL_derivation"], "kl_mvn": CHEAT}
    return {
        1001: ("Lovelace, Ada", {f"{name}.ipynb": notebook_bytes(name, full[name]) for name in NOTEBOOKS}, False),
        # Ben uploaded twice: Canvas numbers the second VAE.ipynb "VAE-1.ipynb"; the latest counts
        1002: ("Babbage, Ben", {**blank, "VAE-1.ipynb": blank["VAE.ipynb"]}, False),
        1003: ("Young, Cy", {"KL_derivation.ipynb": notebook_bytes("KL_derivation", full["KL_derivation"]),
                             "VAE.ipynb": blank["VAE.ipynb"]}, True),
        1004: ("Dee, Dee", {"KL_derivation.ipynb": notebook_bytes("KL_derivation", full["KL_derivation"]),
                            "VAE.ipynb": b'{"cells": [ this is not JSON'}, False),
        1005: ("Evans, Eve", {}, False),  # handed in nothing: only the roster knows her
        1006: ("Fay, Fay", {"KL_derivation.ipynb": notebook_bytes("KL_derivation", cheat),
                            "VAE.ipynb": notebook_bytes("VAE", full["VAE"])}, False),
    }


DEMO_ASSIGNMENT = "HW4 (12345)"  # as Canvas titles an assignment's column: its name and its id
DEMO_FLAGGED_PENALTY = "10%"  # what the demo takes off a submission Canvas flags late


def write_demo(folder):
    """The demo class as an instructor gets it from Canvas: the submissions' zip and the gradebook export."""
    students = demo_class()
    points = sum(points for _, _, points in autograded_tests()) + hand_graded_points()
    return (canvas_download(Path(folder) / "canvas-download.zip", students),
            canvas_roster(Path(folder) / "canvas-gradebook.csv", students, DEMO_ASSIGNMENT, points))


def canvas_download(path, students, first_submission=50001):
    """Write ``students`` (demo_class's shape) as Canvas's "Download Submissions" zip names its files:
    ``<sortable name>[_LATE]_<user id>_<submission id>_<file name>`` (see docs/lms.md)."""
    entries = {}
    for offset, (user_id, (name, files, late)) in enumerate(sorted(students.items())):
        sortable = "".join(ch for ch in name.lower() if ch.isalnum())
        for filename, data in files.items():
            entries[f"{sortable}{'_LATE' if late else ''}_{user_id}_{first_submission + offset}_{filename}"] = data
    write_zip(path, entries)
    return Path(path)


def canvas_roster(path, students, assignment, points):
    """Write the gradebook CSV Canvas exports for ``students``, with ``assignment``'s column (out of ``points``)
    still empty."""
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment],
            ["    Points Possible", "", "", "", "", f"{points:g}"]]
    rows += [[name, str(user_id), f"S{user_id}", f"student{user_id}@example.edu", "HW section 1", ""]
             for user_id, (name, _, _) in sorted(students.items())]
    table = io.StringIO()
    csv.writer(table, lineterminator="\n").writerows(rows)
    write_atomic(path, table.getvalue())
    return Path(path)
