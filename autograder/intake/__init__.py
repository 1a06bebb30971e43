"""Intake: who handed in what, from a folder or zip in any layout an LMS hands out.

Each format is one module of this package with ``NAME``, ``TITLE``, ``PRIORITY`` (the order formats are
tried in), ``recognises(source)`` and ``read(source) -> (uploads, class notes)``; adding a format is
adding such a module. :func:`read_class` lists SOURCE (:mod:`.sources`), recognises its format from the
names (or takes ``fmt``), lets the format's reader make one :class:`Upload` per student, and opens the
zips students uploaded in place of their notebooks.
"""
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from hw4.course import ASSIGNMENT

from ..records import Upload, UploadFile
from .sources import IntakeError, Source, hidden, open_source, own_zip

__all__ = ["Intake", "IntakeError", "read_class", "READERS"]


def _readers():
    """Format name → reader module, in the order they are tried."""
    modules = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]
    readers = sorted((m for m in modules if hasattr(m, "recognises")), key=lambda m: m.PRIORITY)
    return {m.NAME: m for m in readers}


READERS = _readers()


@dataclass
class Intake:
    """A class as SOURCE delivered it."""

    format: str  # the reader's NAME
    uploads: dict[str, Upload]  # student id → upload, sorted by id
    notes: list[str] = field(default_factory=list)  # about SOURCE as a whole (entries no student owns)

    @property
    def title(self):
        return READERS[self.format].TITLE

    def summary(self, source):
        return f"read {source} as {self.title}: {len(self.uploads)} students"


def read_class(source, fmt=None):
    """The :class:`Intake` of the folder or zip ``source``; ``fmt`` (a READERS name) overrides recognition."""
    if fmt is not None and fmt not in READERS:
        raise IntakeError(f"unknown format '{fmt}': choose one of {', '.join(READERS)}")
    listed = _unwrapped(open_source(source), fmt)
    reader = READERS[fmt] if fmt else _recognised(listed)
    uploads, notes = reader.read(listed)
    uploads = {u.student.id: _opened_zips(u) for u in uploads}
    return Intake(reader.NAME, dict(sorted(uploads.items())), notes)


def _recognised(source):
    return next(reader for reader in READERS.values() if reader.recognises(source))


def _unwrapped(source, fmt):
    """The folder inside ``source`` when it holds nothing else and is the class (many zips wrap their content
    in one folder): an LMS's layout is found there, or the zip holds one folder of student folders."""
    top = {entry.path.parts[0] for entry in source.entries}
    if len(top) != 1 or source.kind(next(iter(top))) != "a folder":
        return source
    inner = Source(source.path, source.below(next(iter(top))), {}, source.is_zip)
    if fmt is None:
        outside, inside = _recognised(source).NAME, _recognised(inner).NAME
    else:
        outside = fmt if READERS[fmt].recognises(source) else "folders"
        inside = fmt if READERS[fmt].recognises(inner) else "folders"
    if outside != "folders":
        return source
    if inside != "folders" or source.is_zip and inner.entries and not _student_folder(inner):
        return inner
    return source


def _student_folder(source):
    """Whether ``source`` looks like one student's folder: notebooks or an ``hw4`` folder directly in it."""
    return any(e.path.suffix.lower() == ".ipynb" or e.path.name == ASSIGNMENT for e in source.children())


def _opened_zips(upload):
    """``upload`` with the zips a student uploaded instead of notebooks opened: what they meant to hand in."""
    files = [f for f in upload.files if not hidden(f.path)]
    zips = [f for f in files if f.kind is None and f.path.suffix.lower() == ".zip"]
    if upload.problem or not zips or any(f.path.suffix.lower() == ".ipynb" for f in files):
        return upload
    opened, problems = [], []
    for archive in zips:
        try:
            inner = own_zip(archive, f"the zip {archive.path}").entries
        except ValueError as err:
            problems.append(str(err))
            continue
        opened += [UploadFile(PurePosixPath(archive.path, f.path), f.read, f.kind, f.size)
                   for f in inner if f.kind != "a folder"]
        upload.notes.append(f"read the notebooks from the zip {archive.path}")
    upload.files = [f for f in files if f not in zips] + opened
    if problems and not opened:
        upload.problem = problems[0]
    else:
        upload.notes += [f"ignored {problem}" for problem in problems]
    return upload
