"""How often the reference solution fails a hidden test: the false failures of the statistical checks.

Each run draws fresh cases for every check of every notebook (``draw_cases``, as grading does), feeds them
to the reference functions (exec'd from the source notebooks' solution cells) through each hidden test's own
``hw4.probe.run`` call, and verifies the recorded outputs with ``Check.verify``: the grading path without
nbgrader, the kernel or the sandbox. The derived bound is below 1e-6 per check, so the expected count over
200 runs is far below one; any failure is printed in full.

    .venv/bin/python benchmarks/false_failures.py [--runs 200] [--notebook VAE]
"""
import argparse
import contextlib
import io
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from nbgrader import utils

from autograder.checks import CHECKS
from autograder.course import NOTEBOOKS, SOURCE
from autograder.worker.execute import draw_cases
from hw4 import course, probe

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _cells(notebook):
    return nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4).cells


def _reference_namespace(cells):
    """The notebook's set-up cell (its first code cell: the imports, the device) and every solution cell,
    run in a fresh namespace."""
    code = [cell for cell in cells if cell.cell_type == "code"]
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()):  # the VAE set-up prints its device
        for cell in code[:1] + [cell for cell in code[1:] if utils.is_solution(cell)]:
            exec(cell.source, namespace)
    return namespace


def _hidden_tests(cells):
    """Test id → the code of its hidden region (the probe call)."""
    return {cell.metadata.nbgrader["grade_id"]: HIDDEN.search(cell.source).group(1)
            for cell in cells if utils.is_grade(cell) and not utils.is_solution(cell) and cell.cell_type == "code"}


def grade_once(notebook, cells, tests, seed, probe_dir):
    """Test id → failure messages of the reference solution on the cases drawn from ``seed``."""
    cases = draw_cases(notebook, seed)
    for test_id, test_cases in cases.items():
        probe.write(probe.input_path(probe_dir, test_id), test_cases)
    namespace = _reference_namespace(cells)
    failures = {}
    for test_id, hidden in tests.items():
        exec(hidden, namespace)  # probe.run reads the inputs, calls the reference, writes the outputs
        outputs = probe.read(probe.output_path(probe_dir, test_id))
        failures[test_id] = CHECKS[test_id].verify(cases[test_id], outputs)
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--notebook", choices=NOTEBOOKS, action="append", help="only this notebook (repeatable)")
    args = parser.parse_args()
    notebooks = args.notebook or NOTEBOOKS
    torch.set_num_threads(1)  # as a grading worker runs
    started, failed = time.perf_counter(), {}
    with tempfile.TemporaryDirectory() as probe_dir:
        os.environ[course.PROBE_DIR] = probe_dir
        for notebook in notebooks:
            cells = _cells(notebook)
            tests = _hidden_tests(cells)
            for _ in range(args.runs):
                seed = secrets.randbits(62)
                for test_id, messages in grade_once(notebook, cells, tests, seed, Path(probe_dir)).items():
                    if messages:
                        failed.setdefault(test_id, []).append(seed)
                        print(f"FALSE FAILURE {test_id} (seed {seed}): {messages}")
    checks = sum(check.notebook in notebooks for check in CHECKS.values())
    total = sum(len(seeds) for seeds in failed.values())
    print(f"{args.runs} runs x {checks} checks: {total} false failures in {time.perf_counter() - started:.0f} s")
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main())
