"""Grading runs: interrupted runs resume, --regrade redoes, one job grades as two, the CLI, the sandbox switch."""
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import course, sandbox, workarounds
from autograder.course import SOURCE, autograded_tests
from autograder.coordinator.grade import grade_class
from autograder.coordinator.runs import GradeError
from autograder.submissions import read_student
from autograder.worker.student import grade_student
from autograder.sandbox.zygote import Zygote
from conftest import HW4, grading_line, summary


def test_an_interrupted_run_grades_only_what_is_missing(small_class, small_graded, tmp_path):
    out = shutil.copytree(small_graded.out, tmp_path / "out")  # the shared run stays as it was for other tests
    (out / "results" / "wrong.json").unlink()  # as if the run had stopped before this student
    log = []
    resumed = grade_class(small_class, out, jobs=2, log=log.append)
    assert grading_line(log).startswith("grading 1 of 4 students")
    assert summary(resumed) == summary(small_graded.results)


def test_regrading_one_student_leaves_the_others_untouched(small_class, small_graded, tmp_path):
    out = shutil.copytree(small_graded.out, tmp_path / "out")
    rewritten = ("wrong.json", "grades.csv", "grades.json", "gradebook.db", "report.html", "source.json")  # and the lock
    others = [path for path in out.rglob("*") if path.is_file() and "wrong" not in path.parts
              and path.name not in rewritten and not path.name.startswith(".")]
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in others}
    log = []
    regraded = grade_class(small_class, out, jobs=1, regrade={"wrong"}, log=log.append)
    assert grading_line(log).startswith("grading 1 of 4 students")
    assert summary(regraded) == summary(small_graded.results)
    seed_before = json.loads((small_graded.out / "results" / "wrong.json").read_text())["seed"]
    assert regraded["wrong"].seed != seed_before  # graded again, on fresh inputs
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in others} == before
    with pytest.raises(GradeError, match="not in"):
        grade_class(small_class, out, jobs=1, regrade={"nobody"}, log=log.append)


def test_saved_results_missing_from_the_gradebook_are_recorded_by_the_next_run(small_class, small_graded, tmp_path):
    first = small_graded.results
    out = shutil.copytree(small_graded.out, tmp_path / "out")
    shutil.rmtree(out / "course")  # a run stopped between saving a result and recording it, or a deleted course
    log = []
    grade_class(small_class, out, jobs=1, log=log.append)
    assert grading_line(log).startswith("grading 0 of 4 students")
    with Gradebook(course.gradebook_url(out / "course")) as gb:
        assert {student.id for student in gb.students} == set(first)
        assert gb.find_submission("hw4", "right").code_score == first["right"].score > 0


def test_cli_grades_and_exits_zero(small_graded):
    run = small_graded.process  # `hw4 grade` with --similarity and a relative DIR
    assert "not valid JSON" in run.stdout  # the broken student's reason
    assert "right                missing     25/43" in run.stdout
    assert (small_graded.out / "grades.csv").read_text().count("\n") == 5
    pairs = (small_graded.out / "similarity.csv").read_text().splitlines()
    assert pairs[0].startswith("student_a,student_b,score") and len(pairs) == 2  # right and wrong; the rest skipped


def test_regrading_everyone_without_the_sandbox_one_at_a_time_gives_the_same_grades(small_class, small_graded, tmp_path):
    out = shutil.copytree(small_graded.out, tmp_path / "out")
    log = []
    unconfined = grade_class(small_class, out, jobs=1, regrade=True, sandboxed=False, log=log.append)
    assert grading_line(log).startswith("grading 4 of 4 students")
    assert summary(unconfined) == summary(small_graded.results)  # as the sandbox and two jobs graded it
    assert unconfined["right"].score > unconfined["wrong"].score > 0 == unconfined["blank"].score


def test_grading_stops_with_a_clear_error_when_the_sandbox_cannot_be_made(small_class, tmp_path):
    run = subprocess.run([HW4, "grade", small_class, "--out", tmp_path / "out"], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PATH": str(HW4.parent)})  # no bwrap on this PATH
    assert run.returncode != 0
    assert "bubblewrap is not installed" in run.stderr and "--no-sandbox" in run.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def _visible_text(html_page):
    """What a reader of the feedback page sees: tags (syntax highlighting splits code into spans) removed."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_page))


def test_feedback_shows_verdicts_and_messages_but_no_hidden_test_code(small_graded):
    out, results = small_graded.out, small_graded.results
    hidden = [line.strip() for cell in nbformat.read(SOURCE / "KL_derivation.ipynb", as_version=4).cells
              for region in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
              for line in region.splitlines() if line.strip()]
    assert any("probe.run(" in line for line in hidden)
    for student in ("right", "wrong"):
        page = _visible_text((out / "feedback" / student / "KL_derivation.html").read_text())
        assert "estimate_with_seed(7)" in page  # visible tests stay, so the page shows test code at all
        assert "passed: the grader checked" in page
        leaked = [line for line in hidden if line in page]
        assert not leaked, (student, leaked)
    kl_tests = {test_id for notebook, test_id, _ in autograded_tests() if notebook == "KL_derivation"}
    messages = [t.message for test_id, t in results["wrong"].tests.items() if test_id in kl_tests and t.message]
    page = _visible_text((out / "feedback" / "wrong" / "KL_derivation.html").read_text())
    assert messages and all(message.splitlines()[0] in page for message in messages)


def test_a_zygote_that_fails_costs_the_student_nothing(small_class, tmp_path):
    """A zygote that dies (here: not even Python) makes each notebook run with a cold kernel instead."""
    broken = Zygote("/bin/false", {})
    saved, sandbox.kernel._zygote = sandbox.kernel._zygote, broken
    try:
        notebooks = read_student(small_class / "right")
        result = grade_student("right", notebooks, autograded_tests(), dict(gradebook=_gradebook(tmp_path)))
    finally:
        sandbox.kernel._zygote = saved
    assert result.status == "missing" and result.notebooks["KL_derivation"].status == "ok", result.errors
    assert result.score == 25  # every KL point, as with a warm kernel


def _gradebook(tmp_path):
    root = course.make_course(tmp_path / "course")
    course.generate_assignment(root)
    return (root / "gradebook.db").read_bytes()


def test_new_gradebooks_are_stamped_with_the_revision_alembic_reports(tmp_path):
    """course.py reads the newest migration in this process; nbgrader itself asks the `alembic` command."""
    from nbgrader.dbutil import write_alembic_ini

    write_alembic_ini(tmp_path / "alembic.ini", course.gradebook_url(tmp_path))
    alembic = Path(sys.executable).with_name("alembic")
    heads = subprocess.run([alembic, "-c", tmp_path / "alembic.ini", "heads"], capture_output=True, text=True,
                           check=True).stdout
    assert heads.split() == [workarounds.alembic_head(), "(head)"]


def test_nbgrader_still_rejects_bad_cell_metadata_and_bad_schemas():
    """course.py checks nbgrader's schema once per process instead of once per cell: validation is unchanged."""
    import jsonschema
    from nbgrader.nbgraderformat import MetadataValidator

    schema = MetadataValidator().schema
    cell = {"grade": True, "grade_id": "t", "locked": True, "points": 1, "schema_version": 3, "solution": False}
    for _ in range(2):  # the second time, the schema has been checked already
        jsonschema.validate(cell, schema)
        with pytest.raises(jsonschema.ValidationError, match="'one' is not of type 'number'"):
            jsonschema.validate({**cell, "points": "one"}, schema)
        with pytest.raises(jsonschema.SchemaError):
            jsonschema.validate(cell, {**schema, "type": 5})
