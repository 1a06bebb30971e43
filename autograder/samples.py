"""Build submissions from the bundle's own notebooks: the demo class, tests and benchmarks use them.

A submission is the released student notebook with some solution cells filled in: with the reference
answer (taken from the source notebook), or with any code given by grade id. Both come from the source
notebooks installed with this package, so this works wherever the package does.
"""
from pathlib import Path

import nbformat
from nbgrader import utils

from .course import NOTEBOOKS, SOURCE, student_notebooks

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def reference_answers(name):
    """Grade id → the source notebook's answer, as a student would have typed it."""
    answers = {}
    for cell in nbformat.read(SOURCE / f"{name}.ipynb", as_version=4).cells:
        if utils.is_solution(cell):
            lines = [line for line in cell.source.splitlines() if line.strip() not in MARKERS]
            answers[cell.metadata.nbgrader["grade_id"]] = "\n".join(lines)
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


def demo_class(dest):
    """A small class showing every kind of row: full marks, blanks, partial, broken, missing, cheating."""
    dest = Path(dest)
    full = {name: reference_answers(name) for name in NOTEBOOKS}
    write_submission(dest / "ada", full)
    write_submission(dest / "ben", {name: {} for name in NOTEBOOKS})
    write_submission(dest / "cy", {"KL_derivation": full["KL_derivation"], "VAE": {}})
    write_submission(dest / "dee", {"KL_derivation": full["KL_derivation"]})
    (dest / "dee" / "VAE.ipynb").write_text('{"cells": [ this is not JSON')
    (dest / "eve").mkdir(parents=True, exist_ok=True)
    write_submission(dest / "fay", {"KL_derivation": {**full["KL_derivation"], "kl_mvn": CHEAT}, "VAE": full["VAE"]})
    return dest
