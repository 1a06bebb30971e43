"""Read a submitted notebook the way the grader does, and say whether it can be graded.

The grader (``autograder/submissions.py``) and `hw4 check` share this reader, so a student sees the
verdict before the deadline. A notebook is compared with ``graded_cells.json`` (graded.py), which
`hw4 release` writes from the released notebooks: the graded cells each notebook must hold once, and the
fingerprints of the cells the grader restores from its own copy (tests and locked cells). What editors do
to a file while the work stays whole is repaired and noted: a byte-order mark, UTF-16, cell metadata dropped
on save (repair.py). Nothing here runs the notebook.
"""
import codecs
import hashlib
import json
import os
import re
import stat
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from hw4.course import MAX_NOTEBOOK_BYTES, NOTEBOOKS
from hw4.graded import RESTORED, fingerprint, graded_cells, manifest, role
from hw4.repair import CannotRepair, Repaired, repair


@dataclass
class Notebook:
    name: str
    status: str = "ok"  # ok, invalid or missing
    reason: str = ""
    filename: str = ""  # the submitted file graded as this notebook
    notes: list[str] = field(default_factory=list)  # for the student's row: what the grader saw, fixed or skipped
    repairs: list[Repaired] = field(default_factory=list)  # what the reader repaired (also in notes)
    text: str | None = None  # the notebook to grade, as nbformat-4 JSON
    sha256: str = ""  # of the submitted bytes, to tell whether a regrade is needed

    def repaired(self, what):
        self.repairs.append(what)
        self.notes.append(what.note())


# ---------------------------------------------------------------- which file is which notebook

def _canonical(stem):
    """'VAE (1)', 'vae-copy', 'Vae_final' → 'vae': how renamed downloads usually differ."""
    stem = re.sub(r"\s*\(\d+\)$", "", stem.lower())
    return re.sub(r"[\s_\-]*(copy|final|submission|v\d+)$", "", stem).replace(" ", "_").replace("-", "_")


def locate(name, files):
    """The file to grade as ``name``: the exact name, else one unambiguous renamed file, else None."""
    for path in files:
        if path.stem == name:
            return path
    renamed = [p for p in files if _canonical(p.stem) == name.lower() and p.stem not in NOTEBOOKS]
    return renamed[0] if len(renamed) == 1 else None


def notebook_name(path):
    """The notebook a file would be graded as, or None when the grader would not pick it up."""
    return next((name for name in NOTEBOOKS if locate(name, [Path(path)])), None)


