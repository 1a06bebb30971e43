"""`hw4 export --to csv`: one plain row per student, for any system that takes a spreadsheet."""
from . import FINAL_COLUMNS, ExportError, Output, final_cells, points, table

NAME = "csv"
COLUMNS = ("student_id", "name", "email", "sis_id", "submitted_at", "status", "score", "max_score", *FINAL_COLUMNS)


def write(request):
    if request.roster:
        raise ExportError("--roster is for the canvas and moodle exports; the csv export lists the graded class")
    rows = [list(COLUMNS)]
    for graded in request.graded:
        s, r = graded.student, graded.result
        rows.append([r.student_id, s.name, s.email, s.sis_id, s.submitted_at, r.status, points(r.score),
                     points(r.max_score), *final_cells(graded)])
    return [Output("grades-plain.csv", table(rows))]
