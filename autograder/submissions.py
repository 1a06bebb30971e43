"""Find each student's notebooks and check that they can be graded, without modifying anything.

Every folder in SUBMISSIONS is one student. For each expected notebook we produce either a clean
nbformat-4 notebook to grade or a status (``missing``/``invalid``) with a reason a person can act on.
Each file is read by ``hw4.submission``, the same reader `hw4 check` gives students.
"""
from pathlib import Path

from hw4.submission import Notebook, locate, read_notebook

from .course import ASSIGNMENT, NOTEBOOKS


def find_students(submissions):
    """Student id → folder, for every folder directly in ``submissions`` (hidden ones excepted)."""
    return {p.name: p for p in sorted(Path(submissions).iterdir()) if p.is_dir() and not p.name.startswith(".")}


def read_student(folder):
    """Name → :class:`Notebook` for every notebook of the assignment."""
    folder = Path(folder)
    if folder.is_symlink():
        return {name: Notebook(name, "invalid", "the student folder is a symbolic link") for name in NOTEBOOKS}
    nested = folder / ASSIGNMENT  # nbgrader's <student_id>/hw4/ layout
    if nested.is_dir() and not nested.is_symlink():
        folder = nested
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".ipynb")
    notebooks = {name: read_notebook(name, locate(name, files)) for name in NOTEBOOKS}
    graded = {nb.filename for nb in notebooks.values()}
    extra = [p.name for p in files if p.name not in graded]
    if extra:
        notebooks[NOTEBOOKS[0]].notes.append("ignored extra notebooks: " + ", ".join(extra))
    return notebooks
