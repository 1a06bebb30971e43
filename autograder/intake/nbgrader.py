"""nbgrader's own collected submissions: ``submitted/<student_id>/hw4/`` with a ``timestamp.txt``.

Followed: nbgrader's course directory (``CourseDirectory.submitted_directory``, ``{student_id}/{assignment_id}``)
and its exchange, which writes ``timestamp.txt`` in ``ExchangeSubmit`` with ``timestamp_format``
(``%Y-%m-%d %H:%M:%S.%f %Z``); read back with nbgrader's own ``parse_utc``. SOURCE may be the course's
``submitted/`` folder or a folder (or zip) holding it. Each student folder is read as in ``folders``.
"""
from datetime import timezone
from pathlib import PurePosixPath

from hw4.course import ASSIGNMENT

from ..records import Student
from . import folders
from .sources import Source

NAME = "nbgrader"
TITLE = "nbgrader's submitted folder"
PRIORITY = 20
SUBMITTED = "submitted"
TIMESTAMP = "timestamp.txt"


def recognises(source):
    return _submitted(source) is not None or any(_stamped(e.path, 0) for e in source.entries)


def read(source):
    submitted = _submitted(source)
    notes = []
    if submitted is not None:
        others = [name for name in folders.top_names(source) if name != SUBMITTED]
        notes += [f"read {SUBMITTED}/; ignored the rest: {', '.join(others)}"] if others else []
        source = Source(source.path, source.below(SUBMITTED),
                        {p.relative_to(SUBMITTED): why for p, why in source.unreadable.items()
                         if SUBMITTED in p.parents}, source.is_zip)
    uploads = []
    for name in folders.top_names(source):
        folder = PurePosixPath(name)
        student, note = _student(source, folder)
        upload = folders.student_upload(source, folder, student)
        upload.files = [f for f in upload.files if f.path.name != TIMESTAMP]
        upload.notes += [note] if note else []
        uploads.append(upload)
    return uploads, notes


def _stamped(path, depth):
    """Whether ``path`` is a ``<student>/hw4/timestamp.txt``, ``depth`` folders below the root."""
    parts = path.parts[depth:]
    return len(parts) == 3 and parts[1:] == (ASSIGNMENT, TIMESTAMP)


def _submitted(source):
    """``submitted`` when the root holds nbgrader's ``submitted/<student>/hw4/`` folders (a course folder,
    or a folder holding just that), else None."""
    if source.kind(SUBMITTED) != "a folder":
        return None
    inside = [e.path for e in source.entries if e.path.parts[0] == SUBMITTED]
    if any(_stamped(path, 1) or path.parts[2:] == (ASSIGNMENT,) for path in inside):
        return SUBMITTED
    return SUBMITTED if folders.top_names(source) == [SUBMITTED] else None


def _student(source, folder):
    """The student of ``folder``, with the time in its timestamp.txt; and a note when that cannot be read."""
    entry = next((e for e in source.entries if e.path == folder / ASSIGNMENT / TIMESTAMP and e.kind is None), None)
    if entry is None:
        return Student(folder.name), ""
    try:
        from nbgrader.utils import parse_utc  # here: importing nbgrader takes seconds, every hw4 command lists this

        when = parse_utc(entry.read(1000)[:1000].decode("utf-8").strip()).replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError, UnicodeDecodeError, TypeError) as err:
        return Student(folder.name), f"{TIMESTAMP} could not be read ({err}): no submission time"
    return Student(folder.name, submitted_at=when.isoformat()), ""
