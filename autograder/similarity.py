"""`hw4 similarity`: how much of the code in their answer cells each pair of students shares.

A student's answer to a notebook is the code of its graded solution cells that differ from the released
ones. copydetect (winnowing over normalised tokens, MOSS's method: names, strings, comments and spacing
do not count) fingerprints it, minus every fingerprint of the released notebooks' code cells (stubs,
imports, visible tests). A pair's score is the share of both answers' fingerprinted tokens that
match the other's: per notebook, and pooled over the notebooks both students answered.
"""
import csv
import io
from itertools import combinations
from pathlib import Path

import nbformat
import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import highlight_overlap
from markupsafe import Markup

from .course import NOTEBOOKS, student_notebooks
from .intake import read_class
from .pages import render
from .submissions import read_upload

NOISE = 25  # the shortest run of normalised characters that counts as shared code (copydetect's default)
TOP_PAIRS = 10  # pairs shown side by side in the HTML report


def similarity_report(submissions, out, fmt=None):
    """Compare every pair of students in ``submissions`` (a folder or zip in any layout intake reads, ``fmt``
    overriding the recognised one); write similarity.csv and similarity.html to ``out``.

    The released notebooks' code (generated from the installed source notebooks) is boilerplate.
    Returns {"pairs": [...], "skipped": {student: {notebook: reason}}}, pairs highest score first."""
    boilerplate = _boilerplate()
    answers, skipped = {}, {}
    for sid, upload in read_class(submissions, fmt).uploads.items():
        answers[sid], reasons = _student_answers(read_upload(upload), boilerplate)
        if reasons:
            skipped[sid] = reasons
    pairs = [pair for a, b in combinations(sorted(answers), 2) if (pair := _compare(a, b, answers))]
    pairs.sort(key=lambda p: (-p["score"], p["student_a"], p["student_b"]))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "similarity.csv", pairs)
    (out / "similarity.html").write_text(_html(pairs, answers, skipped), encoding="utf-8")
    return {"pairs": pairs, "skipped": skipped}


def _solution_cells(notebook):
    """(grade id, source) of every graded code cell that students answer in, in notebook order."""
    cells = []
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if cell.cell_type == "code" and isinstance(meta, dict) and meta.get("solution"):
            cells.append((str(meta.get("grade_id")), cell.source))
    return cells


def _fingerprint(code, boilerplate=None):
    # A window of 1 keeps every k-gram: winnowing's choice among them depends on Python's per-process
    # string hash, which would make two runs on the same class disagree.
    return CodeFingerprint("answer.py", NOISE, 1, boilerplate, language="python", fp=io.StringIO(code))


def _boilerplate():
    """The released notebooks' stubs per grade id, and the fingerprints of all their code."""
    stubs, code = {}, []
    for name in NOTEBOOKS:
        notebook = nbformat.reads(student_notebooks()[name].decode(), as_version=4)
        stubs[name] = dict(_solution_cells(notebook))
        code += [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    hashes = _fingerprint("\n\n".join(code)).hashes
    return {"stubs": stubs, "hashes": np.array(sorted(hashes))}


def _student_answers(notebooks, boilerplate):
    """Notebook → {grade id: fingerprinted answer} for what can be compared; notebook → reason for the rest."""
    answers, reasons = {}, {}
    for name, notebook in notebooks.items():
        if notebook.status != "ok":
            reasons[name] = notebook.reason
            continue
        stubs = boilerplate["stubs"][name]
        cells = _solution_cells(nbformat.reads(notebook.text, as_version=4))
        written = {grade_id: source for grade_id, source in cells
                   if source.strip() != stubs.get(grade_id, "").strip()}
        prints = {grade_id: _fingerprint(source, boilerplate["hashes"]) for grade_id, source in written.items()}
        prints = {grade_id: answer for grade_id, answer in prints.items() if answer.token_coverage}
        if prints:
            answers[name] = prints
        else:
            reasons[name] = "no solution cell answered"
            if written:
                reasons[name] = "no code beyond the starter code, or too little to compare"
    return answers, reasons


def _compare(a, b, answers):
    """The pair's row, or None when the two students answered no notebook in common."""
    common = [name for name in NOTEBOOKS if name in answers[a] and name in answers[b]]
    if not common:
        return None
    row = {"student_a": a, "student_b": b, "notebooks": {}, "matches": {}}
    shared = total = 0
    for name in common:
        matched, tokens, row["matches"][name] = _compare_notebook(answers[a][name], answers[b][name])
        row["notebooks"][name] = matched / tokens
        shared, total = shared + matched, total + tokens
    row["score"] = shared / total
    return row


def _compare_notebook(first, second):
    """Matched tokens, all tokens, and grade id → matching slices, comparing each cell with its namesake.

    Cell by cell, so that code running from the end of one answer into the next cannot match."""
    matched = tokens = 0
    slices = {}
    for grade_id in [*first, *(g for g in second if g not in first)]:  # a fixed order: float sums must agree
        tokens += sum(answer[grade_id].token_coverage for answer in (first, second) if grade_id in answer)
        if grade_id in first and grade_id in second:
            _, (share1, share2), slices[grade_id] = compare_files(first[grade_id], second[grade_id])
            matched += share1 * first[grade_id].token_coverage + share2 * second[grade_id].token_coverage
    return matched, tokens, slices


def _write_csv(path, pairs):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["student_a", "student_b", "score", *NOTEBOOKS])
        for pair in pairs:
            scores = [_fmt(pair["notebooks"].get(name)) for name in NOTEBOOKS]
            writer.writerow([pair["student_a"], pair["student_b"], _fmt(pair["score"]), *scores])


def _fmt(score):
    return "" if score is None else f"{score:.4f}"


def _html(pairs, answers, skipped):
    shown = [dict(pair, columns=_columns(pair, answers)) for pair in pairs if pair["score"] > 0][:TOP_PAIRS]
    return render("similarity.html.j2", notebooks=NOTEBOOKS, table=pairs[:TOP_PAIRS], shown=shown, fmt=_fmt,
                  skipped=[(sid, name, reason) for sid, reasons in sorted(skipped.items())
                           for name, reason in reasons.items()])


def _columns(pair, answers):
    """Notebook → grade id → the two students' answers, each with the code matching the other's highlighted."""
    a, b = pair["student_a"], pair["student_b"]
    return {name: {grade_id: [(a, _highlighted(answers[a][name][grade_id].raw_code, slices_a)),
                              (b, _highlighted(answers[b][name][grade_id].raw_code, slices_b))]
                   for grade_id, (slices_a, slices_b) in matches.items()}
            for name, matches in pair["matches"].items()}


def _highlighted(code, slices):
    """``code``, escaped, with the ``slices`` that match the other student's marked."""
    if not slices.size:
        return Markup.escape(code)
    marked, _ = highlight_overlap(code, slices.astype(int), "<span class='match'>", "</span>", escape_html=True)
    return Markup(marked)
