"""Rubrics of hand-graded answers: the marking in the source notebook, read and checked; kept from students."""
import zipfile

import nbformat
import pytest

from autograder.course import SOURCE, NbgraderError, released_notebooks
from autograder.formgrader import AttachRubrics, Rubric, RubricError, RubricItem, notebook_rubrics, without_rubric
from autograder.release import HANDOUT
from conftest import REPO

SOLUTION = "### BEGIN SOLUTION\nThe answer.\n{rubric}### END SOLUTION"
RUBRIC = """### BEGIN MARK SCHEME
- 2: the first step, with $\\ln 2\\pi$ cancelling
- 1.5: the second step,
  over two lines
Typical deductions:
- −1: a sign slip
### END MARK SCHEME
"""


def answer_cell(source, points=3.5, grade=True, solution=True):
    cell = nbformat.v4.new_markdown_cell(source)
    cell.metadata.nbgrader = {"grade": grade, "solution": solution, "locked": False, "points": points,
                              "grade_id": "answer", "schema_version": 3}
    return cell


def rubric_of(source, **kwargs):
    return notebook_rubrics(nbformat.v4.new_notebook(cells=[answer_cell(source, **kwargs)])).get("answer")


def derivation_rubric():
    return notebook_rubrics(nbformat.read(SOURCE / "KL_derivation.ipynb", as_version=4))["derivation"]


def derivation_cell(nb):
    return next(cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "derivation")


def phrases(rubric):
    """Plain-text pieces of every item and deduction: what a leak of the rubric would show."""
    texts = [item.text for item in rubric.items] + list(rubric.deductions)
    pieces = [text.split("$")[0].split("**")[0].strip() for text in texts]
    return [piece for piece in pieces if len(piece) >= 15]


def test_a_rubric_is_read_into_items_with_points_and_deductions():
    rubric = rubric_of(SOLUTION.format(rubric=RUBRIC))
    assert rubric == Rubric((RubricItem(2, "the first step, with $\\ln 2\\pi$ cancelling"),
                             RubricItem(1.5, "the second step,\nover two lines")), ("−1: a sign slip",))
    assert rubric.points_label == "3.5" and rubric.items[0].points_label == "2"
    assert rubric_of(SOLUTION.format(rubric="")) is None


def test_the_derivation_has_a_rubric_worth_its_points():
    rubric = derivation_rubric()
    assert [item.points for item in rubric.items] == [2, 1, 3, 2, 2] and len(rubric.deductions) == 3


@pytest.mark.parametrize("source, points, message", [
    (RUBRIC + SOLUTION.format(rubric=""), 3.5, "must sit between"),
    (SOLUTION.format(rubric=RUBRIC), 10, "gives 3.5 points in all, but the cell is worth 10"),
    (SOLUTION.format(rubric=RUBRIC.replace("- 2: the", "- the")), 3.5, "starts with its points"),
    (SOLUTION.format(rubric=RUBRIC.replace("Typical deductions:", "Deductions")), 3.5, "neither a list entry"),
    (SOLUTION.format(rubric=RUBRIC + RUBRIC), 7, "one rubric"),
    (SOLUTION.format(rubric=RUBRIC.replace("### END MARK SCHEME\n", "")), 3.5, "one rubric"),
], ids=["outside the solution", "wrong total", "item without points", "stray line", "two rubrics", "no end"])
def test_a_rubric_that_cannot_be_read_or_could_reach_students_is_refused(source, points, message):
    with pytest.raises(RubricError, match=message):
        rubric_of(source, points=points)


def test_only_a_hand_graded_answer_holds_a_rubric():
    with pytest.raises(RubricError, match="not a hand-graded answer cell"):
        rubric_of(SOLUTION.format(rubric=RUBRIC), grade=False)


def test_without_rubric_takes_out_the_block_and_its_markers():
    assert without_rubric(SOLUTION.format(rubric=RUBRIC)) == SOLUTION.format(rubric="")
    derivation = derivation_cell(nbformat.read(SOURCE / "KL_derivation.ipynb", as_version=4))
    assert "MARK SCHEME" in derivation.source and "MARK SCHEME" not in without_rubric(derivation.source)


def test_release_stops_at_a_rubric_outside_the_solution(tmp_path):
    nb = nbformat.read(SOURCE / "KL_derivation.ipynb", as_version=4)
    derivation_cell(nb).source = RUBRIC.replace("1.5", "8") + "### BEGIN SOLUTION\nx\n### END SOLUTION"
    source = tmp_path / "hw4"
    source.mkdir()
    nbformat.write(nb, source / "KL_derivation.ipynb")
    nbformat.write(nbformat.read(SOURCE / "VAE.ipynb", as_version=4), source / "VAE.ipynb")
    with pytest.raises(NbgraderError, match="must sit between"):
        released_notebooks(source)


def assert_no_rubric_in(texts):
    """``texts``: where → text. None holds any piece of the derivation's rubric."""
    for phrase in [*phrases(derivation_rubric()), "MARK SCHEME", "Typical deductions"]:
        leaks = [str(where) for where, text in texts.items() if phrase in text]
        assert not leaks, f"{phrase!r} in {leaks}"


def test_the_rubric_reaches_neither_the_student_notebooks_nor_the_handout(released):
    texts = {path: path.read_text() for path in (REPO / "KL_derivation.ipynb", REPO / "VAE.ipynb")}
    with zipfile.ZipFile(released.root / HANDOUT) as handout:
        texts |= {f"handout {name}": handout.read(name).decode(errors="replace") for name in handout.namelist()}
    assert_no_rubric_in(texts)


def test_the_rubric_reaches_no_feedback_page(small_graded):
    pages = sorted((small_graded.out / "feedback").rglob("*.html"))
    assert len(pages) >= 3  # right, blank, wrong (broken has no notebook to give feedback on)
    assert_no_rubric_in({page: page.read_text() for page in pages})


def test_formgraders_page_gets_the_rubrics_of_the_course_source_notebook(tmp_path):
    """AttachRubrics finds the source notebook above the autograded one formgrader renders, as nbgrader lays
    out a course; a broken rubric there becomes a message on the page, not a failed page."""
    nb = nbformat.read(SOURCE / "KL_derivation.ipynb", as_version=4)
    (tmp_path / "source" / "hw4").mkdir(parents=True)
    resources = {"metadata": {"path": str(tmp_path / "autograded" / "ada" / "hw4")},
                 "assignment_id": "hw4", "notebook_id": "KL_derivation"}
    assert AttachRubrics().preprocess(nb, dict(resources))[1]["rubrics"] == {}  # no source notebook: no rubric
    nbformat.write(nb, tmp_path / "source" / "hw4" / "KL_derivation.ipynb")
    assert AttachRubrics().preprocess(nb, dict(resources))[1]["rubrics"] == {"derivation": derivation_rubric()}

    cell = derivation_cell(nb)
    cell.source = cell.source.replace("- 2: both", "- 3: both")
    nbformat.write(nb, tmp_path / "source" / "hw4" / "KL_derivation.ipynb")
    _, attached = AttachRubrics().preprocess(nb, dict(resources))
    assert attached["rubrics"] == {} and "gives 11 points in all, but the cell is worth 10" in attached["rubric_error"]
