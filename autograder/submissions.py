"""Find each student's notebooks and check that they can be graded, without modifying anything.

Every entry in SUBMISSIONS is one student, whatever it is: a student who uploaded a file, a link or a
pipe where their folder should be still gets a row saying so. For each expected notebook we produce
either a clean nbformat-4 notebook to grade or a status (``missing``/``invalid``) with a reason a person
can act on. Each file is read by ``hw4.submission``, the same reader `hw4 check` gives students. Entries
are classified with lstat before anything opens them, so a named pipe or a device never blocks a run.
"""
from pathlib import Path

from hw4.submission import Notebook, entry_kind, locate, read_notebook

from .course import ASSIGNMENT, NOTEBOOKS


class SubmissionsError(RuntimeError):
    pass


def find_students(submissions):
    """Student id → entry, for every entry directly in ``submissions`` (hidden ones excepted)."""
    try:
        entries = sorted(Path(submissions).iterdir())
    except OSError as err:
        raise SubmissionsError(f"cannot list the submissions folder {submissions}: {err.strerror}") from None
    return {p.name: p for p in entries if not p.name.startswith(".")}


def read_student(entry):
    """Name → :class:`Notebook` for every notebook of the assignment."""
    try:
        what = entry_kind(entry) or "a file"
        if what != "a folder":
            return _unreadable(f"the student folder is {what}, not a folder holding the notebooks")
        folder, stray = _notebook_folder(Path(entry))
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".ipynb")
    except OSError as err:  # no permission, or removed while we read
        return _unreadable(f"the student folder cannot be read ({err.strerror})")
    if stray and not files:
        return _unreadable(stray)
    notebooks = {name: read_notebook(name, locate(name, files)) for name in NOTEBOOKS}
    graded = {nb.filename for nb in notebooks.values()}
    extra = [p.name for p in files if p.name not in graded]
    notes = notebooks[NOTEBOOKS[0]].notes
    if extra:
        notes.append("ignored extra notebooks: " + ", ".join(extra))
    if stray:
        notes.append(f"ignored {stray}")
    return notebooks


def gradable(notebooks):
    """Whether any of a student's notebooks can be run: else grading needs no kernel."""
    return any(nb.text is not None for nb in notebooks.values())


def _notebook_folder(folder):
    """The folder holding the notebooks (nbgrader's <student_id>/hw4/ layout too), and what is wrong with
    a ``hw4`` entry that is not a folder ('' when nothing is)."""
    try:
        what = entry_kind(folder / ASSIGNMENT) or "a file"
    except FileNotFoundError:
        return folder, ""
    if what == "a folder":
        return folder / ASSIGNMENT, ""
    return folder, f"{ASSIGNMENT} is {what}, not a folder holding the notebooks"


def _unreadable(reason):
    return {name: Notebook(name, "invalid", reason) for name in NOTEBOOKS}
