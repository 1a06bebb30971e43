"""Every output of a graded class is one small writer over its :class:`~autograder.records.Graded` records.

A format `hw4 export --to NAME` writes is a module of this package that defines

    NAME                              the name ``--to`` takes
    write(request) -> list[Output]    the files it makes, the main one first

and nothing else needs to change: ``formats()`` finds it. DIR/grades.csv and DIR/grades.json, which
`hw4 grade` writes and `hw4 export` rewrites with the current hand-graded points, are writers too
(grades_csv, grades_json), without a NAME.
"""
from __future__ import annotations

import csv
import importlib
import io
import pkgutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..files import write_atomic, write_zip
from ..records import Graded

EXPORT_DIR = "export"  # DIR/export/: where exports go unless --out says otherwise
UNGRADED = ("blank", "zero")  # what an LMS gets while the hand-graded part is not graded: nothing, or the rest
# The final grade's columns in grades.csv and the plain CSV, after each one's own first columns.
FINAL_COLUMNS = ("manual", "manual_max", "manual_status", "hours_late", "late_percent", "late_penalty", "total",
                 "max_total", "late_note")
NOT_YET_GRADED = "not yet graded"
REPORT = "report.html"  # DIR/report.html, the class report


class ExportError(RuntimeError):
    """An export that cannot be made as asked; says why."""


