"""Moodle's "Download all submissions", flat or "in folders".

Followed: Moodle's downloader (moodle/moodle, mod/assign/classes/downloader.php): each student's prefix is
``<full name>_<participant id>`` (underscores in the name become spaces; "Participant" under blind
marking), then ``_assignsubmission_<plugin>``; flat, each file is ``<prefix>_assignsubmission_file_<file>``;
in folders, each file is ``<prefix>_assignsubmission_file/<file>`` (``..._file_/`` before Moodle 4.1).
The online text plugin gives ``..._assignsubmission_onlinetext_onlinetext.html``. The participant id is
the student's key: two students may share a name.
"""
import re
from pathlib import PurePosixPath

from ..records import Student, Upload, UploadFile
from .sources import unnamed

NAME = "moodle"
TITLE = "a Moodle download"
PRIORITY = 30

PREFIX = r"(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)"
FLAT = re.compile(PREFIX + r"_(?P<filename>.+)")
FOLDER = re.compile(PREFIX + r"_?")


def recognises(source):
    return any("_assignsubmission_" in entry.path.name for entry in source.children())


def read(source):
    """One upload per participant id, from flat files and folders alike."""
    students, files, ignored = {}, {}, []
    for entry in source.children():
        folder = FOLDER.fullmatch(entry.path.name) if entry.kind == "a folder" else None
        flat = FLAT.fullmatch(entry.path.name) if entry.kind != "a folder" else None
        if folder:
            found = [(f.path, f) for f in source.below(entry.path) if f.kind != "a folder"]
        elif flat:
            found = [(PurePosixPath(flat["filename"]), entry)]
        else:
            ignored.append(entry.path.name)
            continue
        match = folder or flat
        students[match["id"]] = Student(match["id"], name=match["name"])
        files.setdefault(match["id"], []).extend(UploadFile(path, f.read, f.kind, f.size) for path, f in found)
    uploads = [Upload(students[sid], files=sorted(files[sid], key=lambda f: f.path)) for sid in sorted(students)]
    return uploads, unnamed(ignored, "Moodle")
