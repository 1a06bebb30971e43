"""Grade one student: nbgrader autograde and feedback in a private course directory.

Everything a worker needs comes in its arguments and everything it produces goes back in the returned
record (records.StudentResult), so the same function runs in a local process pool or on a Dask worker, and only the caller writes
the class's gradebook and result files.
"""
import json
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from traitlets.config import Config

from .. import course
from ..course import ASSIGNMENT, NOTEBOOKS
from ..records import NotebookResult, StudentResult, TestResult, worst
from ..submissions import gradable


def grade_student(student_id, notebooks, tests, settings):
    """Grade ``notebooks`` (name → submissions.Notebook); ``tests`` lists (notebook, test_id, points)."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="hw4-grade-", dir=settings.get("work_root")))
    try:
        root = work / "course"
        seed = secrets.randbits(62)  # fresh inputs every run: nothing to learn from the release
        states = {}
        if gradable(notebooks):  # else there is nothing to run, and nbgrader has nothing to record
            course.make_course(root)
            (root / "gradebook.db").write_bytes(settings["gradebook"])
            states = _autograde(root, work, student_id, notebooks, seed, settings)
        result = _collect(root, student_id, notebooks, tests, states)
        result.seed, result.seconds = seed, round(time.monotonic() - started, 2)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _overrides(work, seed, settings):
    config = Config()
    execute = config.SandboxedExecute
    execute.work_dir, execute.seed = str(work / "scratch"), seed
    execute.use_sandbox = settings.get("sandbox", True)
    for name in ("wall_seconds", "memory_bytes", "timeout", "warm_kernels"):
        if name in settings:
            setattr(execute, name, settings[name])
    return config


def _autograde(root, work, student_id, notebooks, seed, settings):
    """Run nbgrader autograde + generate_feedback; return notebook → {status, reason} of execution."""
    import torch  # here: a student with nothing to run is graded without torch and the checks

    from .execute import state_path

    torch.set_num_threads(1)  # one core per worker: threads would only contend with the other workers
    submitted = root / "submitted" / student_id / ASSIGNMENT
    submitted.mkdir(parents=True)
    for nb in notebooks.values():
        if nb.text is not None:
            (submitted / f"{nb.name}.ipynb").write_text(nb.text)
    api = course.api(root, _overrides(work, seed, settings))
    graded = api.autograde(ASSIGNMENT, student_id, force=True, create=True)
    states = {}
    for name in NOTEBOOKS:
        state_file = state_path(work / "scratch", name)
        if state_file.exists():
            states[name] = json.loads(state_file.read_text())
    if not graded["success"]:
        reason = "nbgrader could not grade it: " + graded.get("error", "").strip().splitlines()[-1][:300]
        for name, nb in notebooks.items():
            if nb.text is not None and states.get(name, {}).get("status", "ok") == "ok":
                states[name] = dict(status="crashed", reason=f"{name}: {reason}", failed=True)
    else:
        course.succeed(api.generate_feedback(ASSIGNMENT, student_id, force=True), "generate_feedback")
    return states


def _collect(root, student_id, notebooks, tests, states):
    """The student's record: statuses, per-test scores and messages, feedback and graded notebooks."""
    per_notebook, errors = {}, []
    for name, nb in notebooks.items():
        status, reason = nb.status, nb.reason
        if status == "ok" and name in states:
            status, reason = states[name]["status"], states[name]["reason"]
        per_notebook[name] = NotebookResult(status, reason)
        errors += [reason] if reason else []
        errors += [f"{name}: {note}" for note in nb.notes]
    autograded, feedback, cells = {}, {}, {}
    graded_dir = root / "autograded" / student_id / ASSIGNMENT
    for name in NOTEBOOKS:
        path = graded_dir / f"{name}.ipynb"
        if path.exists() and not states.get(name, {}).get("failed"):
            autograded[name] = path.read_text()
            cells.update(_test_outputs(nbformat.reads(autograded[name], as_version=4)))
            page = root / "feedback" / student_id / ASSIGNMENT / f"{name}.html"
            if page.exists():
                feedback[f"{name}.html"] = page.read_text()
    scores = _scores(root, student_id, autograded)
    results = {}
    for notebook, test_id, points in tests:
        message = cells.get(test_id) if test_id in scores else _absent(notebooks[notebook])
        results[test_id] = TestResult(scores.get(test_id, 0.0), points, message or "")
    return StudentResult(student_id, worst(nb.status for nb in per_notebook.values()),
                         score=sum(t.score for t in results.values()),
                         max_score=sum(t.max_score for t in results.values()),
                         tests=results, notebooks=per_notebook, errors=errors,
                         submitted={name: nb.sha256 for name, nb in notebooks.items()},
                         feedback=feedback, autograded=autograded)


def _absent(nb):
    return nb.reason or f"{nb.name}.ipynb could not be graded"


def _test_outputs(notebook):
    """Test id → the verdict TrustedVerify wrote ('' when it passed)."""
    messages = {}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and cell.cell_type == "code":
            messages[grade_id] = "".join(out.get("evalue", "") for out in cell.get("outputs", [])
                                         if out.output_type == "error")
    return messages


def _scores(root, student_id, graded):
    """Test id → points, as nbgrader's gradebook recorded them."""
    scores = {}
    if not graded:
        return scores
    with Gradebook(course.gradebook_url(root)) as gb:
        for name in graded:
            for grade in gb.find_submission_notebook(name, ASSIGNMENT, student_id).grades:
                if grade.cell.cell_type == "code":
                    scores[grade.name] = float(grade.score)
    return scores
