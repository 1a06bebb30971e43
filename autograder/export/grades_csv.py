"""DIR/grades.csv: the contract's columns (student_id, status, score, max_score, then one per autograded test,
written exactly as they always were), then the student's name and the final grade's columns."""
from . import FINAL_COLUMNS, Output, final_cells, table


def write(request):
    from ..course import autograded_tests  # nbgrader: slow to import, and `hw4 export --to` lists this package

    test_ids = [test_id for _, test_id, _ in autograded_tests()]
    rows = [["student_id", "status", "score", "max_score", *test_ids, "name", *FINAL_COLUMNS]]
    for graded in request.graded:
        r = graded.result
        rows.append([r.student_id, r.status, f"{r.score:g}", f"{r.max_score:g}",
                     *(f"{r.tests[t].score:g}" for t in test_ids), graded.student.name, *final_cells(graded)])
    return [Output("grades.csv", table(rows))]
