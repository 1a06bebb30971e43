"""`hw4 export --to moodle`: the assignment's offline grading worksheet, filled in, and a zip of the feedback
pages for "Upload multiple feedback files in a zip".

Followed: Moodle's assignfeedback_offline plugin (moodle/moodle, mod/assign/feedback/offline/importgradeslib.php
and locallib.php). On upload it finds the columns "Identifier" ("Participant <unique id>"), "Grade" and
"Last modified (grade)" by their titles, and each feedback plugin's column ("Feedback comments") by its title;
it skips a grade that is empty, unchanged, above the assignment's maximum, or older than the grade in Moodle
by more than a minute (unless the instructor ticks "Allow updating records that have been modified more
recently in Moodle than in the spreadsheet"). So the worksheet the instructor downloaded is filled in with its
other columns as they were, and its "Last modified (grade)" kept. The zip follows assignfeedback_file's
importziplib.php: each file in a folder "<full name>_<participant id>_assignsubmission_file_", the name split
on "_" to find the participant id.
"""
from ..files import folder_entries
from . import ExportError, Output, Sheet, lms_grade, points, student_summary, table

NAME = "moodle"
HEADER = ("Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
          "Last modified (submission)", "Last modified (grade)", "Feedback comments")
PARTICIPANT = "Participant "  # Moodle's "hiddenuser" string, before the participant's unique id
NO_SUBMISSION = "No submission was received for this assignment."


def write(request):
    if not request.roster:
        return [Output("moodle.csv", _new_sheet(request)), Output("feedback.zip", entries=_feedback(request, None))]
    worksheet = _worksheet(request.roster)
    filled = _filled(request, worksheet)
    return [Output("moodle.csv", filled), Output("feedback.zip", entries=_feedback(request, worksheet))]


def _grade(value, scale):
    return "" if value is None else f"{value * scale:.2f}"  # as Moodle writes grades: two decimals


def _new_sheet(request):
    rows = [list(HEADER)]
    for g in request.graded:
        s = g.student
        rows.append([PARTICIPANT + s.id, s.name, s.email, "", _grade(lms_grade(g, request.ungraded), 1),
                     f"{g.final.max_total:.2f}", "Yes", "", "", student_summary(g)])
    return table(rows)


def _worksheet(path):
    sheet = Sheet.read(path, "Moodle grading worksheet")
    for title in ("Identifier", "Grade"):
        if title not in sheet.rows[0]:
            raise ExportError(f"{path} is not a Moodle grading worksheet: it has no {title!r} column "
                              "(download it from the assignment's 'View all submissions' page)")
    return sheet


def _participant(row, header):
    return row[header.index("Identifier")].removeprefix(PARTICIPANT).strip()


def _filled(request, sheet):
    header = sheet.rows[0]
    at = {title.casefold(): i for i, title in reversed(list(enumerate(header)))}  # Moodle's capitals vary
    if "feedback comments" not in at:
        request.notes.append("the worksheet has no 'Feedback comments' column (enable that feedback type in the "
                             "assignment's settings): only grades filled in")
    scale = _scale(request, sheet.rows[1:], at.get("maximum grade"))
    by_id = {g.student.id: g for g in request.graded}
    seen = set()
    for row in sheet.rows[1:]:
        row.extend([""] * (len(header) - len(row)))
        sid = _participant(row, header)
        graded = by_id.get(sid)
        seen.add(sid)
        row[at["grade"]] = _grade(0, 1) if graded is None else _grade(lms_grade(graded, request.ungraded), scale)
        if "feedback comments" in at:
            row[at["feedback comments"]] = NO_SUBMISSION if graded is None else student_summary(graded)
    missing = sorted(set(by_id) - seen)
    if missing:
        request.notes.append("graded but not in the worksheet, so not in the upload: " + ", ".join(missing))
    return sheet.data()


def _scale(request, rows, column):
    """Moodle refuses a grade above the assignment's maximum: out of another maximum, totals are rescaled."""
    if column is None or not rows or not request.graded:
        return 1
    try:
        moodle_max = float(rows[0][column])
    except (ValueError, IndexError):
        return 1
    ours = request.graded[0].final.max_total
    if not ours or abs(moodle_max - ours) < 1e-9:
        return 1
    request.notes.append(f"the Moodle assignment is out of {points(moodle_max)}, this homework out of "
                         f"{points(ours)}: grades rescaled to Moodle's maximum")
    return moodle_max / ours


def _folder(name, sid):
    """Moodle's folder for one participant: their name may not hold the "_" Moodle splits on, nor a "/"."""
    clean = " ".join(name.replace("_", " ").replace("/", " ").split()) or "Participant"
    return f"{clean}_{sid}_assignsubmission_file_"


def _feedback(request, sheet):
    """The zip's entries: each student's feedback pages in their Moodle folder."""
    names = _full_names(sheet) if sheet else {}
    entries = {}
    for g in request.graded:
        sid = g.student.id
        if sheet and sid not in names:  # not a participant of the worksheet's assignment
            continue
        folder = _folder(names.get(sid) or g.student.name or sid, sid)
        entries.update(folder_entries(request.out / "feedback" / sid, folder, keep=lambda p: p.suffix == ".html"))
    return entries


def _full_names(sheet):
    """Participant id → "Full name" as the worksheet gives it (Moodle's own spelling)."""
    header = sheet.rows[0]
    name = header.index("Full name") if "Full name" in header else None
    return {_participant(row, header): row[name] if name is not None and len(row) > name else ""
            for row in sheet.rows[1:]}
