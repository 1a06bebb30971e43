"""The final grade and its outputs: grades.csv, grades.json and `hw4 export` to Canvas, Moodle and plain CSV.

No kernel: the class is StudentResult records saved in DIR/results as `hw4 grade` saves them, in a real nbgrader
course whose gradebook knows the students; a TA's hand grade is written through nbgrader's gradebook API, as
formgrader writes it. The rosters are built the way Canvas and Moodle write theirs."""
import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from hw4.cli import main
from nbgrader.api import Gradebook

from autograder import course, records
from autograder.course import ASSIGNMENT, autograded_tests
from autograder.deadlines import policy_from_options
from autograder.export import ExportError, export, formats, moodle, write_tables
from autograder.final import ClassError, load_class
from autograder.export.late_notes import mark_feedback
from autograder.records import Student, StudentResult

DUE = "2026-12-01T23:59-05:00"
TESTS = autograded_tests()
AUTO_MAX = sum(points for _, _, points in TESTS)
MANUAL_MAX = 10  # the derivation
STUDENTS = {  # id → (the student as the LMS export names them, autograded points lost)
    "1001": (Student("1001", "Zoë Łukasiewicz", "zoe@example.edu", "S-1001",
                     submitted_at="2026-12-01T22:10-05:00"), 0),
    "1002": (Student("1002", "Jane Smith", "jane@example.edu", "S-1002", submitted_at="2026-12-03T02:59-05:00"), 3),
    "1003": (Student("1003", "José Núñez", "jose@example.edu", "S-1003", late=True), 5),
    "1004": (Student("1004", "Jane Smith", "jane.s@example.edu", "S-1004", submitted_at="2026-12-03T10:00-05:00"), 0),
}
HAND_GRADES = {"1001": 8, "1002": 10, "1004": 9}  # 1003's derivation is not graded yet


def result(student, lost):
    """What the autograder made of ``student``: every test passed but the first, which lost ``lost`` points."""
    tests = {test_id: records.TestResult(points - (lost if i == 0 else 0), points, "" if i or not lost else "wrong")
             for i, (_, test_id, points) in enumerate(TESTS)}
    return StudentResult(student.id, "ok", AUTO_MAX - lost, AUTO_MAX, tests=tests, student=student,
                         feedback={"VAE.html": "<html><body><p>VAE</p></body></html>"})


def ta_grades(out, sid, points):
    """Set the derivation's score as formgrader's grade handler does."""
    with Gradebook(course.gradebook_url(out / "course")) as gb:
        grade = gb.find_grade("derivation", "KL_derivation", ASSIGNMENT, sid)
        grade.manual_score = points
        grade.needs_manual_grade = False
        gb.db.commit()


@pytest.fixture(scope="module")
def nbgrader_course(tmp_path_factory):
    root = course.make_course(tmp_path_factory.mktemp("course") / "course")
    course.generate_assignment(root)
    return root


@pytest.fixture(scope="module")
def graded_once(tmp_path_factory, nbgrader_course):
    """DIR after `hw4 grade` with a deadline, 10 %/day, 10 % for a LATE flag and an extension for 1004; the
    TA has graded three derivations."""
    tmp_path = tmp_path_factory.mktemp("graded")
    out = tmp_path / "graded"
    shutil.copytree(nbgrader_course, out / "course")
    (out / ".hw4-grade.lock").touch()  # as every `hw4 grade` leaves it
    (out / "results").mkdir()
    with Gradebook(course.gradebook_url(out / "course")) as gb:
        for sid in STUDENTS:
            gb.update_or_create_student(sid)
            gb.update_or_create_submission(ASSIGNMENT, sid)
    for sid, (student, lost) in STUDENTS.items():
        record = result(student, lost)
        (out / "results" / f"{sid}.json").write_text(json.dumps(record.to_json()))
        (out / "feedback" / sid).mkdir(parents=True)
        (out / "feedback" / sid / "VAE.html").write_text(record.feedback["VAE.html"])
    for sid, points in HAND_GRADES.items():
        ta_grades(out, sid, points)
    extensions = tmp_path / "extensions.csv"
    extensions.write_text("student_id,due\n1004,2026-12-04T23:59-05:00\n")
    policy_from_options(due=DUE, late_policy="10%/day", flagged_penalty="10%", extensions=str(extensions)).save(out)
    write_tables(out, load_class(out))  # as `hw4 grade` ends
    return out


@pytest.fixture
def graded(tmp_path, graded_once):
    """A copy of the graded class, for one test to change."""
    return Path(shutil.copytree(graded_once, tmp_path / "graded"))


