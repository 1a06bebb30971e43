"""`hw4 export --to canvas`: a CSV that Canvas's Gradebook imports (Grades > Import).

Followed: Canvas's gradebook export, whose file its import reads back (instructure/canvas-lms,
lib/gradebook_exporter.rb): a header of "Student", "ID", "SIS User ID", "SIS Login ID", optionally
"Integration ID" and "Root Account", then "Section", then one column per assignment titled
"<name> (<assignment id>)"; then an optional "Manual Posting" row, a "    Points Possible" row (four leading
spaces), and one row per student, the course's Test Student ("Student, Test") last. Canvas matches students by
ID and assignments by their column title; an unknown title makes a new assignment (the Canvas Guides' "How do I
import grades in the Gradebook?"; Ohio State's "Import CSV File for Carmen Grades").
"""
import re

from hw4.course import ASSIGNMENT

from . import ExportError, Output, Sheet, lms_grade, points, table

NAME = "canvas"
IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"
TEST_STUDENT = (["Student, Test"], ["Test Student"], ["Student", "Test"])  # Canvas's "Student View" student, as
# its sortable name, its display name, or LastName and FirstName where the export splits them
_ASSIGNMENT_ID = re.compile(r"\s*\(\d+\)\s*$")


def write(request):
    wanted = request.assignment or ASSIGNMENT
    if request.roster:
        identity, people, column = _from_roster(request, wanted)
    else:
        identity, column = list(IDENTITY), wanted
        people = [[g.student.name, g.student.id, g.student.sis_id, "", ""] for g in request.graded]
    by_id = {g.student.id: g for g in request.graded}
    id_at = identity.index("ID")
    rows = [identity + [column], [POINTS_POSSIBLE] + [""] * (len(identity) - 1) + [_max_points(request)]]
    missing = []
    for person in people:
        graded = by_id.get(person[id_at])
        if graded is None:
            missing.append(person[id_at])
        grade = 0 if graded is None else lms_grade(graded, request.ungraded)
        rows.append(person + ["" if grade is None else points(grade)])
    if missing:
        request.notes.append("in the roster but handed in nothing, so 0 (missing): " + ", ".join(missing))
    return [Output("canvas.csv", table(rows))]


def _max_points(request):
    return points(request.graded[0].final.max_total) if request.graded else ""


def _from_roster(request, wanted):
    """The roster's identity columns, its students (Test Student left out) and the assignment's column title."""
    sheet = Sheet.read(request.roster, "Canvas roster")
    header = sheet.rows[0]
    if "ID" not in header or "Section" not in header:
        raise ExportError(f"{request.roster} is not a Canvas gradebook export: its first line has no ID and "
                          "Section columns (Grades > Export in Canvas makes one)")
    end = header.index("Section") + 1
    id_at = header.index("ID")
    people = [row[:end] + [""] * (end - len(row)) for row in sheet.rows[1:]
              if len(row) > id_at and row[id_at].strip() and not _test_student(row)]
    graded_ids = {g.student.id for g in request.graded}
    outside = sorted(graded_ids - {row[id_at] for row in people})
    if outside:
        request.notes.append("graded but not in the roster, so not in the import: " + ", ".join(outside))
    return header[:end], people, _column(wanted, header[end:])


def _test_student(row):
    return any(row[:len(name)] == name for name in TEST_STUDENT)


def _column(wanted, titles):
    """``wanted`` as the roster titles it: "HW4" finds the roster's "HW4 (12345)"."""
    if wanted in titles:
        return wanted
    same = [t for t in titles if _ASSIGNMENT_ID.sub("", t).casefold() == wanted.casefold()]
    return same[0] if len(same) == 1 else wanted
