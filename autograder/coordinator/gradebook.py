"""The class gradebook in DIR/course: nbgrader's, so that formgrader and `nbgrader export` work on it.

Each worker grades in a private course of its own; the coordinator copies each student's graded notebooks
into the class's course and records them with nbgrader's own ``SaveAutoGrades``, as nbgrader would have.
"""
import os
import shutil
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

from .. import course
from ..course import ASSIGNMENT, NOTEBOOKS
from ..files import write_atomic


def prepare_course(out):
    """The class's course directory, made once and reused when a run resumes; built aside and renamed
    into place, so that a stopped run never leaves half of one."""
    root = Path(out) / "course"
    if not (root / "gradebook.db").exists():
        building = Path(out) / ".course.tmp"
        shutil.rmtree(building, ignore_errors=True)
        course.make_course(building)
        course.generate_assignment(building)
        shutil.rmtree(root, ignore_errors=True)
        os.replace(building, root)
    return root


def unrecorded(root, results):
    """The results whose student the course's gradebook does not have."""
    with Gradebook(course.gradebook_url(root)) as gb:
        recorded = {student.id for student in gb.students}
    return [result for sid, result in results.items() if sid not in recorded]


def record(root, result):
    """Copy one student's graded notebooks into the class gradebook (a StudentResult)."""
    sid = result.student_id
    graded = root / "autograded" / sid / ASSIGNMENT
    graded.mkdir(parents=True, exist_ok=True)
    db_url = course.gradebook_url(root)
    student = result.student
    with Gradebook(db_url) as gb:
        names = dict(first_name=student.name, email=student.email or None) if student and student.name else {}
        gb.update_or_create_student(sid, **names)
        gb.update_or_create_submission(ASSIGNMENT, sid)
        for name in set(NOTEBOOKS) - set(result.autograded):  # not gradable: zero, nothing to review
            for grade in gb.find_submission_notebook(name, ASSIGNMENT, sid).grades:
                grade.auto_score, grade.needs_manual_grade = 0, False
        gb.db.commit()
    for name, text in result.autograded.items():
        write_atomic(graded / f"{name}.ipynb", text)
        resources = {"nbgrader": dict(db_url=db_url, assignment=ASSIGNMENT, notebook=name, student=sid)}
        SaveAutoGrades().preprocess(nbformat.reads(text, as_version=4), resources)
