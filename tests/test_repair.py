"""What editors do to a notebook file while the work stays whole: the reader repairs it, or says why not.

Each submission is the released notebook with the reference answers, written with nbformat and then damaged
as a tool would damage it; the reader (hw4.submission, shared by the grader and `hw4 check`) must restore it
to the notebook it would read from the intact file, or call it invalid with a reason. No kernel runs here;
the class graded in test_grading.py (tests/classroom.py, student 'stripped') grades one end to end.
"""
import codecs
import uuid

import nbformat
import pytest
from hw4.graded import role
from hw4.submission import read_notebook
from nbgrader import utils

from autograder.samples import reference_answers, student_notebook


def _solution(name):
    return student_notebook(name, reference_answers(name))


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _index(cells, grade_id):
    return next(i for i, cell in enumerate(cells) if _grade_id(cell) == grade_id)


def _strip(nb, keep=()):
    """Drop every cell's metadata, as some editors do on save, except the cells whose grade id is in ``keep``."""
    for cell in nb.cells:
        if _grade_id(cell) not in keep:
            cell.metadata = {}
    return nb


def _read(tmp_path, name, nb):
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return read_notebook(name, path)


def _graded(text):
    """Grade id → (cell id, role, metadata, source) of each graded cell of the notebook ``text``."""
    nb = nbformat.reads(text, as_version=4)
    return {_grade_id(cell): (cell.get("id"), role(cell), cell.metadata, cell.source)
            for cell in nb.cells if role(cell)}


@pytest.mark.parametrize("name, how", [
    ("KL_derivation", "4 answer cells by the names they define and 1 by its place ('derivation')"),
    ("VAE", "7 answer cells by the names they define"),
])
def test_a_stripped_notebook_is_restored_to_the_intact_one(tmp_path, name, how):
    intact = _read(tmp_path, name, _solution(name))
    stripped = _read(tmp_path, name, _strip(_solution(name)))
    assert stripped.status == "ok", stripped.reason
    assert _graded(stripped.text) == _graded(intact.text)
    assert len(stripped.repairs) == 1 and "a tool dropped it when saving" in stripped.notes[0], stripped.notes
    assert stripped.notes[0].endswith(how), stripped.notes


def test_new_cell_ids_and_kept_metadata_are_restored_too(tmp_path):
    """Some tools also give every cell a new id; others drop only some cells' metadata."""
    nb = _strip(_solution("VAE"), keep=("Encoder", "test_VAE_forward", "md_iw"))
    for cell in nb.cells:
        if not cell.metadata:
            cell.id = uuid.uuid4().hex[:8]
    repaired = _read(tmp_path, "VAE", nb)
    assert repaired.status == "ok", repaired.reason
    assert _graded(repaired.text) == _graded(_read(tmp_path, "VAE", _solution("VAE")).text)


def test_a_stripped_markdown_answer_is_placed_by_its_place(tmp_path):
    nb = _solution("KL_derivation")
    nb.cells[_index(nb.cells, "derivation")].source = "KL = 1/2 (tr(S2^-1 S1) + ...)"
    repaired = _read(tmp_path, "KL_derivation", _strip(nb))
    assert repaired.status == "ok", repaired.reason
    assert "1 by its place ('derivation')" in repaired.notes[0], repaired.notes
    assert _graded(repaired.text)["derivation"][3] == "KL = 1/2 (tr(S2^-1 S1) + ...)"


def test_an_edited_locked_cell_is_placed_and_still_enforced(tmp_path):
    """Placed by its place, it gets its released metadata back: nbgrader's checksum shows the edit, and the
    grader restores the original as for an intact notebook."""
    nb = _solution("VAE")
    setup = _index(nb.cells, "setup")
    nb.cells[setup].source = "raise RuntimeError('the locked cell was edited')"
    nb.cells[_index(nb.cells, "test_Decoder")].source = "pass"
    repaired = _read(tmp_path, "VAE", _strip(nb))
    assert repaired.status == "ok", repaired.reason
    assert "2 by their place ('setup', 'test_Decoder')" in repaired.notes[0], repaired.notes
    assert "cell 'setup' was edited; the grader restored and ran the original" in repaired.notes
    assert "test cell 'test_Decoder' was edited; the grader restored and ran the original" in repaired.notes
    setup = nbformat.reads(repaired.text, as_version=4).cells[setup]
    assert utils.is_locked(setup) and utils.compute_checksum(setup) != setup.metadata.nbgrader["checksum"]


def test_scratch_cells_beside_named_answers_are_left_alone(tmp_path):
    nb = _solution("KL_derivation")
    at = _index(nb.cells, "kl_mvn")
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell("kl_mvn(torch.zeros(2), torch.eye(2), torch.ones(2), "
                                                      "torch.eye(2))"))
    nb.cells.insert(at, nbformat.v4.new_markdown_cell("My notes on the closed form."))
    repaired = _read(tmp_path, "KL_derivation", _strip(nb))
    assert repaired.status == "ok", repaired.reason
    assert _graded(repaired.text) == _graded(_read(tmp_path, "KL_derivation", _solution("KL_derivation")).text)


def test_a_deleted_answer_in_a_stripped_notebook_is_noted_as_in_an_intact_one(tmp_path):
    nb = _solution("KL_derivation")
    nb.cells.pop(_index(nb.cells, "kl_mc"))
    repaired = _read(tmp_path, "KL_derivation", _strip(nb))
    assert repaired.status == "ok", repaired.reason
    assert "the answer cell 'kl_mc' was deleted; the tests of it fail" in repaired.notes