def expected_total(sid):
    """auto + manual − late, worked out by hand: 1002 is 1 day 3 h late (two started days, 20 %), 1003 is
    flagged late (10 %, nothing graded by hand yet), 1004 is late only against the class deadline."""
    earned = AUTO_MAX - STUDENTS[sid][1] + HAND_GRADES.get(sid, 0)
    return round(earned * {"1002": 0.8, "1003": 0.9}.get(sid, 1.0), 2)


def rows(path):
    return list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))


def test_grades_csv_keeps_the_contract_columns_then_adds_the_final_grade(graded):
    table = rows(graded / "grades.csv")
    test_ids = [test_id for _, test_id, _ in TESTS]
    assert table[0][:4 + len(test_ids)] == ["student_id", "status", "score", "max_score", *test_ids]
    assert table[0][4 + len(test_ids):] == ["name", "manual", "manual_max", "manual_status", "hours_late",
                                            "late_percent", "late_penalty", "total", "max_total", "late_note"]
    first = (graded / "grades.csv").read_text(encoding="utf-8").splitlines()[1]
    assert first.startswith(f"1001,ok,{AUTO_MAX:g},{AUTO_MAX:g},{TESTS[0][2]:g},{TESTS[1][2]:g},")
    by_id = {row[0]: dict(zip(table[0], row)) for row in table[1:]}
    assert list(by_id) == sorted(STUDENTS)
    for sid in STUDENTS:
        assert float(by_id[sid]["total"]) == expected_total(sid), sid
        assert float(by_id[sid]["max_total"]) == AUTO_MAX + MANUAL_MAX
    assert by_id["1003"]["manual"] == "" and by_id["1003"]["manual_status"] == "not yet graded"
    assert by_id["1002"]["late_percent"] == "20" and by_id["1002"]["hours_late"] == "27"
    assert "1 day 3 h after the deadline" in by_id["1002"]["late_note"]
    assert by_id["1003"]["late_percent"] == "10" and by_id["1003"]["late_note"].startswith("Marked late")
    assert by_id["1004"]["late_percent"] == "0" and by_id["1004"]["late_note"] == ""  # within the extension


def test_grades_json_keeps_the_contract_shape_with_the_final_grade_beside(graded):
    students = json.loads((graded / "grades.json").read_text())["students"]
    assert list(students) == sorted(STUDENTS)
    for sid, entry in students.items():
        assert {"status", "score", "max_score", "tests", "errors"} <= set(entry)
        assert entry["total"] == expected_total(sid)
        assert entry["student"]["name"] == STUDENTS[sid][0].name
    assert students["1003"]["manual"] is None and students["1003"]["manual_status"] == "not yet graded"
    assert students["1001"]["manual"] == 8 and students["1001"]["manual_status"] == "graded"
    assert students["1002"]["late"]["fraction"] == pytest.approx(0.2)
    assert students["1002"]["late"]["penalty"] == pytest.approx((AUTO_MAX - 3 + 10) * 0.2)


def test_a_policy_change_moves_the_totals(graded):
    before = {g.student.id: g.final.total for g in load_class(graded)}
    policy_from_options(due="2026-12-03T23:59-05:00", late_policy="10%/day").save(graded)  # later; no flag penalty
    after = {g.student.id: g.final.total for g in load_class(graded)}
    assert after["1002"] == AUTO_MAX - 3 + 10 > before["1002"]
    assert after["1003"] == AUTO_MAX - 5 > before["1003"]
    assert after["1001"] == before["1001"]


CANVAS_ROSTER = (  # Canvas's gradebook export: its header, the Manual Posting and Points Possible rows, Test Student
    "Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (111),HW4 (12345),Current Score,Final Score\r\n"
    ",,,,,,Manual Posting,,\r\n"
    "    Points Possible,,,,,10.00,53.00,(read only),(read only)\r\n"
    '"Łukasiewicz, Zoë",1001,S-1001,zluka,Section 01,9.00,,90.00,90.00\r\n'
    '"Smith, Jane",1002,S-1002,jsmith,Section 01,8.00,,80.00,80.00\r\n'
    '"Núñez, José",1003,S-1003,jnunez,Section 02,7.00,,70.00,70.00\r\n'
    '"Smith, Jane",1004,S-1004,jsmith2,Section 02,10.00,,100.00,100.00\r\n'
    '"O\'Brien, Seán",1005,S-1005,sobrien,Section 02,6.00,,60.00,60.00\r\n'
    '"Student, Test",9999,,,Section 01,,,,\r\n'
)


