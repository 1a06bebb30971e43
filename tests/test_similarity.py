"""`hw4 similarity` on synthetic classes built from the catalogs of correct answers. No kernel runs."""
import ast
import csv
import os
import re
import subprocess
import sys

import nbformat
import pytest

import catalog_kl
from autograder.course import NOTEBOOKS
from autograder.samples import reference_answers, student_notebook, write_submission
from autograder.similarity import similarity_report
from catalogs import CATALOGS

ALIASES = ("acc", "tmp", "part", "val", "piece", "thing", "item", "res", "buf", "aux", "cur", "foo", "bar", "baz")


def variant(index):
    """Notebook → answers: the ``index``-th correct formulation of every graded name (the catalogs have 3+)."""
    return {notebook: {name: list(codes.values())[index].strip() for name, codes in catalog.RIGHT.items()}
            for notebook, catalog in CATALOGS.items()}


def _names(node, context):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, context)}


def _independent(first, second):
    """Two assignments that can run in either order: neither writes a name the other reads or writes."""
    assignments = (ast.Assign, ast.AugAssign)
    if not (isinstance(first, assignments) and isinstance(second, assignments)):
        return False
    writes1, writes2 = _names(first, ast.Store), _names(second, ast.Store)
    return not (writes1 & (writes2 | _names(second, ast.Load)) or writes2 & _names(first, ast.Load))


def _reorder(body):
    """Swap each run of two independent assignments, in this block and the blocks inside it."""
    i = 0
    while i + 1 < len(body):
        if _independent(body[i], body[i + 1]):
            body[i], body[i + 1] = body[i + 1], body[i]
            i += 1
        i += 1
    for statement in body:
        for block in (getattr(statement, "body", None), getattr(statement, "orelse", None)):
            if isinstance(block, list):
                _reorder(block)


class _Rename(ast.NodeTransformer):
    def __init__(self, names):
        self.names = names

    def visit_Name(self, node):
        node.id = self.names.get(node.id, node.id)
        return node


def disguise(code):
    """What a student hiding a copy does: rename the local variables, swap independent lines, write their
    own comments and change the spacing. The graded names and their parameters stay: the grader needs them."""
    tree = ast.parse(code)
    local = sorted(_names(tree, ast.Store))
    aliases = {name: f"{ALIASES[i % len(ALIASES)]}{i // len(ALIASES) or ''}" for i, name in enumerate(local)}
    tree = _Rename(aliases).visit(tree)
    _reorder(tree.body)
    lines = []
    for line in ast.unparse(tree).splitlines():
        if line.lstrip().startswith("return"):
            lines.append(line[: len(line) - len(line.lstrip())] + "# and here is my answer")
        lines += [line.replace(" = ", "  =  ").replace(", ", " , "), ""]
    return "\n".join(lines)


def _disguised(answers):
    return {notebook: {name: disguise(code) for name, code in cells.items()} for notebook, cells in answers.items()}


@pytest.fixture(scope="module")
def class_with_a_copy(tmp_path_factory):
    """Three students with different formulations of everything, the reference solution, and a disguised
    copy of the second student."""
    root = tmp_path_factory.mktemp("copy") / "submissions"
    for index in range(3):
        write_submission(root / f"own{index}", variant(index))
    write_submission(root / "reference", {name: reference_answers(name) for name in NOTEBOOKS})
    write_submission(root / "copier", _disguised(variant(1)))
    return root, similarity_report(root, root.parent / "out")


def _pair(report, a, b):
    return next(p for p in report["pairs"] if {p["student_a"], p["student_b"]} == {a, b})


def test_the_disguise_leaves_no_assignment_of_the_original():
    """Lines with no name or spacing to change, such as `optimizer.step()`, stay as they were."""
    for cells in variant(1).values():
        for code in cells.values():
            assignments = {line.strip() for line in code.splitlines() if " = " in line}
            assert assignments and not assignments & {line.strip() for line in disguise(code).splitlines()}


def test_a_disguised_copy_is_the_top_pair_by_a_clear_margin(class_with_a_copy):
    _, report = class_with_a_copy
    top, second = report["pairs"][:2]
    assert {top["student_a"], top["student_b"]} == {"copier", "own1"}
    assert top["score"] > 0.7
    assert top["score"] - second["score"] > 0.3
    assert all(score > 0.7 for score in top["notebooks"].values())


def test_independent_correct_answers_score_low(class_with_a_copy):
    _, report = class_with_a_copy
    others = [p for p in report["pairs"] if {p["student_a"], p["student_b"]} != {"copier", "own1"}]
    assert len(others) == 9
    assert max(p["score"] for p in others) < 0.45


def test_csv_has_one_row_per_pair_sorted_by_score(class_with_a_copy):
    root, report = class_with_a_copy
    with open(root.parent / "out" / "similarity.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student_a", "student_b", "score", *NOTEBOOKS]
    assert len(rows) == 10 == len(report["pairs"])
    scores = [float(row["score"]) for row in rows]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert (rows[0]["student_a"], rows[0]["student_b"]) == ("copier", "own1")


