"""The student notebooks: generated from the source, reproducible, with nothing of the solutions."""
import nbformat
from nbgrader import utils

from autograder.course import NOTEBOOKS, SOURCE
from autograder.release import REPO, release

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


def test_release_reproduces_the_committed_notebooks_byte_for_byte(tmp_path):
    assert sorted(p.name for p in release(tmp_path)) == [f"{name}.ipynb" for name in sorted(NOTEBOOKS)]
    for name in NOTEBOOKS:
        assert (tmp_path / f"{name}.ipynb").read_bytes() == (REPO / f"{name}.ipynb").read_bytes()
    assert release(tmp_path) == []  # a second run changes nothing


def test_student_notebooks_hold_no_solutions_or_hidden_tests():
    for name in NOTEBOOKS:
        text = (REPO / f"{name}.ipynb").read_text()
        assert not any(marker in text for marker in MARKERS)
        assert "probe" not in text
        student_lines = {line.strip() for cell in nbformat.read(REPO / f"{name}.ipynb", as_version=4).cells
                         for line in cell.source.splitlines()}
        leaked = _private_lines(name) & student_lines
        assert not leaked, leaked


def test_every_graded_name_has_a_stub_and_its_own_cell():
    for name in NOTEBOOKS:
        for cell in nbformat.read(REPO / f"{name}.ipynb", as_version=4).cells:
            if utils.is_solution(cell) and cell.cell_type == "code":
                grade_id = cell.metadata.nbgrader["grade_id"]
                assert cell.source.split("(")[0].split(":")[0] in (f"def {grade_id}", f"class {grade_id}")
                assert "raise NotImplementedError()" in cell.source
