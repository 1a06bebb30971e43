import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import autograder  # noqa: F401 (first: it spares each test process a slow import, see its __init__)
import catalog_kl
import classroom
from autograder.coordinator.grade import grade_class
from autograder.records import StudentResult
from autograder.release import release
from autograder.samples import reference_answers, write_submission

REPO = Path(__file__).resolve().parents[1]
HW4 = Path(sys.executable).with_name("hw4")
COURSE_FILES = ("pyproject.toml", "README.md", "autograder", "student")  # what a course folder needs


# `make test` runs the suite on pytest-xdist workers (two per core, `--dist loadgroup`); tests of one group run on
# one worker, one at a time. A group holds the tests of one expensive session fixture, so that it is built
# once (each class is graded once, by two grading jobs); test_sandbox's tests share fixed sandbox slots, so
# they are a group too. Grading runs may overlap: each claims free sandbox slots (sandbox.claim_slot).
FIXTURE_GROUPS = {"graded": "graded", "hostile": "hostile", "small_graded": "small", "released": "released"}
MODULE_GROUPS = {"test_sandbox.py": "fixed-slots"}
LONGEST_FIRST = ("graded", "small", "hostile", "fixed-slots", "released")  # no worker then waits for one at the end
# The longest tests outside a group (a minute or more each, benchmarks/README.md) start before the short ones,
# so that none of them is left running alone at the end.
LONG_MODULES = ("test_results.py", "test_install.py", "test_interruptions.py", "test_cluster.py")


def _group(item):
    marker = item.get_closest_marker("xdist_group")
    if marker:
        return marker.args[0]
    by_fixture = (group for name, group in FIXTURE_GROUPS.items() if name in item.fixturenames)
    return MODULE_GROUPS.get(item.path.name) or next(by_fixture, None)


def pytest_itemcollected(item):
    """Group as collected: xdist reads the groups in a pytest_collection_modifyitems of its own."""
    group = _group(item)
    if group and not item.get_closest_marker("xdist_group"):
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_collection_modifyitems(items):
    rank = {group: i for i, group in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: (rank.get(_group(item), len(rank)), item.path.name not in LONG_MODULES))


@pytest.fixture(scope="module")
def one_torch_thread():
    """For modules of small tensor cases: threading them only adds overhead, badly so beside other test processes."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def snapshot(folder):
    """Path → (is link, SHA-256 of the bytes) for everything below ``folder``, links not followed."""
    files = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_symlink():
            files[str(path)] = ("link", str(path.readlink()))
        elif path.is_file():
            files[str(path)] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
    return files


class Graded:
    """A class graded once per test session, shared by the tests that read its results."""

    def __init__(self, root):
        self.submissions, self.out = root / "submissions", root / "out"
        self.expect = classroom.build(self.submissions)
        self.before = snapshot(self.submissions)
        self.log = []
        self.results = grade_class(self.submissions, self.out, jobs=2, log=self.log.append)


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    return Graded(tmp_path_factory.mktemp("class"))


@pytest.fixture(scope="session")
def small_class(tmp_path_factory):
    """Four students: right, blank, one wrong kl_mvn, an unreadable notebook."""
    root = tmp_path_factory.mktemp("small")
    kl = reference_answers("KL_derivation")
    write_submission(root / "right", {"KL_derivation": kl})
    write_submission(root / "blank", {"KL_derivation": {}})
    code = next(iter(catalog_kl.WRONG["kl_mvn"].values())).strip()
    write_submission(root / "wrong", {"KL_derivation": {**kl, "kl_mvn": code}})
    (root / "broken").mkdir()
    (root / "broken" / "KL_derivation.ipynb").write_text("not json")
    return root


@dataclass
class Run:
    """A finished `hw4 grade`: the command's process, its DIR, and grades.json's students there."""
    process: subprocess.CompletedProcess
    out: Path
    results: dict


@pytest.fixture(scope="session")
def small_graded(small_class, tmp_path_factory):
    """``small_class`` graded once by the command, as an instructor runs it: two jobs, the sandbox, the
    similarity report, a relative DIR. Tests of the command read the run; tests that compare runs, its grades."""
    cwd = tmp_path_factory.mktemp("small-graded")
    process = subprocess.run([HW4, "grade", small_class, "--out", "cli", "--jobs", "2", "--similarity"],
                             capture_output=True, text=True, timeout=600, cwd=cwd)
    assert process.returncode == 0, process.stderr
    students = json.loads((cwd / "cli" / "grades.json").read_text())["students"]
    return Run(process, cwd / "cli", {sid: StudentResult.from_json({"student_id": sid, **entry})
                                      for sid, entry in students.items()})


def summary(results):
    """What two gradings of the same class must agree on (messages differ: inputs are fresh each run)."""
    return {sid: (r.status, r.score, {t: v.score for t, v in r.tests.items()}) for sid, r in results.items()}


def grading_line(log):
    """The line a run logs when it starts grading: "grading N of M students (K already graded)"."""
    return next(line for line in log if line.startswith("grading "))


def copy_course(dest):
    """A course folder with this repository's sources, as an instructor's copy of the bundle would be."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in COURSE_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copyfile(source, dest / name)
    return dest


class Released:
    """A copy of the course folder, released once per test session."""

    def __init__(self, root):
        self.root = copy_course(root)
        self.changed = release(self.root)


@pytest.fixture(scope="session")
def released(tmp_path_factory):
    return Released(tmp_path_factory.mktemp("course") / "course")
