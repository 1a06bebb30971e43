"""Find each student's notebooks and check that they can be graded, without modifying anything.

Every folder in SUBMISSIONS is one student. For each expected notebook we produce either a clean
nbformat-4 notebook to grade or a status (``missing``/``invalid``) with a reason a person can act on.
"""
import hashlib
import json
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils

from .course import ASSIGNMENT, NOTEBOOKS, autograded_tests

MAX_BYTES = 20 * 1024 * 1024


@dataclass
class Notebook:
    name: str
    status: str = "ok"  # ok, invalid or missing
    reason: str = ""
    filename: str = ""  # the submitted file graded as this notebook
    notes: list[str] = field(default_factory=list)
    text: str | None = None  # the notebook to grade, as nbformat-4 JSON
    sha256: str = ""  # of the submitted bytes, to tell whether a regrade is needed


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
    notebooks = {name: read_notebook(name, _locate(name, files)) for name in NOTEBOOKS}
    graded = {nb.filename for nb in notebooks.values()}
    extra = [p.name for p in files if p.name not in graded]
    if extra:
        notebooks[NOTEBOOKS[0]].notes.append("ignored extra notebooks: " + ", ".join(extra))
    return notebooks


def _canonical(stem):
    """'VAE (1)', 'vae-copy', 'Vae_final' → 'vae': how renamed downloads usually differ."""
    stem = re.sub(r"\s*\(\d+\)$", "", stem.lower())
    return re.sub(r"[\s_\-]*(copy|final|submission|v\d+)$", "", stem).replace(" ", "_").replace("-", "_")


def _locate(name, files):
    """The file to grade as ``name``: the exact name, else one unambiguous renamed file, else None."""
    for path in files:
        if path.stem == name:
            return path
    renamed = [p for p in files if _canonical(p.stem) == name.lower() and p.stem not in NOTEBOOKS]
    return renamed[0] if len(renamed) == 1 else None


def read_notebook(name, path):
    nb = Notebook(name)
    if path is None:
        return _fail(nb, "missing", f"{name}.ipynb was not submitted")
    nb.filename = path.name
    if path.stem != name:
        nb.notes.append(f"graded '{path.name}' as {name}.ipynb")
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return _fail(nb, "invalid", f"{path.name} is a symbolic link, not a file")
    if info.st_size == 0:
        return _fail(nb, "invalid", f"{path.name} is empty (0 bytes)")
    if info.st_size > MAX_BYTES:
        return _fail(nb, "invalid", f"{path.name} is {info.st_size / 2**20:.0f} MiB; the limit is "
                                    f"{MAX_BYTES // 2**20} MiB (clear the outputs and submit again)")
    data = path.read_bytes()
    nb.sha256 = hashlib.sha256(data).hexdigest()
    try:
        return _parse(nb, path.name, data.decode("utf-8"))
    except UnicodeDecodeError:
        return _fail(nb, "invalid", f"{path.name} is not UTF-8 text, so it is not a notebook")


def _parse(nb, filename, text):
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        return _fail(nb, "invalid", f"{filename} is not valid JSON ({err.msg} at line {err.lineno}): "
                                    "the file is damaged; download your notebook again from Jupyter")
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        return _fail(nb, "invalid", f"{filename} is JSON but not a Jupyter notebook")
    try:
        with warnings.catch_warnings():  # its warnings about cell ids are reported as a note instead
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises several types for malformed notebooks
        return _fail(nb, "invalid", f"{filename} is not a readable notebook: {err}")
    if raw.get("nbformat", 4) < 4:
        nb.notes.append(f"{filename} was in nbformat {raw.get('nbformat')}; converted to nbformat 4")
    _note_duplicate_ids(nb, raw)
    if not any("nbgrader" in cell.get("metadata", {}) for cell in notebook.cells):
        return _fail(nb, "invalid", f"{filename} has lost its grading metadata (it was saved by a tool that "
                                    "strips cell metadata): copy your answers into a fresh copy of the notebook")
    _note_test_changes(nb, notebook)
    nb.text = nbformat.writes(notebook)
    return nb


def _note_test_changes(nb, notebook):
    """Say which test cells were edited or deleted; nbgrader restores both from the source when grading."""
    present = set()
    for cell in notebook.cells:
        if utils.is_grade(cell) and not utils.is_solution(cell):
            grade_id = cell.metadata.nbgrader.get("grade_id")
            present.add(grade_id)
            if cell.metadata.nbgrader.get("checksum") not in (None, utils.compute_checksum(cell)):
                nb.notes.append(f"test cell '{grade_id}' was edited; the grader restored and ran the original")
    for notebook_name, test_id, _ in autograded_tests():
        if notebook_name == nb.name and test_id not in present:
            nb.notes.append(f"test cell '{test_id}' was deleted; the grader restored and ran it")


def _note_duplicate_ids(nb, raw):
    """nbformat gives duplicated or missing cell ids fresh ones as it reads; say so."""
    ids = [cell.get("id") for cell in raw.get("cells", []) if isinstance(cell, dict)]
    repaired = len(ids) - len({i for i in ids if i})
    if repaired and raw.get("nbformat_minor", 0) >= 5:
        nb.notes.append(f"gave {repaired} cells with duplicated or missing ids new ids")


def _fail(nb, status, reason):
    nb.status, nb.reason = status, reason
    return nb
