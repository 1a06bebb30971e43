"""`hw4 release`: the student notebooks, generated from the source notebooks by nbgrader, and the handout.

In the course folder ``root`` it writes the two student notebooks, ``student/hw4/graded_cells.json`` (what
the shared reader compares submissions with) and ``dist/hw4-handout.zip``: one folder ``hw4-handout/``
with the notebooks and the student package (``student/``), nothing of the instructor side.
"""
from pathlib import Path

import nbformat
from hw4.graded import describe, dumps

from .files import folder_entries, write_zip
from .course import SOURCE_DIR, released_notebooks

STUDENT_DIR = "student"
HANDOUT = Path("dist") / "hw4-handout.zip"
HANDOUT_FOLDER = "hw4-handout"
MANIFEST = Path(STUDENT_DIR) / "hw4" / "graded_cells.json"
SKIPPED = ("__pycache__", "build", "dist")  # build leftovers in student/, never handed out


def release(root):
    """Regenerate the student side of the course folder ``root``; return the paths whose bytes changed."""
    root = Path(root)
    notebooks = released_notebooks(root / SOURCE_DIR)
    files = {root / f"{name}.ipynb": data for name, data in notebooks.items()}
    files[root / MANIFEST] = manifest(notebooks)
    changed = [path for path, data in files.items() if _write_if_changed(path, data)]
    handout = root / HANDOUT
    before = handout.read_bytes() if handout.exists() else None
    write_zip(handout, handout_entries(root, notebooks))
    return changed + ([handout] if handout.read_bytes() != before else [])


def manifest(notebooks):
    """The cells of each released notebook, as JSON bytes (see hw4/graded.py)."""
    return dumps({name: describe(nbformat.reads(data.decode(), as_version=4)) for name, data in notebooks.items()})


def handout_entries(root, notebooks):
    """Archive name → bytes: the student notebooks and the student package, under one folder."""
    def keep(path):
        parts = path.relative_to(root / STUDENT_DIR).parts
        return not any(p.startswith(".") or p in SKIPPED or p.endswith(".egg-info") for p in parts) \
            and path.suffix != ".pyc"

    entries = folder_entries(root / STUDENT_DIR, HANDOUT_FOLDER, keep)
    entries.update({f"{HANDOUT_FOLDER}/{name}.ipynb": data for name, data in notebooks.items()})
    return entries


def _write_if_changed(path, data):
    if path.exists() and path.read_bytes() == data:
        return False
    path.write_bytes(data)
    return True
