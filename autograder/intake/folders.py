"""One folder per student, named by the student id, holding the notebooks (or nbgrader's ``<id>/hw4/``).

Every entry at the top is one student, whatever it is: a student who uploaded a file, a link or a pipe
where their folder should be still gets a row saying so. Entries are classified from lstat when the
source is listed, so a named pipe or a device is never opened.
"""
from pathlib import PurePosixPath

from hw4.course import ASSIGNMENT

from ..records import Student, Upload

NAME = "folders"
TITLE = "one folder per student"
PRIORITY = 100  # the layout left when no LMS's names are recognised


def recognises(source):
    return True


def read(source):
    """The uploads of the student folders directly in ``source``, and no class notes."""
    return [student_upload(source, PurePosixPath(name)) for name in top_names(source)], []


def top_names(source):
    """The first path part of every entry: the students (a zip need not list their folders as entries)."""
    return sorted({entry.path.parts[0] for entry in source.entries})


def student_upload(source, folder, student=None):
    """The :class:`Upload` of the student whose entry is ``folder``."""
    upload = Upload(student or Student(id=folder.name))
    what = source.kind(folder) or "a file"
    if what == "nothing":  # only when asked for one folder by its path
        upload.problem = "the student folder cannot be read (No such file or directory)"
    elif what != "a folder":
        upload.problem = f"the student folder is {what}, not a folder holding the notebooks"
    elif folder in source.unreadable:
        upload.problem = f"the student folder cannot be read ({source.unreadable[folder]})"
    else:
        _notebook_files(source, folder, upload)
    return upload


def _notebook_files(source, folder, upload):
    """Fill ``upload`` from the folder holding the notebooks: ``folder``, or its ``hw4`` folder."""
    nested = folder / ASSIGNMENT
    what = source.kind(nested) or "a file"
    if what == "a folder":
        if nested in source.unreadable:
            upload.problem = f"the student folder cannot be read ({source.unreadable[nested]})"
        upload.files = _direct(source, nested)
        return
    upload.files = [f for f in _direct(source, folder) if f.path != PurePosixPath(ASSIGNMENT)]
    if what == "nothing":
        return
    stray = f"{ASSIGNMENT} is {what}, not a folder holding the notebooks"
    if any(f.path.suffix.lower() == ".ipynb" for f in upload.files):
        upload.notes.append(f"ignored {stray}")
    else:
        upload.problem = stray


def _direct(source, folder):
    """The entries directly in ``folder``, with paths relative to it."""
    return [f for f in source.below(folder) if len(f.path.parts) == 1]
