"""``TrustedVerify``, our second step in nbgrader's autograde pipeline: it decides every autograded test cell
from the probe outputs that ``SandboxedExecute`` left, in the grader's own process, and writes the verdict as
the cell's only output, which nbgrader's ``SaveAutoGrades`` turns into points.
"""
import os
import stat
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from hw4 import probe

from ..checks import CHECKS


class TrustedVerify(NbGraderPreprocessor):
    """Score each autograded test cell by comparing the probe outputs with the oracle, here."""

    def preprocess(self, nb, resources):
        state = resources["hw4"]
        sources = {cell.metadata.nbgrader["grade_id"]: cell.source for cell in nb.cells if utils.is_solution(cell)}
        for cell in nb.cells:
            if utils.is_grade(cell) and not utils.is_solution(cell) and cell.cell_type == "code":
                failures = verdict(cell, state, sources)
                cell.outputs = [_failed(failures) if failures else _passed(len(state["cases"].get(_id(cell), ())))]
        return nb, resources


def _id(cell):
    return cell.metadata.nbgrader["grade_id"]


def verdict(cell, state, sources):
    """The failure messages for one test cell ([] when it passes)."""
    check = CHECKS[_id(cell)]  # a test cell without a check is a bug in the source notebook
    failures = [f"{name} must not use torch.distributions: write the formula with plain tensor operations"
                for name in check.no_distributions_in if "distributions" in sources.get(name, "")]
    try:
        data = read_untrusted(probe.output_path(state["probe_dir"], check.test_id))
    except FileNotFoundError:
        return failures + [_not_run(cell, state)]
    except OSError as err:
        return failures + [f"the test's output file was tampered with ({err})"]
    try:
        return failures + list(check.verify(state["cases"][check.test_id], probe.decode(data)))
    except Exception as err:  # outputs of the wrong kind must cost the test, not the grading run
        return failures + [f"the outputs could not be checked ({type(err).__name__}: {err})"]


def read_untrusted(path, max_bytes=64 * 2**20):
    """Read a file the student's code could have replaced, never following a link or blocking on a pipe.

    The folder above ``path`` is the grader's; the student may have swapped ``path`` or its folder."""
    path = Path(path)
    flags = os.O_RDONLY | os.O_NOFOLLOW
    folder = os.open(path.parent, flags | os.O_DIRECTORY)
    try:
        fd = os.open(path.name, flags | os.O_NONBLOCK, dir_fd=folder)
    finally:
        os.close(folder)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            raise OSError(f"{path.name} is not a regular file of at most {max_bytes} bytes")
        return f.read(max_bytes)


def _not_run(cell, state):
    errors = [f"{out.ename}: {out.evalue}" for out in cell.get("outputs", []) if out.output_type == "error"]
    if errors:
        return f"the test stopped before the grader's checks ran: {errors[-1]}"[:2000]
    if state["status"] != "ok":
        return f"the test never ran: {state['reason']}"
    return "the test never ran (an earlier cell may have failed or ended the kernel)"


def _passed(n_cases):
    return new_output("stream", name="stdout", text=f"passed: the grader checked {n_cases} fresh cases\n")


def _failed(failures):
    text = failures[0] if len(failures) == 1 else "\n".join(f"- {message}" for message in failures)
    return new_output("error", ename="TestFailed", evalue=text, traceback=["TestFailed:", text])

