"""From what a student uploaded to the notebooks to grade, without modifying anything.

:func:`read_upload` turns an :class:`~autograder.records.Upload` (what an intake reader found) into
name → ``hw4.submission.Notebook``: for each expected notebook either a clean nbformat-4 notebook to grade
or a status (``missing``/``invalid``) with a reason a person can act on. Each file is parsed by
``hw4.submission``, the same reader `hw4 check` gives students; its bytes come through ``UploadFile.read``,
so a file in a zip is read like a file in a folder, and a link, a pipe or a device is never opened.
"""
import os
from functools import partial
from pathlib import Path, PurePosixPath

from hw4.course import MAX_NOTEBOOK_BYTES
from hw4.submission import Notebook, check_size, locate, notebook_from_bytes, read_notebook

from .course import NOTEBOOKS
from .intake import IntakeError, read_class
from .intake.folders import student_upload
from .intake.sources import folder_entry, hidden, readable
from .records import Upload

SubmissionsError = IntakeError  # SOURCE cannot be read at all (the name callers catch)


def read_upload(upload):
    """Name → :class:`Notebook` for every notebook of the assignment. Notes on the upload as a whole (files
    ignored, what the intake did) go to the first notebook's notes."""
    if upload.problem:
        return _unreadable(upload.problem, upload.notes)
    files = [f for f in upload.files if not hidden(f.path)]
    candidates = {f.path: f for f in files if f.path.suffix.lower() == ".ipynb"}
    chosen = {name: locate(name, list(candidates)) for name in NOTEBOOKS}
    notebooks = {name: _notebook(name, candidates.get(path)) for name, path in chosen.items()}
    extra = [str(path) for path in candidates if path not in chosen.values()]
    others = [str(f.path) + ("/" if f.kind == "a folder" else "") for f in files if f.path not in candidates]
    notes = notebooks[NOTEBOOKS[0]].notes
    if extra:
        notes.append("ignored extra notebooks: " + ", ".join(extra))
    if others:
        notes.append("ignored files that are not notebooks: " + ", ".join(others))
    notes += upload.notes
    return notebooks


def _notebook(name, file):
    if file is None:
        return read_notebook(name, None)
    return notebook_from_bytes(name, file.name, partial(_contents, file))


def _contents(file):
    """The bytes of ``file`` if it can be a notebook; else ValueError saying why not."""
    if file.kind:
        raise ValueError(f"{file.name} is {file.kind}, not a notebook file")
    check_size(file.name, file.size)
    data = file.read(MAX_NOTEBOOK_BYTES)
    check_size(file.name, len(data) if len(data) <= MAX_NOTEBOOK_BYTES else max(len(data), file.size))
    return data


def find_students(submissions, fmt=None):
    """Student id → :class:`Upload`, for every student in ``submissions`` (a folder or zip, any layout)."""
    return read_class(submissions, fmt).uploads


def read_student(entry):
    """Name → :class:`Notebook` for an :class:`Upload`, or for the student folder at the path ``entry``."""
    if not isinstance(entry, Upload):
        path = Path(entry)
        entry = student_upload(folder_entry(path), PurePosixPath(readable(os.fsencode(path.name))))
    return read_upload(entry)


def gradable(notebooks):
    """Whether any of a student's notebooks can be run: else grading needs no kernel."""
    return any(nb.text is not None for nb in notebooks.values())


def _unreadable(reason, notes=()):
    notebooks = {name: Notebook(name, "invalid", reason) for name in NOTEBOOKS}
    notebooks[NOTEBOOKS[0]].notes += list(notes)
    return notebooks
