"""Canvas's "Download Submissions": one flat zip, each file named for the student who handed it in.

Followed: Canvas's own zipper (instructure/canvas-lms, lib/content_zipper.rb, ``zip_assignment``), which
names each file ``<sortable name>[ LATE]_<user id>_<file id>_<file name>``, spaces and punctuation in the
name turned into '-' and everything lowercased (current Canvas drops them: ``smithjane``, and writes
``_LATE``); a text entry or a link becomes ``<name>_<user id>_text.html`` / ``_link.html``. Anonymous
grading puts ``anon<id>`` where the name and user id would be. A file uploaded again under the same name
gets ``-1``, ``-2``... before its extension. The user id is the student's key: the name is not unique.
"""
import re
from pathlib import PurePosixPath

from hw4.submission import notebook_name

from ..records import Student, Upload, UploadFile
from .sources import hidden, unnamed

NAME = "canvas"
TITLE = "a Canvas download"
PRIORITY = 40

FILE = re.compile(r"(?P<name>.*?)(?P<late>[_ -]late)?_(?P<user>\d+)_(?P<file>\d+)_(?P<filename>.+)", re.I)
ANONYMOUS = re.compile(r"(?P<user>anon[a-z0-9]*)(?P<late>[_ -]late)?_(?P<file>\d+)_(?P<filename>.+)", re.I)
ENTRY = re.compile(r"(?P<name>.*?)(?P<late>[_ -]late)?_(?P<user>\d+)_(?P<filename>text\.html|link\.html)", re.I)
RESUBMITTED = re.compile(r"(?P<base>.+)-(?P<n>\d+)")  # a file stem with Canvas's -N suffix


def _parse(name):
    for pattern in (FILE, ANONYMOUS, ENTRY):
        match = pattern.fullmatch(name)
        if match:
            return match
    return None


def recognises(source):
    files = [e for e in source.children() if e.kind != "a folder"]
    named = [e for e in files if _parse(e.path.name)]
    return bool(named) and 2 * len(named) >= len(files)


def read(source):
    """One upload per Canvas user id; a class note for entries Canvas would not have named so."""
    students, files, ignored = {}, {}, []
    for entry in source.children():
        match = _parse(entry.path.name) if entry.kind != "a folder" else None
        if match is None:
            ignored.append(entry.path.name)
            continue
        user = match["user"]
        late = students.get(user, Student(user)).late or bool(match["late"])
        students[user] = Student(user, name=match.groupdict().get("name") or "", late=late)
        files.setdefault(user, []).append((int(match.groupdict().get("file") or 0), entry, match["filename"]))
    uploads = [_upload(students[user], files[user]) for user in sorted(students)]
    return uploads, unnamed(ignored, "Canvas")


def _upload(student, found):
    """The student's files under the names they uploaded, a resubmitted file counted once: the latest."""
    upload = Upload(student)
    by_name = {}
    for file_id, entry, filename in found:
        by_name.setdefault(_original_name(filename, [f for _, _, f in found]), []).append((file_id, filename, entry))
    for name, versions in sorted(by_name.items()):
        versions.sort(key=lambda v: (_number(v[1]), v[0]))
        file_id, filename, entry = versions[-1]
        upload.files.append(UploadFile(PurePosixPath(name), entry.read, entry.kind, entry.size))
        if len(versions) > 1:
            upload.notes.append(f"a resubmission: graded {filename}, the latest of {len(versions)} files "
                                f"uploaded as {name}")
        elif filename != name:
            upload.notes.append(f"a resubmission: graded {filename} (Canvas's name for {name} uploaded again)")
    upload.files = [f for f in upload.files if not hidden(f.path)]
    return upload


def _original_name(filename, siblings):
    """``filename`` without Canvas's -N where it names a notebook or another file the student uploaded."""
    path = PurePosixPath(filename)
    match = RESUBMITTED.fullmatch(path.stem)
    if match is None:
        return filename
    base = match["base"] + path.suffix
    return base if notebook_name(base) or base in siblings else filename


def _number(filename):
    match = RESUBMITTED.fullmatch(PurePosixPath(filename).stem)
    return int(match["n"]) if match else 0
