"""`hw4 release`: the student notebooks and the handout, generated from the source, reproducible, with
nothing of the instructor side in them."""
import hashlib
import json
import zipfile

import nbformat
from hw4.graded import role
from nbgrader import utils

from autograder.course import NOTEBOOKS, SOURCE
from autograder.release import HANDOUT, MANIFEST, release
from conftest import REPO

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "MARK SCHEME")


def _private_lines(name):
    """Lines found only inside the source notebook's solution and hidden-test regions."""
    private, public, inside = set(), set(), False
    for cell in nbformat.read(SOURCE / f"{name}.ipynb", as_version=4).cells:
        for line in cell.source.splitlines():
            if any(f"### {m}" in line or f"=== {m}" in line for m in MARKERS):
                inside = "BEGIN" in line
            else:
                (private if inside else public).add(line.strip())
    return {line for line in private - public if len(line) > 12}  # "return x" may occur in any cell


def test_release_reproduces_the_committed_files_byte_for_byte(released):
    for path in [f"{name}.ipynb" for name in NOTEBOOKS] + [str(MANIFEST)]:
        assert (released.root / path).read_bytes() == (REPO / path).read_bytes(), path
    zip_bytes = (released.root / HANDOUT).read_bytes()
    assert release(released.root) == []  # a second run changes nothing, the handout included
    assert (released.root / HANDOUT).read_bytes() == zip_bytes


def test_the_handout_is_one_student_folder(released):
    names = zipfile.ZipFile(released.root / HANDOUT).namelist()
    assert {name.split("/")[0] for name in names} == {"hw4-handout"}
    files = {name.split("/", 1)[1] for name in names}
    assert {"KL_derivation.ipynb", "VAE.ipynb", "README.md", "environment.yml", "pyproject.toml",
            "requirements.txt", "hw4/__init__.py", "hw4/check.py", "hw4/submission.py",
            "hw4/graded_cells.json"} <= files
    assert not [f for f in files if "autograder" in f or "source" in f or "result" in f or f.endswith(".pyc")]


def test_the_handout_holds_no_solution_hidden_test_or_grader_code(released):
    archive = zipfile.ZipFile(released.root / HANDOUT)
    texts = {name: archive.read(name).decode() for name in archive.namelist()}
    private = set().union(*(_private_lines(name) for name in NOTEBOOKS))
    for name, text in texts.items():
        lines = {line.strip() for line in text.splitlines()}
        assert not private & lines, (name, private & lines)
        assert not any(marker in text for marker in MARKERS), name
        assert "import autograder" not in text and "from autograder" not in text, name
    for name in NOTEBOOKS:
        assert "probe" not in texts[f"hw4-handout/{name}.ipynb"]
    requirements = texts["hw4-handout/requirements.txt"].lower()
    assert "nbgrader" not in requirements and "dask" not in requirements


def test_the_manifest_records_every_released_cell_in_order(released):
    """The reader checks submissions against it and puts stripped notebooks back together from it (hw4/graded.py)."""
    manifest = json.loads((released.root / MANIFEST).read_text())
    for name in NOTEBOOKS:
        cells = nbformat.read(released.root / f"{name}.ipynb", as_version=4).cells
        assert [entry["id"] for entry in manifest[name]] == [c.id for c in cells]
        assert all(entry["sha256"] == hashlib.sha256(c.source.encode()).hexdigest()
                   for entry, c in zip(manifest[name], cells))
        graded = [c for c in cells if utils.is_grade(c) or utils.is_solution(c) or utils.is_locked(c)]
        assert [entry["metadata"] for entry in manifest[name] if "role" in entry] == [c.metadata for c in graded]
        answers = [entry for entry in manifest[name] if entry.get("role") == "answer"]
        assert answers and all(entry["defines"] == [entry["grade_id"]] for entry in answers)


def test_every_graded_name_has_a_stub_and_its_own_cell():
    for name in NOTEBOOKS:
        for cell in nbformat.read(REPO / f"{name}.ipynb", as_version=4).cells:
            if utils.is_solution(cell) and cell.cell_type == "code":
                grade_id = cell.metadata.nbgrader["grade_id"]
                assert cell.source.split("(")[0].split(":")[0] in (f"def {grade_id}", f"class {grade_id}")
                assert "raise NotImplementedError()" in cell.source


def test_the_source_notebooks_the_manifest_and_the_checks_agree():
    """Adding a notebook or a graded test is the recipe of docs/developers.md: this names the step missed."""
    from autograder.checks import CHECKS

    assert sorted(path.stem for path in SOURCE.glob("*.ipynb")) == sorted(NOTEBOOKS), \
        "every source notebook is listed in NOTEBOOKS (student/hw4/course.py), and only those"
    for name in NOTEBOOKS:
        tests = {cell.metadata.nbgrader["grade_id"] for cell in nbformat.read(SOURCE / f"{name}.ipynb", 4).cells
                 if role(cell) == "test"}
        checks = {test_id for test_id, check in CHECKS.items() if check.notebook == name}
        assert tests == checks, f"{name}: test cells without a check {sorted(tests - checks)}, " \
                                f"checks without a test cell {sorted(checks - tests)} (autograder/checks/)"
    assert {check.notebook for check in CHECKS.values()} <= set(NOTEBOOKS)
