"""The VAE checks tell right from wrong: every correct variant passes, every known mistake fails.

Each implementation is run exactly as in grading: the check draws cases, hw4.probe.write stores them, the
hidden part of the source notebook's test cell runs with $HW4_PROBE_DIR set, and check.verify judges the
recorded outputs.
"""
import re
import runpy
from pathlib import Path

import nbformat
import pytest
import torch

from autograder.checks import CHECKS
from hw4 import probe

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "autograder" / "source" / "hw4" / "VAE.ipynb"
CATALOG = runpy.run_path(str(HERE / "catalog_vae.py"))  # by path: tests/ need not be a package
RIGHT, WRONG = CATALOG["RIGHT"], CATALOG["WRONG"]
HIDDEN = "### BEGIN HIDDEN TESTS"
GRADED = ("reparameterize", "Encoder", "Decoder", "VAE", "vae_loss", "train_epoch", "evaluate")


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def _notebook():
    cells = nbformat.read(SOURCE, as_version=4).cells
    setup = next(cell.source for cell in cells if _nbgrader(cell).get("grade_id") == "setup")
    solutions, tests, current = {}, {}, None
    for cell in cells:
        meta = _nbgrader(cell)
        if meta.get("solution"):
            current = meta["grade_id"]
            solutions[current] = cell.source
        elif meta.get("grade"):
            tests.setdefault(current, {})[meta["grade_id"]] = cell.source.split(HIDDEN, 1)[1]
    return setup, solutions, tests


SETUP, SOLUTIONS, TESTS = _notebook()


def _namespace(replacement=""):
    """The notebook's namespace after its setup and solution cells, then ``replacement``.

    Built afresh each time: the hidden tests swap globals such as ``reparameterize``, and the solution's
    classes must see those swaps, so they cannot share a copied dict.
    """
    namespace = {}
    exec(SETUP, namespace)
    for source in SOLUTIONS.values():
        exec(source, namespace)
    exec(replacement, namespace)
    return namespace


def _failures(namespace, test_id, tmp_path, monkeypatch):
    """Grade the implementation in ``namespace`` on one test, the way the grader does."""
    check = CHECKS[test_id]
    cases = check.make_cases(torch.Generator().manual_seed(2024))
    probe.write(probe.input_path(tmp_path, test_id), cases)
    monkeypatch.setenv(probe.PROBE_DIR, str(tmp_path))
    torch.manual_seed(0)
    exec(TESTS_BY_ID[test_id], namespace)
    return check.verify(cases, probe.read(probe.output_path(tmp_path, test_id)))


TESTS_BY_ID = {test_id: hidden for tests in TESTS.values() for test_id, hidden in tests.items()}


def test_every_graded_name_has_its_solution_cell_and_tests():
    assert tuple(SOLUTIONS) == GRADED
    assert set(TESTS) == set(GRADED)
    for name, tests in TESTS.items():
        assert SOLUTIONS[name].startswith(("def " + name + "(", "class " + name + "("))
        assert all(test_id.startswith("test_" + name) for test_id in tests)
    assert set(TESTS_BY_ID) == {check.test_id for check in CHECKS.values() if check.notebook == "VAE"}


def test_catalog_covers_every_graded_name():
    for name in GRADED:
        assert len(WRONG[name]) >= 4 and len(RIGHT[name]) >= 3, name


@pytest.mark.parametrize("test_id", sorted(TESTS_BY_ID))
def test_the_solution_passes(test_id, tmp_path, monkeypatch):
    assert _failures(_namespace(), test_id, tmp_path, monkeypatch) == []


@pytest.mark.parametrize(("name", "label"), [(name, label) for name in RIGHT for label in RIGHT[name]])
def test_right_variant_passes_every_check(name, label, tmp_path, monkeypatch):
    namespace = _namespace(RIGHT[name][label])
    for test_id in TESTS[name]:
        assert _failures(namespace, test_id, tmp_path, monkeypatch) == [], (name, label, test_id)


@pytest.mark.parametrize(("name", "label"), [(name, label) for name in WRONG for label in WRONG[name]])
def test_wrong_variant_fails_a_check(name, label, tmp_path, monkeypatch):
    namespace = _namespace(WRONG[name][label])
    messages = [m for test_id in TESTS[name] for m in _failures(namespace, test_id, tmp_path, monkeypatch)]
    assert messages, f"{name}: '{label}' passed every check"
    assert all(isinstance(m, str) and 0 < len(m) < 400 for m in messages)


@pytest.mark.parametrize("name", GRADED)
def test_the_student_stub_fails_with_its_error(name, tmp_path, monkeypatch):
    stub = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "raise NotImplementedError()", SOLUTIONS[name], flags=re.S)
    namespace = _namespace(stub)
    for test_id in TESTS[name]:
        messages = _failures(namespace, test_id, tmp_path, monkeypatch)
        assert messages and all("NotImplementedError" in m for m in messages), (test_id, messages)