def test_hw4_export_to_canvas_fills_the_roster_with_the_final_totals(graded, tmp_path, capsys):
    roster = tmp_path / "2026-12-06T1200_Grades-VAE_101.csv"
    roster.write_text(CANVAS_ROSTER, encoding="utf-8")
    before = roster.read_bytes()
    ta_grades(graded, "1003", 7)  # hand grading after `hw4 grade`: the export picks it up
    main(["export", str(graded), "--to", "canvas", "--roster", str(roster), "--assignment", "HW4"])
    assert "in the roster but handed in nothing, so 0 (missing): 1005" in capsys.readouterr().out
    table = rows(graded / "export" / "canvas.csv")
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW4 (12345)"]
    assert table[1] == ["    Points Possible", "", "", "", "", f"{AUTO_MAX + MANUAL_MAX:g}"]
    grade = {row[1]: row for row in table[2:]}
    assert list(grade) == ["1001", "1002", "1003", "1004", "1005"]  # roster order, Test Student left out
    assert grade["1001"][:5] == ["Łukasiewicz, Zoë", "1001", "S-1001", "zluka", "Section 01"]
    assert float(grade["1002"][5]) == expected_total("1002")  # auto + manual − 20 %
    assert float(grade["1003"][5]) == round((AUTO_MAX - 5 + 7) * 0.9, 2)  # the flag's 10 %, after hand grading
    assert grade["1005"][5] == "0"
    assert json.loads((graded / "grades.json").read_text())["students"]["1003"]["manual"] == 7
    assert roster.read_bytes() == before


def test_canvas_without_a_roster_lists_the_graded_class_and_leaves_ungraded_blank(graded):
    paths, notes = export(graded, "canvas", assignment="HW4 (12345)")
    table = rows(paths[0])
    assert table[0][-1] == "HW4 (12345)"
    grade = {row[1]: row for row in table[2:]}
    assert grade["1002"][:3] == ["Jane Smith", "1002", "S-1002"]
    assert grade["1003"][5] == ""  # not graded by hand yet: Canvas keeps what it has
    assert "not yet graded by hand: 1 of 4 students, their LMS grade left blank" in " ".join(notes)
    paths, _ = export(graded, "canvas", ungraded="zero")
    assert float({row[1]: row for row in rows(paths[0])[2:]}["1003"][5]) == expected_total("1003")


MOODLE_HEADER = ("Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
                 "Last modified (submission),Online text,Last modified (grade),Feedback comments")
MOODLE_WORKSHEET = MOODLE_HEADER + "\n" + (  # Moodle's worksheet for this assignment, out of 53
    'Participant 1001,Zoë Łukasiewicz,zoe@example.edu,Submitted for grading - Not graded,,53.00,Yes,'
    '"Tuesday, 1 December 2026, 10:10 PM",,-,\n'
    'Participant 1002,Jane Smith,jane@example.edu,Submitted for grading - Not graded,,53.00,Yes,'
    '"Thursday, 3 December 2026, 2:59 AM",,-,\n'
    'Participant 1005,Seán O_Brien,sean@example.edu,No submission - Not graded,,53.00,Yes,-,,-,\n'
)


def test_moodle_worksheet_round_trip_keeps_the_other_columns(graded, tmp_path):
    worksheet = tmp_path / "Grades-VAE-HW4-42.csv"
    worksheet.write_text(MOODLE_WORKSHEET, encoding="utf-8")
    paths, notes = export(graded, "moodle", roster=worksheet, dest=tmp_path / "moodle.csv")
    assert [p.name for p in paths] == ["moodle.csv", "moodle-feedback.zip"]
    sent, filled = rows(worksheet), rows(paths[0])
    assert filled[0] == sent[0]
    grade, comments = sent[0].index("Grade"), sent[0].index("Feedback comments")
    for before, after in zip(sent[1:], filled[1:], strict=True):
        assert [c for i, c in enumerate(after) if i not in (grade, comments)] == \
               [c for i, c in enumerate(before) if i not in (grade, comments)]
    by_id = {row[0]: row for row in filled[1:]}
    assert by_id["Participant 1002"][grade] == f"{expected_total('1002'):.2f}"
    assert "Graded by hand: 10/10." in by_id["Participant 1002"][comments]
    assert "1 day 3 h after the deadline" in by_id["Participant 1002"][comments]
    assert by_id["Participant 1005"][grade] == "0.00"
    assert any("1003, 1004" in note for note in notes)  # graded, but not in this worksheet
    with zipfile.ZipFile(paths[1]) as archive:  # the worksheet's participants who handed in, and only them
        assert archive.namelist() == ["Jane Smith_1002_assignsubmission_file_/VAE.html",
                                      "Zoë Łukasiewicz_1001_assignsubmission_file_/VAE.html"]
    assert moodle._folder("Seán O_Brien", "1005") == "Seán O Brien_1005_assignsubmission_file_"  # "_" splits


