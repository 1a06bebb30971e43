"""`hw4 grade`: grade a whole class and write grades.csv, grades.json and feedback.

Students are graded independently (in a local process pool, or on a Dask cluster); this process alone
writes results. Each student's result is saved as soon as it arrives, so an interrupted run resumes
with only the students still missing (``regrade`` redoes everyone).
"""
import csv
import io
import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

from . import course, sandbox
from .course import ASSIGNMENT, NOTEBOOKS, autograded_tests
from .submissions import find_students, read_student
from .worker import grade_student


def write_atomic(path, text):
    """Readers never see half a file, even if this run is interrupted."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def prepare_course(out):
    """The class's course directory (made once, reused when a run resumes)."""
    root = Path(out) / "course"
    if not (root / "gradebook.db").exists():
        course.make_course(root)
        course.generate_assignment(root)
    return root


def grade_class(submissions, out, jobs=None, sandboxed=True, regrade=False, scheduler=None, log=print, **execute):
    """Grade every student folder in ``submissions``; return student id → result.

    ``execute``: settings of SandboxedExecute (wall_seconds, memory_bytes, timeout, warm_kernels)."""
    if sandboxed:
        sandbox.check_available()
    out = Path(out).resolve()  # the kernels run elsewhere: relative paths would point nowhere there
    out.mkdir(parents=True, exist_ok=True)
    root = prepare_course(out)
    results_dir = out / "results"
    results_dir.mkdir(exist_ok=True)
    tests = autograded_tests()
    settings = dict(gradebook=(root / "gradebook.db").read_bytes(), sandbox=sandboxed, **execute)
    if not scheduler:  # local workers keep their scratch inside DIR; Dask workers use their own temp
        settings["work_root"] = str(out / "work")
        (out / "work").mkdir(exist_ok=True)
    students = {sid: read_student(folder) for sid, folder in find_students(submissions).items()}
    results = {} if regrade else _earlier_results(results_dir, students)
    todo = [sid for sid in students if sid not in results]
    log(f"grading {len(todo)} of {len(students)} students ({len(students) - len(todo)} already graded)")
    for sid, result in _run(todo, students, tests, settings, jobs, scheduler):
        write_atomic(results_dir / f"{sid}.json", json.dumps(result))
        results[sid] = result
        log(f"  {sid}: {result['status']} {result['score']:g}/{result['max_score']:g}")
    results = {sid: results[sid] for sid in students}  # this class, in folder order
    for result in results.values():  # every run, so that a run stopped mid-way leaves no gap in the gradebook
        _record(root, out, result)
    _write_tables(out, results, tests)
    return results


def _earlier_results(results_dir, students):
    """Results of an earlier run whose submissions have not changed since."""
    kept = {}
    for sid, notebooks in students.items():
        path = results_dir / f"{sid}.json"
        if path.exists():
            result = json.loads(path.read_text())
            if result.get("submitted") == {name: nb.sha256 for name, nb in notebooks.items()}:
                kept[sid] = result
    return kept


def _run(todo, students, tests, settings, jobs, scheduler):
    """Yield (student id, result) as students finish."""
    if scheduler:
        from .cluster import executor
        pool = executor(scheduler)
    else:
        pool = ProcessPoolExecutor(max_workers=jobs or os.cpu_count(), mp_context=get_context("fork"))
    with pool as pool:
        futures = {pool.submit(grade_student, sid, students[sid], tests, settings): sid for sid in todo}
        for future in as_completed(futures):
            sid = futures[future]
            try:
                yield sid, future.result()
            except Exception as err:  # a worker that died takes no other student with it
                yield sid, _crashed(sid, students[sid], tests, f"the grading worker failed: {err!r}")


def _crashed(sid, notebooks, tests, reason):
    return dict(student_id=sid, status="crashed", errors=[reason], score=0.0,
                notebooks={name: dict(status="crashed", reason=reason) for name in notebooks},
                max_score=sum(points for _, _, points in tests), feedback={}, autograded={},
                submitted={name: nb.sha256 for name, nb in notebooks.items()},
                tests={test_id: dict(score=0.0, max_score=points, message=reason) for _, test_id, points in tests})


def _record(root, out, result):
    """Copy one student's graded notebooks into the class gradebook, feedback into DIR/feedback."""
    sid = result["student_id"]
    feedback = out / "feedback" / sid
    shutil.rmtree(feedback, ignore_errors=True)
    feedback.mkdir(parents=True)
    for filename, html in result["feedback"].items():
        (feedback / filename).write_text(html)
    graded = root / "autograded" / sid / ASSIGNMENT
    graded.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(sid)
        gb.update_or_create_submission(ASSIGNMENT, sid)
        for name in set(NOTEBOOKS) - set(result["autograded"]):  # not gradable: zero, nothing to review
            for grade in gb.find_submission_notebook(name, ASSIGNMENT, sid).grades:
                grade.auto_score, grade.needs_manual_grade = 0, False
        gb.db.commit()
    for name, text in result["autograded"].items():
        (graded / f"{name}.ipynb").write_text(text)
        resources = {"nbgrader": dict(db_url=db_url, assignment=ASSIGNMENT, notebook=name, student=sid)}
        SaveAutoGrades().preprocess(nbformat.reads(text, as_version=4), resources)


def _write_tables(out, results, tests):
    test_ids = [test_id for _, test_id, _ in tests]
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["student_id", "status", "score", "max_score", *test_ids])
    for sid, r in results.items():
        writer.writerow([sid, r["status"], f"{r['score']:g}", f"{r['max_score']:g}",
                         *(f"{r['tests'][t]['score']:g}" for t in test_ids)])
    write_atomic(out / "grades.csv", table.getvalue())
    keep = ("status", "score", "max_score", "tests", "errors", "notebooks")
    students = {sid: {key: r[key] for key in keep} for sid, r in results.items()}
    write_atomic(out / "grades.json", json.dumps({"students": students}, indent=2) + "\n")


def format_table(results):
    """A plain-text grade table for the terminal."""
    lines = [f"{'student':<20} {'status':<8} {'score':>11}  reason"]
    for sid, r in results.items():
        reason = r["errors"][0] if r["errors"] and r["status"] != "ok" else ""
        lines.append(f"{sid:<20} {r['status']:<8} {r['score']:>5g}/{r['max_score']:<5g}  {reason[:90]}")
    return "\n".join(lines)

