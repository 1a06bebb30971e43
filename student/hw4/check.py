"""`hw4 check NOTEBOOK`: run a notebook's visible tests and say, test by test, what passes.

First the file is read exactly as the grader reads it (``hw4.submission``): a damaged or renamed notebook,
or one with copied or deleted graded cells, is reported before the deadline, not after, and so is what the
grader will repair (a byte-order mark, cell metadata an editor dropped). Then the notebook, repaired as the
grader will, runs top to bottom in a fresh Jupyter kernel, in fast mode (as `nbgrader validate` does), so
long training loops shrink. Passing here does not guarantee full marks: the grader adds hidden tests.
"""
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .course import NBGRADER_EXECUTION, NOTEBOOKS
from .submission import notebook_name, read_notebook

# The kernel's start-up warnings (e.g. about its local TCP sockets) mean nothing to a student.
QUIET = ["--IPKernelApp.log_level=ERROR"]


def _grade_info(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _error(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


def run_notebook(text, folder):
    """Execute the notebook ``text`` (nbformat JSON) in ``folder`` and return it with outputs."""
    nb = nbformat.reads(text, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True, extra_arguments=QUIET,
                            resources={"metadata": {"path": str(folder)}})
    os.environ.setdefault(NBGRADER_EXECUTION, "validate")  # the notebooks' fast mode, as nbgrader validate
    client.execute()
    return nb


def _where(index, cell):
    """The cell's place, and its first line, by which a student finds it (Jupyter shows no cell numbers)."""
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {index}" + (f" ({first[:60]})" if first else "")


def _count(n, noun):
    return f"{n:g} {noun}" + ("" if n == 1 else "s")


def report(nb):
    """Lines describing each test cell, and whether all passed."""
    lines, passed, total = [], 0, 0
    unwritten, other_errors, after_unwritten = None, [], 0  # errors in cells that are not tests
    for index, cell in enumerate(nb.cells):
        info, error = _grade_info(cell), _error(cell)
        if cell.cell_type != "code":
            continue
        if info.get("grade") and not info.get("solution"):
            total += 1
            label = f"{info.get('grade_id', f'cell {index}')} ({_count(info.get('points', 0), 'pt')})"
            if error is None:
                passed += 1
                lines.append(f"  PASS  {label}")
            elif error[0] == "NotImplementedError":
                lines.append(f"  TODO  {label}: a function it tests is not written yet")
            else:
                lines.append(f"  FAIL  {label}: {error[0]}: {error[1]}")
        elif error and error[0] == "NotImplementedError":
            unwritten = unwritten or _where(index, cell)
        elif error and unwritten is not None:  # most likely a name that the unfinished cell never defined
            after_unwritten += 1
        elif error:
            other_errors.append(f"{_where(index, cell)}: {error[0]}: {error[1]}")
    if other_errors:  # later ones usually follow from the first, so only it is worth reading
        more = f" (and {_count(len(other_errors) - 1, 'later cell')})" if len(other_errors) > 1 else ""
        lines.append(f"  ERROR outside the tests, first in {other_errors[0]}{more}")
    if unwritten is not None:
        then = f"; {_count(after_unwritten, 'later cell')} failed without its results" if after_unwritten else ""
        lines.append(f"  TODO  {unwritten}, outside the tests, calls a function that is not written yet{then}")
    lines.append(f"{passed}/{total} visible tests pass. Hidden tests run when the notebook is graded.")
    return lines, passed == total


def readable(path):
    """Read ``path`` as the grader would and print what it would say: the notebook it would grade, or None."""
    path = Path(path)
    name = notebook_name(path)
    if not (path.exists() or path.is_symlink()):
        print(f"INVALID  no such file: {path}")
        return None
    if name is None:
        expected = " and ".join(f"{n}.ipynb" for n in NOTEBOOKS)
        print(f"INVALID  {path.name}: the grader only collects {expected}; hand this work in under one of those names")
        return None
    nb = read_notebook(name, path)
    if nb.status != "ok":
        print(f"INVALID  the grader would not grade this file: {nb.reason}")
        return None
    for repaired in nb.repairs:
        print(f"REPAIR   {repaired.note('will repair this')}")
    for note in nb.notes:
        if note not in {repaired.note() for repaired in nb.repairs}:
            print(f"NOTE     {note}")
    if path.name != f"{name}.ipynb":
        print(f"NOTE     rename it to {name}.ipynb before you hand it in")
    return nb


def check_notebook(path):
    nb = readable(path)
    if nb is None:
        return False
    print(f"Running {path} ...", flush=True)
    lines, ok = report(run_notebook(nb.text, Path(path).resolve().parent))
    print("\n".join(lines))
    return ok