def test_html_shows_the_matching_code_of_the_top_pair_side_by_side(class_with_a_copy):
    root, _ = class_with_a_copy
    page = (root.parent / "out" / "similarity.html").read_text()
    first = page.index("<h2>copier and own1")
    assert "<div class='side'>" in page[first:] and "<span class='match'>" in page[first:]
    assert "val  =  torch.linalg.solve(Sigma2 , Sigma1)" in re.sub("<[^>]+>", "", page)  # the copy, as written
    assert "<script" not in page and "<link" not in page  # opens offline


def test_the_same_class_gives_byte_identical_files_whatever_the_hash_seed(class_with_a_copy, tmp_path):
    """Python salts string hashes per process, and copydetect hashes with them: run the command twice."""
    root, _ = class_with_a_copy
    for seed in ("1", "2"):
        subprocess.run([sys.executable, "-c", "from hw4.cli import main; main()", "similarity", str(root),
                        "--out", str(tmp_path / seed)], check=True, capture_output=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
    for name in ("similarity.csv", "similarity.html"):
        expected = (root.parent / "out" / name).read_bytes()
        assert (tmp_path / "1" / name).read_bytes() == expected == (tmp_path / "2" / name).read_bytes()


def test_a_copy_of_one_notebook_shows_only_in_that_notebooks_score(tmp_path):
    write_submission(tmp_path / "own0", variant(0))
    write_submission(tmp_path / "half", {"KL_derivation": _disguised(variant(0))["KL_derivation"],
                                         "VAE": variant(2)["VAE"]})
    (pair,) = similarity_report(tmp_path, tmp_path / "out")["pairs"]
    assert pair["notebooks"]["KL_derivation"] > 0.7
    assert pair["notebooks"]["VAE"] < 0.45
    assert pair["notebooks"]["VAE"] < pair["score"] < pair["notebooks"]["KL_derivation"]


def _keep_stub(notebook, name, body):
    """The released cell for ``name`` with its `raise NotImplementedError()` replaced by ``body``."""
    cells = student_notebook(notebook, {}).cells
    stub = next(c.source for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == name)
    return stub.replace("raise NotImplementedError()", body)


def test_starter_code_never_counts(tmp_path):
    """Two different answers written under the released signature, docstring and comment: only the
    answers are compared. A notebook with nothing but comments added is not compared at all."""
    bodies = [code.strip().split("\n", 1)[1].strip() for code in catalog_kl.RIGHT["kl_diag_std_normal"].values()]
    for sid, body in (("first", bodies[0]), ("second", bodies[1])):
        answer = _keep_stub("KL_derivation", "kl_diag_std_normal", body)
        write_submission(tmp_path / sid, {"KL_derivation": {"kl_diag_std_normal": answer}})
    comment = _keep_stub("KL_derivation", "kl_mvn", "# I tried but ran out of time\n    raise NotImplementedError()")
    write_submission(tmp_path / "comments", {"KL_derivation": {"kl_mvn": comment}})
    report = similarity_report(tmp_path, tmp_path / "out")
    assert _pair(report, "first", "second")["score"] < 0.2
    assert report["skipped"]["comments"]["KL_derivation"].startswith("no code beyond the starter code")


def test_blank_malformed_and_missing_submissions_are_skipped_with_a_reason(tmp_path):
    write_submission(tmp_path / "own0", variant(0))
    write_submission(tmp_path / "own1", {"KL_derivation": variant(1)["KL_derivation"]})
    write_submission(tmp_path / "blank", {name: {} for name in NOTEBOOKS})
    write_submission(tmp_path / "not-json", {"KL_derivation": variant(2)["KL_derivation"]})
    (tmp_path / "not-json" / "VAE.ipynb").write_text('{"cells": [ this is not JSON')
    stripped = student_notebook("VAE", variant(2)["VAE"])  # metadata dropped, and answers out of place: unrepairable
    for cell in stripped.cells:
        cell.metadata = {}
    encoder, decoder = (next(i for i, c in enumerate(stripped.cells) if c.source.startswith(f"class {name}"))
                        for name in ("Encoder", "Decoder"))
    stripped.cells[encoder], stripped.cells[decoder] = stripped.cells[decoder], stripped.cells[encoder]
    write_submission(tmp_path / "stripped", {})
    (tmp_path / "stripped" / "VAE.ipynb").write_text(nbformat.writes(stripped))
    (tmp_path / "empty-file").mkdir()
    (tmp_path / "empty-file" / "KL_derivation.ipynb").write_bytes(b"")
    (tmp_path / "nothing").mkdir()
    report = similarity_report(tmp_path, tmp_path / "out")
    skipped = report["skipped"]
    assert skipped["blank"] == {name: "no solution cell answered" for name in NOTEBOOKS}
    assert "not valid JSON" in skipped["not-json"]["VAE"]
    assert "grading metadata" in skipped["stripped"]["VAE"]
    assert "empty" in skipped["empty-file"]["KL_derivation"]
    assert all("was not submitted" in reason for reason in skipped["nothing"].values())
    assert "own0" not in skipped and set(skipped["own1"]) == {"VAE"}
    compared = {frozenset((p["student_a"], p["student_b"])): p for p in report["pairs"]}
    assert set(compared) == {frozenset(pair) for pair in (("own0", "own1"), ("own0", "not-json"), ("own1", "not-json"))}
    assert set(compared[frozenset(("own0", "own1"))]["notebooks"]) == {"KL_derivation"}
    page = (tmp_path / "out" / "similarity.html").read_text()
    assert "not-json, VAE: " in page and "nothing, KL_derivation: " in page