@dataclass(frozen=True)
class Output:
    """One file of an export: ``data``, or a zip of ``entries`` (name in the zip → bytes). The main one's
    ``name`` is its default file name; any other's is joined with a hyphen to the main one's stem (moodle.csv,
    moodle-feedback.zip)."""

    name: str
    data: bytes = b""
    entries: dict[str, bytes] | None = None

    def write(self, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.entries is None:
            write_atomic(path, self.data)
        else:
            write_zip(path, self.entries)


@dataclass
class Request:
    """What a writer is given: the class, and the instructor's options."""

    out: Path  # DIR, the graded class
    graded: list[Graded]
    roster: Path | None = None  # the LMS's own list of the class, to fill in
    assignment: str = ""  # the LMS's name of the assignment (Canvas's column)
    ungraded: str = "blank"  # one of UNGRADED
    notes: list[str] = field(default_factory=list)  # what the writer has to tell the instructor


def formats():
    """``--to`` name → writer module, for every module of this package that defines NAME."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if getattr(module, "NAME", None):
            found[module.NAME] = module
    return dict(sorted(found.items()))


def points(value):
    """A number of points as every output writes it: at most two decimals, no trailing zeros."""
    return f"{round(value, 2):g}"


def manual_status(graded):
    return "graded" if graded.final.manual_graded else NOT_YET_GRADED


def final_cells(graded):
    """The FINAL_COLUMNS of one student."""
    final, late = graded.final, graded.final.lateness
    return [points(final.manual) if final.manual_graded else "", points(final.manual_max), manual_status(graded),
            points(late.hours) if late.hours else "", f"{late.fraction * 100:g}", points(final.penalty),
            points(final.total), points(final.max_total), late.note]


def lms_grade(graded, ungraded):
    """The points an LMS gets: the total, or None while the hand-graded part waits and ``ungraded`` is "blank"."""
    if not graded.final.manual_graded and ungraded == "blank":
        return None
    return graded.final.total


def student_summary(graded):
    """The grade in a few sentences, for the student (an LMS's feedback comment)."""
    result, final = graded.result, graded.final
    parts = [f"Autograded tests: {points(result.score)}/{points(result.max_score)}."]
    if final.manual_max:
        parts.append(f"Graded by hand: {points(final.manual)}/{points(final.manual_max)}." if final.manual_graded
                     else f"Graded by hand: not graded yet (out of {points(final.manual_max)}).")
    parts += [final.lateness.note] if final.lateness.note else []
    parts.append(f"Total: {points(final.total)}/{points(final.max_total)}.")
    return " ".join(parts)


@dataclass(frozen=True)
class Sheet:
    """A CSV file as read: its rows, and how it was written, so that it is written back the same way."""

    rows: list[list[str]]
    bom: bool = False
    newline: str = "\n"

    @classmethod
    def read(cls, path, what):
        try:
            raw = Path(path).read_bytes()
            text = raw.decode("utf-8-sig")
        except OSError as err:
            raise ExportError(f"cannot read the {what} {path}: {err.strerror}") from None
        except UnicodeDecodeError:
            raise ExportError(f"the {what} {path} is not UTF-8 text: save it again as CSV UTF-8") from None
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
        if not rows:
            raise ExportError(f"the {what} {path} is empty")
        return cls(rows, raw.startswith(b"\xef\xbb\xbf"), "\r\n" if "\r\n" in text else "\n")

    def data(self):
        table = io.StringIO()
        csv.writer(table, lineterminator=self.newline).writerows(self.rows)
        return ("\ufeff" if self.bom else "").encode() + table.getvalue().encode("utf-8")


def table(rows):
    """CSV bytes of ``rows``, as grades.csv has always been written (UTF-8, "\\n" line ends)."""
    return Sheet(rows).data()


def write_tables(out, graded):
    """Write DIR/grades.csv and DIR/grades.json for ``graded``."""
    from . import grades_csv, grades_json

    request = Request(Path(out), graded)
    for writer in (grades_csv, grades_json):
        for output in writer.write(request):
            write_atomic(Path(out) / output.name, output.data)


def refresh(out, graded):
    """DIR's own outputs for ``graded``, as `hw4 grade` writes them and `hw4 export` writes them again with
    the current hand-graded points: grades.csv, grades.json, the feedback pages' late notes, report.html."""
    from ..course import autograded_tests
    from ..final import source_title
    from .late_notes import mark_feedback
    from ..report import write_report

    write_tables(out, graded)
    mark_feedback(out, graded)
    write_report(Path(out) / REPORT, graded, autograded_tests(), source_title(out))


def destinations(outputs, out, dest=None):
    """Where each output goes: DIR/export/NAME, or ``dest`` (a file, or a folder to hold NAME) for the main
    one, and each other one beside it."""
    folder = Path(dest) if dest and Path(dest).is_dir() else Path(out) / EXPORT_DIR
    main = Path(dest) if dest and not Path(dest).is_dir() else folder / outputs[0].name
    return [main] + [main.with_name(f"{main.stem}-{o.name}") for o in outputs[1:]]


def export(out, to, roster=None, assignment="", dest=None, ungraded="blank"):
    """Rewrite DIR's grades.csv and grades.json with the current hand-graded points, and write the export
    ``to`` names; return (the files written, notes for the instructor). Never grades again."""
    from ..final import ClassError

    writers = formats()
    if to not in writers:
        raise ExportError(f"no export format {to!r}: choose one of {', '.join(writers)}")
    if ungraded not in UNGRADED:
        raise ExportError(f"--ungraded {ungraded!r}: choose one of {', '.join(UNGRADED)}")
    if not Path(out).is_dir():
        raise ExportError(f"{out} is not a folder: give the folder `hw4 grade --out` wrote")
    try:
        with _alone(out):
            return _export(out, writers[to], roster, assignment, dest, ungraded)
    except (ClassError, ValueError) as err:
        raise ExportError(str(err)) from None


@contextmanager
def _alone(out):
    """No `hw4 grade` writes to DIR meanwhile: it holds the same lock while it grades."""
    from ..coordinator.runs import GradeError, hold_lock

    try:
        with hold_lock(out):
            yield
    except GradeError as err:
        raise ExportError(str(err)) from None


def _export(out, writer, roster, assignment, dest, ungraded):
    from ..final import load_class

    graded = load_class(out)
    request = Request(Path(out), graded, Path(roster) if roster else None, assignment, ungraded)
    outputs = writer.write(request)
    paths = destinations(outputs, out, dest)
    if roster and any(p.resolve() == Path(roster).resolve() for p in paths):
        raise ExportError(f"--out would overwrite the roster {roster}: choose another file")
    try:
        refresh(out, graded)
        for path, output in zip(paths, outputs):
            output.write(path)
    except OSError as err:
        raise ExportError(f"cannot write {err.filename or 'the export'}: {err.strerror}") from None
    waiting = sum(not g.final.manual_graded for g in graded)
    if waiting:
        what = "their LMS grade left blank" if ungraded == "blank" else "their total sent without it"
        request.notes.append(f"not yet graded by hand: {waiting} of {len(graded)} students, {what} "
                             "(grade them in formgrader, then export again)")
    return paths, request.notes