# ---------------------------------------------------------------- reading

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a named pipe"),
         (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def read_notebook(name, path):
    """A :class:`Notebook` for the file at ``path`` (None: not submitted), graded as ``name``."""
    if path is None:
        return _fail(Notebook(name), "missing", f"{name}.ipynb was not submitted")
    path = Path(path)
    return notebook_from_bytes(name, path.name, lambda: _read_regular(path))


def notebook_from_bytes(name, filename, read):
    """A :class:`Notebook` for the bytes ``read()`` returns, of the file ``filename``, graded as ``name``.

    ``read`` raises OSError or ValueError saying why the file cannot be had; the grader passes one that
    reads from a zip as well as from a folder."""
    nb = Notebook(name, filename=filename)
    if Path(filename).stem != name:
        nb.notes.append(f"graded '{filename}' as {name}.ipynb")
    try:
        data = read()
    except (OSError, ValueError) as err:
        return _fail(nb, "invalid", str(err))
    nb.sha256 = hashlib.sha256(data).hexdigest()
    try:
        text = _decode(nb, filename, data)
    except ValueError as err:
        return _fail(nb, "invalid", str(err))
    return _parse(nb, filename, text)


def _decode(nb, filename, data):
    """The text of a notebook file: UTF-8 as Jupyter writes it, or as Windows editors save it, with a
    byte-order mark (BOM) first, which JSON forbids (RFC 8259 §8.1), or in UTF-16 (Notepad's "Unicode")."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")  # the BOM says which byte order, and is dropped
        except UnicodeDecodeError:
            raise ValueError(f"{filename} is UTF-16 text (as Windows Notepad saves it) but damaged, so it cannot be "
                             "read: save it again from Jupyter, which writes UTF-8") from None
        nb.repaired(Repaired(f"{filename} was saved as UTF-16 text (as Windows Notepad does)", "it is read as UTF-16"))
        return text
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        text = data[len(codecs.BOM_UTF8) if bom else 0:].decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{filename} is not UTF-8 text, so it is not a notebook") from None
    if bom:
        nb.repaired(Repaired(f"{filename} starts with a byte-order mark (BOM), which some Windows editors add",
                             "the mark is dropped"))
    return text


def entry_kind(path):
    """What ``path`` is, from lstat (never opened, never followed): 'a folder', 'a named pipe', ...;
    None for a regular file."""
    return next((what for test, what in KINDS if test(os.lstat(path).st_mode)), None)


def _read_regular(path):
    """The bytes of ``path`` if it is a readable regular file of a sane size; never blocks on a pipe."""
    kind = entry_kind(path)
    if kind:
        raise ValueError(f"{path.name} is {kind}, not a notebook file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except PermissionError:
        raise ValueError(f"{path.name} cannot be read (permission denied)") from None
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped for something else since lstat
            raise ValueError(f"{path.name} is not a regular file")
        check_size(path.name, size)
        return f.read(MAX_NOTEBOOK_BYTES + 1)


def check_size(filename, size):
    """Raise ValueError when a file of ``size`` bytes cannot be a notebook to grade: empty, or over the limit."""
    if size == 0:
        raise ValueError(f"{filename} is empty (0 bytes)")
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"{filename} is {size / 2**20:.0f} MiB; the limit is {MAX_NOTEBOOK_BYTES // 2**20} MiB "
                         "(clear the outputs and submit again)")


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
    released = manifest()[nb.name]
    try:
        repaired = repair(notebook, released)
    except CannotRepair as err:
        return _fail(nb, "invalid", f"{filename}: {err}")
    if repaired:
        nb.repaired(repaired)
    problem = _compare_cells(nb, notebook, graded_cells(released))
    if problem:
        return _fail(nb, "invalid", f"{filename}: {problem}")
    nb.text = nbformat.writes(notebook)
    return nb


def _compare_cells(nb, notebook, expected):
    """Compare the graded cells with the release: notes for what the grader fixes, else the reason it cannot."""
    ids = Counter(cell.metadata.nbgrader.get("grade_id") for cell in notebook.cells if role(cell))
    copies = sorted(grade_id for grade_id, count in ids.items() if count > 1)
    if copies:
        return (f"the graded cell '{copies[0]}' appears {ids[copies[0]]} times (a copied cell keeps its "
                "grading metadata); keep one and delete the copies")
    present = {cell.metadata.nbgrader["grade_id"]: cell for cell in notebook.cells if role(cell)}
    for grade_id, entry in expected.items():
        cell = present.get(grade_id)
        if cell is None and entry.role == "written":
            return (f"the answer cell '{grade_id}' was deleted, so the notebook cannot be graded: copy your answers "
                    "into a fresh copy of the notebook")
        if cell is None:
            nb.notes.append({"answer": f"the answer cell '{grade_id}' was deleted; the tests of it fail",
                             "test": f"test cell '{grade_id}' was deleted; the grader restored and ran it",
                             "locked": f"the locked cell '{grade_id}' was deleted; the cells after it may fail",
                             }[entry.role])
        elif entry.role in RESTORED and fingerprint(cell) != entry.sha256:
            what = "test cell" if entry.role == "test" else "cell"
            nb.notes.append(f"{what} '{grade_id}' was edited; the grader restored and ran the original")
    return None


def _note_duplicate_ids(nb, raw):
    """nbformat gives duplicated or missing cell ids fresh ones as it reads; say so."""
    ids = [cell.get("id") for cell in raw.get("cells", []) if isinstance(cell, dict)]
    repaired = len(ids) - len({i for i in ids if i})
    if repaired and raw.get("nbformat_minor", 0) >= 5:
        nb.notes.append(f"gave {repaired} cells with duplicated or missing ids new ids")


def _fail(nb, status, reason):
    nb.status, nb.reason = status, reason
    return nb
