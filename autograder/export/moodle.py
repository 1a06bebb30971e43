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
import io
import zipfile

from . import ExportError, Output, Sheet, lms_grade, points, student_summary, table

NAME = "moodle"
HEADER = ("Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
          "Last modified (submission)", "Last modified (grade)", "Feedback comments")
PARTICIPANT = "Participant "  # Moodle's "hiddenuser" string, before the participant's unique id
NO_SUBMISSION = "No submission was received for this assignment."
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the oldest time a zip can hold: the same bytes on every run


def write(request):
    sheet = _filled(request) if request.roster else _new_sheet(request)
    return [Output("moodle.csv", sheet), Output("feedback.zip", _feedback_zip(request))]


def _grade(value, scale):
    return "" if value is None else f"{value * scale:.2f}"  # as Moodle writes grades: two decimals


def _new_sheet(request):
    rows = [list(HEADER)]
    for g in request.graded:
        s = g.student
        rows.append([PARTICIPANT + s.id, s.name, s.email, "", _grade(lms_grade(g, request.ungraded), 1),
                     f"{g.final.max_total:.2f}", "Yes", "", "", student_summary(g)])
    return table(rows)


def _filled(request):
    sheet = Sheet.read(request.roster, "Moodle grading worksheet")
    header = sheet.rows[0]
    for title in ("Identifier", "Grade"):
        if title not in header:
            raise ExportError(f"{request.roster} is not a Moodle grading worksheet: it has no {title!r} column "
                              "(download it from the assignment's 'View all submissions' page)")
    at = {title: header.index(title) for title in header}
    if "Feedback comments" not in at:
        request.notes.append("the worksheet has no 'Feedback comments' column (enable that feedback type in the "
                             "assignment's settings): only grades filled in")
    scale = _scale(request, sheet.rows[1:], at.get("Maximum Grade"))
    by_id = {g.student.id: g for g in request.graded}
    seen = set()
    for row in sheet.rows[1:]:
        row.extend([""] * (len(header) - len(row)))
        sid = row[at["Identifier"]].removeprefix(PARTICIPANT).strip()
        graded = by_id.get(sid)
        seen.add(sid)
        row[at["Grade"]] = _grade(0, 1) if graded is None else _grade(lms_grade(graded, request.ungraded), scale)
        if "Feedback comments" in at:
            row[at["Feedback comments"]] = NO_SUBMISSION if graded is None else student_summary(graded)
    missing = sorted(set(by_id) - seen)
    if missing:
        request.notes.append("graded but not in the worksheet, so not in the upload: " + ", ".join(missing))
    return Sheet(sheet.rows, sheet.bom, sheet.newline).data()


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


def _feedback_zip(request):
    names = _roster_names(request)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        for g in request.graded:
            sid = g.student.id
            if request.roster and sid not in names:  # not a participant of the worksheet's assignment
                continue
            pages = sorted((request.out / "feedback" / sid).glob("*.html"))
            for page in pages:
                entry = zipfile.ZipInfo(f"{_folder(names.get(sid) or g.student.name or sid, sid)}/{page.name}",
                                        ZIP_TIME)
                entry.compress_type, entry.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
                archive.writestr(entry, page.read_bytes())
    return data.getvalue()


def _roster_names(request):
    """Participant id → "Full name" as the worksheet gives it (Moodle's own spelling), if there is one."""
    if not request.roster:
        return {}
    rows = Sheet.read(request.roster, "Moodle grading worksheet").rows
    header = rows[0]
    if "Full name" not in header:
        return {}
    ident, name = header.index("Identifier"), header.index("Full name")
    return {row[ident].removeprefix(PARTICIPANT).strip(): row[name] for row in rows[1:] if len(row) > name}
