"""The homework's final grade: autograded points, the points graded by hand in formgrader, the late penalty.

The hand-graded points (the derivation) live in the class gradebook, DIR/course/gradebook.db, where nbgrader's
formgrader writes them; this module reads them through nbgrader's gradebook API. A hand-graded cell counts as
graded once the gradebook no longer asks for a manual grade: formgrader clears that request when a TA sets
the score, and nbgrader's autograding clears it itself for an answer left exactly as released (0 points).
"""
from __future__ import annotations

import json
from pathlib import Path

from .course import ASSIGNMENT, autograded_tests, gradebook_url
from .deadlines import Policy, lateness
from .files import write_atomic
from .records import FinalGrade, Graded, Student, StudentResult

GRADEBOOK = Path("course") / "gradebook.db"  # in DIR, made by `hw4 grade`
RESULTS = "results"  # DIR/results/<student id>.json, one StudentResult each
SOURCE = "source.json"  # DIR/source.json: what `hw4 grade` read, for the outputs `hw4 export` writes again


class ClassError(RuntimeError):
    """DIR does not hold a graded class that can be read back."""


def finish(result, manual, manual_max, late):
    """The final grade of one student: ``result``'s autograded points plus ``manual`` (None until graded by
    hand, counted as 0 meanwhile) less the late penalty, a fraction of that sum; never below 0."""
    earned = result.score + (manual or 0.0)
    penalty = round(earned * late.fraction, 2)
    return FinalGrade(manual=manual, manual_max=manual_max, penalty=penalty,
                      total=round(max(0.0, earned - penalty), 2), max_total=result.max_score + manual_max,
                      lateness=late)


def manual_points(out, student_ids):
    """(student id → hand-graded points or None while not yet graded, the most such points) from DIR's
    gradebook."""
    from nbgrader.api import Gradebook, MissingEntry  # slow to import: only where needed

    path = Path(out) / GRADEBOOK
    if not path.exists():  # Gradebook() would create an empty one
        raise ClassError(f"{out} holds no class gradebook ({GRADEBOOK}): grade the class with `hw4 grade` first")
    autograded = {test_id for _, test_id, _ in autograded_tests()}
    with Gradebook(gradebook_url(path.parent)) as gb:
        cells = [(notebook.name, cell.name, cell.max_score) for notebook in gb.find_assignment(ASSIGNMENT).notebooks
                 for cell in notebook.grade_cells if cell.name not in autograded]
        points = {}
        for sid in student_ids:
            try:
                grades = [gb.find_grade(cell, notebook, ASSIGNMENT, sid) for notebook, cell, _ in cells]
            except MissingEntry:  # not recorded in the gradebook: nothing to grade by hand yet
                points[sid] = None
                continue
            points[sid] = None if any(g.needs_manual_grade for g in grades) else float(sum(g.score for g in grades))
    return points, float(sum(most for _, _, most in cells))


def save_source(out, path, title):
    """Say in DIR which SOURCE the class came from, and as what (an intake reader's TITLE)."""
    write_atomic(Path(out) / SOURCE, json.dumps({"source": str(path), "read_as": title}, indent=1) + "\n")


def source_title(out):
    """What the class in DIR was read as ("a Canvas download"); None for a run before this was saved."""
    try:
        return json.loads((Path(out) / SOURCE).read_text(encoding="utf-8"))["read_as"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def class_ids(out):
    """The students of DIR's last grading run, in its order: grades.json's, else every saved result's."""
    out = Path(out)
    listed = out / "grades.json"
    if listed.exists():
        try:
            return list(json.loads(listed.read_text(encoding="utf-8"))["students"])
        except (ValueError, KeyError, TypeError) as err:
            raise ClassError(f"{listed} cannot be read ({err}); remove it to export every saved result") from None
    return sorted(path.stem for path in (out / RESULTS).glob("*.json") if not path.name.startswith("."))


def read_result(out, sid):
    path = Path(out) / RESULTS / f"{sid}.json"
    try:
        return StudentResult.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as err:
        raise ClassError(f"the result of {sid} ({path}) cannot be read: {err}") from None


def load_class(out, ids=None):
    """Every student of the class graded in DIR (or those of ``ids``, e.g. the students of the run that is
    ending, whose results are saved), in that order, with their final grade under DIR's saved policy."""
    ids = class_ids(out) if ids is None else list(ids)
    if not ids:
        raise ClassError(f"{out} holds no graded students (no {RESULTS}/*.json): grade the class with `hw4 grade`")
    policy = Policy.load(out)
    manual, manual_max = manual_points(out, ids)
    graded = []
    for sid in ids:
        result = read_result(out, sid)
        student = result.student or Student(sid)
        graded.append(Graded(student, result, finish(result, manual[sid], manual_max, lateness(student, policy))))
    return graded
