"""A test class of submissions: catalog answers, broken files and awkward layouts, each with its expectation.

Every student gets a folder; ``build`` returns student id → Expect, saying what grading must report.
"""
import codecs
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat

import catalog_kl
import catalog_vae
from autograder.course import NOTEBOOKS
from autograder.samples import reference_answers, student_notebook, write_submission

BLANK = {name: {} for name in NOTEBOOKS}  # every notebook of the course, handed in unanswered


@dataclass
class Expect:
    status: str = "ok"
    lose: str | None = None  # a graded name whose tests must lose points
    full: tuple[str, ...] = ()  # notebooks that must get full marks
    reason: str = ""  # text the student's errors must contain
    zero: bool = False  # every autograded point lost


def _answers(notebook, name, code):
    return {**reference_answers(notebook), name: code.strip()}


def _catalog(notebook, catalog):
    """(student id, answers of ``notebook``, what its tests must show) for each graded function: its first
    wrong catalog entry, the rest of the notebook answered correctly; and one student answering every
    function with its first right entry.

    Every catalog entry meets the checks in test_checks_kl.py and test_checks_vae.py, through the same probe
    calls, without a kernel; this class shows that the verdicts reach the grades through the whole pipeline
    (sandboxed kernel, probe files, grader-side checks, nbgrader's gradebook)."""
    students = [(f"{notebook}-{name}-wrong", _answers(notebook, name, next(iter(implementations.values()))),
                 dict(lose=name)) for name, implementations in catalog.WRONG.items()]
    right = {name: next(iter(implementations.values())).strip() for name, implementations in catalog.RIGHT.items()}
    students.append((f"{notebook}-right", {**reference_answers(notebook), **right}, dict(full=(notebook,))))
    return students


def _blank_except(*names):
    """Every notebook of the course but ``names``, unanswered: what a student whose scenario is about
    ``names`` hands in besides, so that a notebook added to the course is not missing from their row."""
    return {name: {} for name in NOTEBOOKS if name not in names}


def _broken(dest, sid, writer, kl=None, **expect):
    """A student whose VAE.ipynb is made by ``writer(folder)`` and whose KL notebook holds the answers ``kl``
    (the blank release by default)."""
    folder = write_submission(dest / sid, {**_blank_except("VAE"), "KL_derivation": kl or {}})
    writer(folder)
    return {sid: Expect(**expect)}


def _solution_nb(name):
    return student_notebook(name, reference_answers(name))


def _write_nb(nb, path):
    nbformat.write(nb, path)


def _stripped(folder):
    """VAE.ipynb saved by a tool that drops every cell's metadata, its locked 'setup' cell edited so that it
    stops the notebook if the grader ran it; KL_derivation.ipynb with a byte-order mark. Both are repaired,
    and the locked cell is still restored from the release: full marks."""
    nb = _solution_nb("VAE")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup":
            cell.source = "raise RuntimeError('an edited locked cell ran')"
        cell.metadata = {}
    _write_nb(nb, folder / "VAE.ipynb")
    kl = folder / "KL_derivation.ipynb"
    kl.write_bytes(codecs.BOM_UTF8 + kl.read_bytes())


def _duplicate_ids(folder):
    nb = _solution_nb("KL_derivation")
    nb.cells[1].id = nb.cells[0].id
    (folder / "KL_derivation.ipynb").write_text(json.dumps(nb))  # nbformat.write would repair the ids


def _edit_tests(folder):
    """Deletes one test cell and rewrites another to pass trivially: nbgrader restores both."""
    nb = _solution_nb("KL_derivation")
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
             and not c.metadata["nbgrader"].get("solution")]
    tests[0].source = "pass"
    nb.cells.remove(tests[1])
    _write_nb(nb, folder / "KL_derivation.ipynb")


def _renamed(folder):
    _write_nb(_solution_nb("KL_derivation"), folder / "KL_derivation (1).ipynb")
    (folder / "KL_derivation.ipynb").unlink()