def _swap(cells, a, b):
    i, j = _index(cells, a), _index(cells, b)
    cells[i], cells[j] = cells[j], cells[i]


def _replace(cells, grade_id, source):
    cells[_index(cells, grade_id)].source = source


def _insert_before(cells, grade_id, cell):
    cells.insert(_index(cells, grade_id), cell)


@pytest.mark.parametrize("name, edit, reason", [
    ("VAE", lambda cells: _swap(cells, "Encoder", "Decoder"),
     "the cell defining `Encoder` is not in its place (between 'md_networks' and 'test_Encoder')"),
    ("KL_derivation", lambda cells: _replace(cells, "kl_mc", "x = 1"),
     "no cell between 'test_kl_mvn_high_dim' and 'test_kl_mc_estimate' starts with `def kl_mc`"),
    ("KL_derivation", lambda cells: _insert_before(cells, "kl_mvn", nbformat.v4.new_code_cell("def kl_mvn(): pass")),
     "2 cells between 'test_mvn_log_prob_batched' and 'test_kl_mvn_exact' define `kl_mvn`; keep one"),
    ("KL_derivation", lambda cells: _replace(cells, "kl_mc", "def kl_mc(): pass\n\ndef kl_mvn(): pass"),
     "one cell defines both `kl_mc` and `kl_mvn`"),
    ("KL_derivation", lambda cells: (_replace(cells, "derivation", "my derivation"),
                                     _insert_before(cells, "derivation", nbformat.v4.new_markdown_cell("scratch"))),
     "there are 2 Markdown cells where the released notebook has 1, so the cell 'derivation' cannot be told apart"),
    ("VAE", lambda cells: (_replace(cells, "setup", "import torch"),
                           _insert_before(cells, "setup", nbformat.v4.new_code_cell("print(1)"))),
     "there are 2 code cells where the released notebook has 1, so the cell 'setup' cannot be told apart"),
    ("VAE", lambda cells: _swap(cells, "test_VAE_forward", "md_loss"),
     "the cell 'test_VAE_sample' was moved from its place in the released notebook (between 'test_VAE_forward' "
     "and 'md_loss')"),
    ("VAE", lambda cells: cells.__setitem__(slice(None), [nbformat.v4.new_code_cell("print('another notebook')")]),
     "none of its cells matches the released notebook"),
])
def test_what_cannot_be_placed_with_certainty_is_invalid_with_the_reason(tmp_path, name, edit, reason):
    nb = _solution(name)
    edit(nb.cells)
    read = _read(tmp_path, name, _strip(nb))
    assert read.status == "invalid" and reason in read.reason, read.reason
    assert "a tool dropped it when saving" in read.reason and "fresh copy of the released notebook" in read.reason


def test_an_intact_notebook_keeps_its_own_cells_where_a_deleted_test_was(tmp_path):
    """No graded cell lost its metadata: a student's cell in the place of a deleted test cell stays theirs (it
    is not taken for the test cell, which the grader would then overwrite); the test is restored as usual."""
    nb = _solution("KL_derivation")
    at = _index(nb.cells, "test_kl_mvn_exact")
    nb.cells[at] = nbformat.v4.new_code_cell("def helper():\n    return 1")
    read = _read(tmp_path, "KL_derivation", nb)
    assert read.status == "ok" and not read.repairs, read.notes
    assert "test cell 'test_kl_mvn_exact' was deleted; the grader restored and ran it" in read.notes
    assert nbformat.reads(read.text, as_version=4).cells[at].metadata == {}


# ---------------------------------------------------------------- encodings

def _encoded(tmp_path, encode):
    path = tmp_path / "KL_derivation.ipynb"
    path.write_bytes(encode(nbformat.writes(_solution("KL_derivation"))))
    return read_notebook("KL_derivation", path)


@pytest.mark.parametrize("encode, note", [
    (lambda text: codecs.BOM_UTF8 + text.encode(), "starts with a byte-order mark (BOM)"),
    (lambda text: text.replace("\n", "\r\n").encode("utf-16"), "was saved as UTF-16 text"),
    (lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"), "was saved as UTF-16 text"),
])
def test_a_byte_order_mark_or_utf16_is_read_and_noted(tmp_path, encode, note):
    intact = _read(tmp_path, "KL_derivation", _solution("KL_derivation"))
    read = _encoded(tmp_path, encode)
    assert read.status == "ok" and read.text == intact.text, read.reason
    assert len(read.repairs) == 1 and note in read.notes[0], read.notes


def test_damaged_utf16_is_invalid_with_the_reason(tmp_path):
    read = _encoded(tmp_path, lambda text: text.encode("utf-16")[:-1])
    assert read.status == "invalid" and "UTF-16 text" in read.reason and "damaged" in read.reason, read.reason


def test_invalid_utf8_after_a_byte_order_mark_is_still_invalid(tmp_path):
    read = _encoded(tmp_path, lambda text: codecs.BOM_UTF8 + b"\xff" + text.encode())
    assert read.status == "invalid" and "not UTF-8" in read.reason and not read.repairs, read.reason


def test_a_stripped_and_a_bom_notebook_are_graded_like_intact_ones(graded):
    """End to end (tests/classroom.py): full marks, the edited locked cell restored, and the notes on the row."""
    result = graded.results["stripped"]
    assert result.status == "ok" and result.score == result.max_score > 0, result.errors
    errors = "\n".join(result.errors)
    assert "KL_derivation: KL_derivation.ipynb starts with a byte-order mark (BOM)" in errors
    assert "VAE: the grading metadata of" in errors and "by its place ('setup')" in errors
    assert "VAE: cell 'setup' was edited; the grader restored and ran the original" in errors
