"""`hw4 grade` on a whole class: catalog answers, broken files, awkward layouts."""
import csv
import json

import pytest
from nbgrader.api import Gradebook

from autograder.course import autograded_tests, gradebook_url
from autograder.coordinator.grade import grade_class
from autograder.export import FINAL_COLUMNS
from conftest import grading_line, snapshot


def _tests_of(name, result):
    return {tid: t for tid, t in result.tests.items() if tid == f"test_{name}" or tid.startswith(f"test_{name}_")}


def _notebook_tests(notebook, result):
    ids = {tid for nb, tid, _ in autograded_tests() if nb == notebook}
    return {tid: t for tid, t in result.tests.items() if tid in ids}


def test_every_student_folder_gets_exactly_one_row(graded):
    with open(graded.out / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["student_id"] for r in rows) == sorted(graded.expect)
    test_ids = [tid for _, tid, _ in autograded_tests()]
    contract = ["student_id", "status", "score", "max_score", *test_ids]  # first, in this order; more may follow
    assert list(rows[0])[:len(contract)] == contract
    assert list(rows[0])[len(contract):] == ["name", *FINAL_COLUMNS]


def test_statuses_and_reasons(graded):
    for sid, expect in graded.expect.items():
        result = graded.results[sid]
        assert result.status == expect.status, (sid, result.errors)
        assert expect.reason in " ".join(result.errors), (sid, result.errors)


def test_wrong_implementations_lose_points(graded):
    wrong = {sid: e for sid, e in graded.expect.items() if e.lose}
    assert len(wrong) == 4 + 7  # every graded function of both notebooks
    for sid, expect in wrong.items():
        tests = _tests_of(expect.lose, graded.results[sid])
        assert tests, sid
        assert sum(t.score for t in tests.values()) < sum(t.max_score for t in tests.values()), sid
        assert any(t.message for t in tests.values()), sid


def test_correct_notebooks_get_full_marks(graded):
    for sid, expect in graded.expect.items():
        for notebook in expect.full:
            tests = _notebook_tests(notebook, graded.results[sid])
            assert tests
            lost = {tid: t.message for tid, t in tests.items() if t.score != t.max_score}
            assert not lost, (sid, lost)


def test_blank_and_unreadable_submissions_score_zero(graded):
    for sid, expect in graded.expect.items():
        if expect.zero:
            assert graded.results[sid].score == 0, sid
    assert graded.results["blank"].max_score == sum(points for _, _, points in autograded_tests())


def test_grades_json_matches_the_contract(graded):
    students = json.loads((graded.out / "grades.json").read_text())["students"]
    assert set(students) == set(graded.expect)
    for entry in students.values():
        assert entry["status"] in ("ok", "timeout", "crashed", "invalid", "missing")
        assert entry["score"] == pytest.approx(sum(t["score"] for t in entry["tests"].values()))
        for test in entry["tests"].values():
            assert set(test) == {"score", "max_score", "message"}
        assert isinstance(entry["errors"], list)


def test_feedback_is_written_for_graded_notebooks(graded):
    feedback = graded.out / "feedback"
    assert sorted(p.name for p in (feedback / "solution").iterdir()) == ["KL_derivation.html", "VAE.html"]
    html = feedback / "KL_derivation-kl_mvn-wrong" / "KL_derivation.html"
    assert "TestFailed" in html.read_text()
    assert list((feedback / "empty-folder").iterdir()) == []


def test_submissions_are_never_modified(graded):
    assert snapshot(graded.submissions) == graded.before


def test_scores_land_in_the_nbgrader_gradebook(graded):
    with Gradebook(gradebook_url(graded.out / "course")) as gb:
        solution = gb.find_submission("hw4", "solution")
        assert solution.code_score == graded.results["solution"].max_score
        assert solution.needs_manual_grade  # the derivation waits for a TA in the formgrader
        assert gb.find_submission("hw4", "blank").code_score == 0


def test_a_second_run_resumes_without_regrading(graded):
    log = []
    again = grade_class(graded.submissions, graded.out, jobs=2, log=log.append)
    assert grading_line(log).startswith(f"grading 0 of {len(graded.expect)} students")
    assert {sid: r.score for sid, r in again.items()} == {sid: r.score for sid, r in graded.results.items()}
