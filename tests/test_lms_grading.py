"""`hw4 grade` on each LMS's download, end to end: the intake's ids, names, late flags and times reach
grades.csv, grades.json, the gradebook, the feedback folders and the export, and a deadline changes the total.

test_intake.py reads every layout and its odd cases without grading; here each layout is graded once, with
students whose notebooks need no kernel, but for one Canvas student whose notebook really runs.
"""
import csv
import json

import pytest
from nbgrader.api import Gradebook

from autograder import course
from autograder.coordinator.grade import grade_class
from autograder.deadlines import policy_from_options
from autograder.export import export
from autograder.files import write_zip
from autograder.samples import notebook_bytes, reference_answers
from conftest import snapshot

BROKEN = b'{"cells": [ not JSON'
GRADESCOPE_METADATA = """\
submission_501:
  :submitters:
  - :name: Jane Smith
    :sid: '9001'
    :email: jane@example.edu
  :created_at: 2026-12-02 01:30:00.000000000 -05:00
submission_502:
  :submitters:
  - :name: Jane Smith
    :email: other.jane@example.edu
  :created_at: 2026-12-01 20:00:00.000000000 -05:00
"""
LMS_CLASSES = {  # format → (entries of its zip, student id → (display name, what grading must say))
    "moodle": ([("Jane Smith_4567_assignsubmission_file_/VAE.ipynb", BROKEN),
                ("Jane Smith_4567_assignsubmission_file_/KL_derivation.ipynb", BROKEN),
                ("Jane Smith_4568_assignsubmission_file_/KL_derivation.ipynb", BROKEN),
                ("Jane Smith_4568_assignsubmission_file_/essay.pdf", b"%PDF-1.4")],
               {"4567": ("Jane Smith", "invalid"), "4568": ("Jane Smith", "missing")}),
    "gradescope": ([("submission_metadata.yml", GRADESCOPE_METADATA.encode()),
                    ("submission_501/VAE.ipynb", BROKEN), ("submission_501/KL_derivation.ipynb", BROKEN),
                    ("submission_502/KL_derivation.ipynb", BROKEN)],
                   {"9001": ("Jane Smith", "invalid"), "submission_502": ("Jane Smith", "missing")}),
    "nbgrader": ([("submitted/alice/hw4/VAE.ipynb", BROKEN), ("submitted/alice/hw4/KL_derivation.ipynb", BROKEN),
                  ("submitted/alice/hw4/timestamp.txt", b"2026-12-02 06:30:00.000000 UTC"),
                  ("submitted/bob/hw4/KL_derivation.ipynb", BROKEN)],
                 {"alice": ("", "invalid"), "bob": ("", "missing")}),
}
DUE = "2026-12-02T00:00-05:00"


def _rows(out):
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def _check_outputs(out, expect):
    """Every student of ``expect`` (id → (name, status)) has their row, gradebook entry and feedback folder."""
    rows = _rows(out)
    students = json.loads((out / "grades.json").read_text())["students"]
    assert set(rows) == set(students) == set(expect)
    for sid, (name, status) in expect.items():
        assert rows[sid]["status"] == students[sid]["status"] == status, (sid, students[sid]["errors"])
        assert rows[sid]["name"] == name
        assert (out / "feedback" / sid).is_dir()
    with Gradebook(course.gradebook_url(out / "course")) as gb:
        assert {student.id for student in gb.students} == set(expect)
    assert (out / "report.html").read_text().count("data-key") > 0
    return rows, students


@pytest.mark.parametrize("fmt", LMS_CLASSES)
def test_an_lms_download_is_graded_by_its_stable_ids(fmt, tmp_path):
    entries, expect = LMS_CLASSES[fmt]
    source = tmp_path / "download.zip"
    write_zip(source, dict(entries))
    before = snapshot(tmp_path)
    log = []
    grade_class(source, tmp_path / "out", jobs=1, log=log.append, policy=policy_from_options(due=DUE,
                late_policy="10%/day"))
    assert log[0].startswith(f"read {source} as") and log[0].endswith(f": {len(expect)} students")
    assert {path: seen for path, seen in snapshot(tmp_path).items() if "/out/" not in path + "/"} == before
    rows, students = _check_outputs(tmp_path / "out", expect)
    if fmt != "moodle":  # Moodle's download carries no times; Gradescope's and nbgrader's do
        late = next(sid for sid in expect if sid in ("9001", "alice"))
        assert students[late]["late"]["hours"] == pytest.approx(1.5) and rows[late]["hours_late"] == "1.5"
        assert students[late]["late"]["fraction"] == pytest.approx(0.1)  # 10 % a started day


def test_a_canvas_download_is_graded_and_goes_back_to_canvas(tmp_path):
    """Two students share a display name; one is flagged late and resubmitted, with a stray file; her KL
    notebook really runs. The penalty for the flag reaches the total, the feedback page and Canvas's CSV."""
    kl = notebook_bytes("KL_derivation", reference_answers("KL_derivation"))
    source = tmp_path / "submissions.zip"
    write_zip(source, {
        "smithjane_LATE_2001_70001_KL_derivation.ipynb": BROKEN,
        "smithjane_LATE_2001_70002_KL_derivation-1.ipynb": kl,  # the resubmission: the one graded
        "smithjane_LATE_2001_70003_notes.pdf": b"%PDF-1.4",
        "smithjane_2002_70004_VAE.ipynb": BROKEN,
    })
    out = tmp_path / "out"
    grade_class(source, out, jobs=1, log=lambda _: None, policy=policy_from_options(flagged_penalty="10%"))
    rows, students = _check_outputs(out, {"2001": ("smithjane", "missing"), "2002": ("smithjane", "missing")})
    jane = students["2001"]
    assert jane["score"] == 25 and jane["late"]["fraction"] == pytest.approx(0.1)
    assert float(rows["2001"]["late_penalty"]) == pytest.approx(2.5) and float(rows["2001"]["total"]) == 22.5
    assert any("latest" in error for error in jane["errors"]) and any("notes.pdf" in e for e in jane["errors"])
    assert "10 %" in (out / "feedback" / "2001" / "KL_derivation.html").read_text()
    paths, _ = export(out, "canvas", assignment="HW4", ungraded="zero")
    canvas = list(csv.reader(paths[0].read_text().splitlines()))
    assert canvas[0][:2] == ["Student", "ID"] and {row[1]: row[-1] for row in canvas[1:] if row[1]} == \
        {"2001": "22.5", "2002": "0"}


def test_a_resumed_run_takes_the_download_s_new_times_for_unchanged_notebooks(tmp_path):
    """The notebooks are the same, so nobody is graded again; the submission time the LMS now gives still
    reaches the late penalty (the saved result keeps who the student is as the latest download says)."""
    entries, expect = LMS_CLASSES["nbgrader"]
    source = tmp_path / "download.zip"
    policy = policy_from_options(due=DUE, late_policy="10%/day")
    write_zip(source, dict(entries))
    grade_class(source, tmp_path / "out", jobs=1, log=lambda _: None, policy=policy)
    later = [(name, b"2026-12-03 06:30:00.000000 UTC" if name.endswith("timestamp.txt") else data)
             for name, data in entries]
    write_zip(source, dict(later))
    log = []
    grade_class(source, tmp_path / "out", jobs=1, log=log.append)
    assert any(line.startswith("grading 0 of 2 students") for line in log)
    students = json.loads((tmp_path / "out" / "grades.json").read_text())["students"]
    assert students["alice"]["late"]["hours"] == pytest.approx(25.5)
