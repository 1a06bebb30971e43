"""DIR/grades.json: the contract's shape (``{"students": {id: StudentResult.summary()}}``), each student's entry
with the keys of the final grade beside the contract's: who they are, the hand-graded points, the lateness and
the total."""
import dataclasses
import json

from . import Output, manual_status


def entry(graded):
    final, late = graded.final, graded.final.lateness
    return {**graded.result.summary(), "student": dataclasses.asdict(graded.student),
            "manual": final.manual, "manual_max": final.manual_max, "manual_status": manual_status(graded),
            "late": {"hours": round(late.hours, 4), "fraction": late.fraction, "penalty": final.penalty,
                     "note": late.note},
            "total": final.total, "max_total": final.max_total}


def write(request):
    students = {graded.result.student_id: entry(graded) for graded in request.graded}
    return [Output("grades.json", (json.dumps({"students": students}, indent=2) + "\n").encode())]
