"""`hw4 check NOTEBOOK`: run a notebook's visible tests and say, test by test, what passes.

The notebook runs top to bottom in a fresh Jupyter kernel, in fast mode (as `nbgrader validate` does), so
long training loops shrink. Passing here does not guarantee full marks: the grader adds hidden tests.
"""
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def _grade_info(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _error(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


def run_notebook(path):
    """Execute the notebook at ``path`` in its own folder and return it with outputs."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(Path(path).resolve().parent)}})
    os.environ.setdefault("NBGRADER_EXECUTION", "validate")  # the notebooks' fast mode, as nbgrader validate
    client.execute()
    return nb


def report(nb):
    """Lines describing each test cell, and whether all passed."""
    lines, passed, total = [], 0, 0
    for index, cell in enumerate(nb.cells):
        info, error = _grade_info(cell), _error(cell)
        if cell.cell_type != "code":
            continue
        if info.get("grade") and not info.get("solution"):
            total += 1
            label = f"{info.get('grade_id', f'cell {index}')} ({info.get('points', 0):g} pts)"
            if error is None:
                passed += 1
                lines.append(f"  PASS  {label}")
            elif error[0] == "NotImplementedError":
                lines.append(f"  TODO  {label}: a function it tests is not written yet")
            else:
                lines.append(f"  FAIL  {label}: {error[0]}: {error[1]}")
        elif error and error[0] != "NotImplementedError":
            lines.append(f"  ERROR in cell {index} (not a test): {error[0]}: {error[1]}")
    lines.append(f"{passed}/{total} visible tests pass. Hidden tests run when the notebook is graded.")
    return lines, passed == total


def check_notebook(path):
    print(f"Running {path} ...", flush=True)
    lines, ok = report(run_notebook(path))
    print("\n".join(lines))
    return ok