def test_moodle_out_of_another_maximum_is_rescaled(graded, tmp_path):
    worksheet = tmp_path / "worksheet.csv"
    worksheet.write_text(MOODLE_WORKSHEET.replace("53.00", "100.00").replace("Maximum Grade", "Maximum grade"),
                         encoding="utf-8")
    paths, notes = export(graded, "moodle", roster=worksheet)
    by_id = {row[0]: row for row in rows(paths[0])[1:]}
    assert float(by_id["Participant 1001"][4]) == round(expected_total("1001") * 100 / 53, 2)
    assert any("rescaled" in note for note in notes)


def test_exports_are_byte_identical_when_run_again(graded, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(CANVAS_ROSTER, encoding="utf-8")
    made = {}
    for run in range(2):
        written = [graded / "grades.csv", graded / "grades.json"]
        for name in formats():  # every format `--to` takes, one added later included
            written += export(graded, name, roster=roster if name == "canvas" else None)[0]
        made[run] = {str(p): p.read_bytes() for p in written}
    assert made[0] == made[1]


def test_plain_csv_has_one_row_per_student(graded):
    paths, _ = export(graded, "csv")
    table = rows(paths[0])
    assert table[0][:5] == ["student_id", "name", "email", "sis_id", "submitted_at"]
    assert [row[0] for row in table[1:]] == sorted(STUDENTS)
    assert {row[0]: float(row[table[0].index("total")]) for row in table[1:]} == \
           {sid: expected_total(sid) for sid in STUDENTS}


def test_bad_requests_get_one_clear_error_and_write_nothing(graded, tmp_path):
    before = sorted(p.name for p in graded.iterdir())
    with pytest.raises(ExportError, match="no export format 'blackboard'"):
        export(graded, "blackboard")
    not_canvas = tmp_path / "roster.csv"
    not_canvas.write_text("name,grade\nZoë,1\n", encoding="utf-8")
    with pytest.raises(ExportError, match="is not a Canvas gradebook export"):
        export(graded, "canvas", roster=not_canvas)
    roster = tmp_path / "canvas.csv"
    roster.write_text(CANVAS_ROSTER, encoding="utf-8")
    with pytest.raises(ExportError, match="would overwrite the roster"):
        export(graded, "canvas", roster=roster, dest=roster)
    assert roster.read_bytes() == CANVAS_ROSTER.encode()
    with pytest.raises(ExportError, match="is not a folder"):
        export(tmp_path / "nothing-graded", "csv")
    assert not (tmp_path / "nothing-graded").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportError, match="holds no graded students"):
        export(tmp_path / "empty", "csv")
    assert sorted(p.name for p in graded.iterdir()) == before


def test_the_class_is_the_last_runs_or_the_one_named(graded):
    assert [g.student.id for g in load_class(graded)] == sorted(STUDENTS)  # grades.json's
    (graded / "grades.json").unlink()
    (graded / "results" / "0999.json").write_text(json.dumps(result(Student("0999"), 0).to_json()))
    everyone = load_class(graded)  # every saved result: 0999 is not in the gradebook, so not graded by hand
    assert [g.student.id for g in everyone] == ["0999", *sorted(STUDENTS)]
    assert everyone[0].final.manual is None and everyone[0].final.total == AUTO_MAX
    assert [g.student.id for g in load_class(graded, ["1004", "1001"])] == ["1004", "1001"]


def test_the_feedback_pages_carry_the_current_late_note(graded):
    class_ = load_class(graded)
    mark_feedback(graded, class_)
    page = (graded / "feedback" / "1002" / "VAE.html").read_text(encoding="utf-8")
    assert "1 day 3 h after the deadline" in page and 'role="note"' in page
    assert "role=" not in (graded / "feedback" / "1001" / "VAE.html").read_text(encoding="utf-8")  # on time
    policy_from_options(due="2026-12-03T23:59-05:00").save(graded)  # a later deadline: 1002 is on time
    mark_feedback(graded, load_class(graded))
    unmarked = result(*STUDENTS["1002"]).feedback["VAE.html"]
    assert (graded / "feedback" / "1002" / "VAE.html").read_text(encoding="utf-8") == unmarked


def test_no_export_while_hw4_grade_writes_to_dir(graded):
    from autograder.coordinator.runs import hold_lock

    with hold_lock(graded), pytest.raises(ExportError, match="another hw4 grade"):
        export(graded, "csv")
    assert not (graded / "export").exists()


def test_an_old_result_without_its_student_record_is_still_exported(graded):
    path = graded / "results" / "1001.json"
    data = json.loads(path.read_text())
    data.pop("student")
    path.write_text(json.dumps(data))
    first = load_class(graded)[0]
    assert first.student == Student("1001") and first.final.total == expected_total("1001")


def test_results_without_a_gradebook_are_refused(graded):
    shutil.rmtree(graded / "course")
    with pytest.raises(ClassError, match="no class gradebook"):
        load_class(graded)
    assert not (graded / "course").exists()  # nbgrader would have made an empty one
