"""The records that flow between grading's steps, each step's input and output, of one type each.

    intake (a reader per LMS format)  →  Upload        who handed in what, as the LMS delivered it
    submissions.read_upload           →  notebooks     name → hw4.submission.Notebook, ready to grade
    worker.grade_student              →  StudentResult what the autograder made of it
    final.finish                      →  FinalGrade    with the hand-graded points and the late penalty
    export (a writer per format)      ←  Graded        one student's result and final grade, for every output

Every output (grades.csv, grades.json, the LMS exports, the class report) is a small writer over
``Graded`` records; no other module spells their field names as dictionary keys.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import PurePosixPath

STATUSES = ("ok", "timeout", "crashed", "invalid", "missing")  # best to worst (the contract's order)


def worst(statuses):
    """The worst of ``statuses`` ('ok' when there are none): a student's status over their notebooks."""
    return max(statuses, key=STATUSES.index, default="ok")


@dataclass(frozen=True)
class Student:
    """Who handed in: the LMS's stable id and what the export says of them (empty where it says nothing)."""

    id: str  # the key everywhere: folder name, Canvas user id, Moodle participant id, Gradescope SID...
    name: str = ""  # display name, never a key: two students may share it
    email: str = ""
    sis_id: str = ""  # the institution's id (Canvas "SIS User ID", Gradescope SID)
    late: bool = False  # the LMS flagged the submission late
    submitted_at: str = ""  # ISO 8601 with its UTC offset, where the export records the time


@dataclass(frozen=True)
class UploadFile:
    """One file of a student's upload: its path inside the upload, and how to get its bytes.

    ``kind`` is None for a regular file, else what stands there instead ('a named pipe', 'a symbolic
    link', ...): such an entry is never opened. ``read`` returns the bytes, at most ``limit + 1`` of them,
    so that a reader can tell a file over the limit without reading it whole."""

    path: PurePosixPath
    read: object  # callable(limit) -> bytes
    kind: str | None = None
    size: int = 0

    @property
    def name(self):
        return self.path.name


@dataclass
class Upload:
    """One student's hand-in as an intake reader found it: the files, and notes about what it did."""

    student: Student
    files: list[UploadFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "a resubmission: graded the latest of 2 uploads"
    problem: str = ""  # the whole upload is unusable, and why (every notebook is then invalid)


@dataclass(frozen=True)
class TestResult:
    score: float
    max_score: float
    message: str = ""  # the check's verdict for the student ('' when passed)


@dataclass(frozen=True)
class NotebookResult:
    status: str
    reason: str = ""


@dataclass
class StudentResult:
    """What autograding made of one student; saved as DIR/results/<id>.json as it arrives."""

    student_id: str
    status: str
    score: float  # autograded points (the contract's `score`)
    max_score: float
    tests: dict[str, TestResult] = field(default_factory=dict)
    notebooks: dict[str, NotebookResult] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # reasons behind the status, then notes on the files
    submitted: dict[str, str] = field(default_factory=dict)  # notebook → sha256 of the bytes graded
    seed: int | None = None
    seconds: float | None = None
    feedback: dict[str, str] = field(default_factory=dict)  # page file name → HTML
    autograded: dict[str, str] = field(default_factory=dict)  # notebook → graded notebook JSON
    student: Student | None = None  # who, as the intake found them; set by the coordinator

    def summary(self):
        """What grades.json keeps of it: the contract's keys, without the pages and notebooks."""
        return {"status": self.status, "score": self.score, "max_score": self.max_score,
                "tests": {k: dataclasses.asdict(v) for k, v in self.tests.items()}, "errors": list(self.errors),
                "notebooks": {k: dataclasses.asdict(v) for k, v in self.notebooks.items()}}

    def to_json(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data):
        data = dict(data)
        data["tests"] = {k: TestResult(**v) for k, v in data.get("tests", {}).items()}
        data["notebooks"] = {k: NotebookResult(**v) for k, v in data.get("notebooks", {}).items()}
        if data.get("student") is not None:
            data["student"] = Student(**data["student"])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Lateness:
    """How late a student handed in, and what it costs."""

    hours: float = 0.0  # after their deadline (their extension's, if any); 0 when on time
    fraction: float = 0.0  # of the total taken off, 0 to 1
    note: str = ""  # for the student: "handed in 1 day 3 h after the deadline: −10 %"


@dataclass(frozen=True)
class FinalGrade:
    """The homework's grade: autograded + hand-graded − late penalty."""

    manual: float | None  # hand-graded points; None until graded in formgrader
    manual_max: float
    penalty: float  # points taken off for lateness
    total: float
    max_total: float
    lateness: Lateness = Lateness()

    @property
    def manual_graded(self):
        return self.manual is not None


@dataclass
class Graded:
    """One student's row in every output."""

    student: Student
    result: StudentResult
    final: FinalGrade