def build(dest):
    dest = Path(dest)
    expect = {}
    write_submission(dest / "solution", {name: reference_answers(name) for name in NOTEBOOKS})
    expect["solution"] = Expect(full=NOTEBOOKS)
    write_submission(dest / "blank", BLANK)
    expect["blank"] = Expect(zero=True)
    for sid, answers, tests in _catalog("VAE", catalog_vae):  # the other notebook is absent
        write_submission(dest / sid, {"VAE": answers})
        expect[sid] = Expect(status="missing", **tests)
    # The KL catalog students each hand in a broken VAE.ipynb too: it must not keep their KL answers from
    # being graded, and they spare the class as many runs of a blank KL notebook.
    broken = [(lambda f: (f / "VAE.ipynb").write_bytes(b""), "empty"),
              (lambda f: (f / "VAE.ipynb").write_text("{'cells': ["), "not valid JSON"),
              (lambda f: (f / "VAE.ipynb").write_bytes(b"{\xff\xfe}"), "not UTF-8"),
              (lambda f: (f / "VAE.ipynb").write_bytes(b" " * (21 * 2**20) + b"{}"), "the limit is"),
              (lambda f: (f / "VAE.ipynb").write_text('{"hello": 1}'), "not a Jupyter notebook")]
    students = _catalog("KL_derivation", catalog_kl)
    assert len(students) >= len(broken), "each broken VAE.ipynb needs a KL catalog student to carry it"
    for (sid, answers, tests), (writer, reason) in zip(students, itertools.cycle(broken)):
        expect |= _broken(dest, sid, writer, kl=answers, status="invalid", reason=reason, **tests)
    expect |= _broken(dest, "stripped", _stripped, kl=reference_answers("KL_derivation"),
                      full=("KL_derivation", "VAE"), reason="the grading metadata of")
    expect |= _broken(dest, "nbformat3", lambda f: nbformat.write(nbformat.convert(_solution_nb("VAE"), 3),
                                                                  f / "VAE.ipynb", version=3),
                      full=("VAE",), reason="nbformat 3")
    expect |= _broken(dest, "symlink", lambda f: os.symlink("/etc/passwd", f / "VAE.ipynb"),
                      status="invalid", reason="symbolic link")
    expect |= _broken(dest, "missing-vae", lambda f: None, status="missing", reason="VAE.ipynb was not submitted")
    expect |= _broken(dest, "extra", lambda f: (_write_nb(_solution_nb("VAE"), f / "VAE.ipynb"),
                                                (f / "scratch.ipynb").write_text("{}")),
                      full=("VAE",), reason="ignored extra notebooks: scratch.ipynb")
    write_submission(dest / "duplicate-ids", _blank_except("KL_derivation"))
    _duplicate_ids(dest / "duplicate-ids")
    expect["duplicate-ids"] = Expect(full=("KL_derivation",), reason="new ids")
    write_submission(dest / "edited-tests", _blank_except("KL_derivation"))
    _edit_tests(dest / "edited-tests")
    expect["edited-tests"] = Expect(full=("KL_derivation",), reason="restored")
    write_submission(dest / "renamed", {**BLANK, "KL_derivation": reference_answers("KL_derivation")})
    _renamed(dest / "renamed")
    expect["renamed"] = Expect(full=("KL_derivation",), reason="graded 'KL_derivation (1).ipynb'")
    write_submission(dest / "nested" / "hw4", {name: reference_answers(name) for name in NOTEBOOKS})
    expect["nested"] = Expect(full=NOTEBOOKS)
    (dest / "linked-folder").symlink_to(dest / "solution")
    expect["linked-folder"] = Expect(status="invalid", zero=True, reason="symbolic link")
    (dest / "empty-folder").mkdir()
    expect["empty-folder"] = Expect(status="missing", zero=True, reason="was not submitted")
    return expect
