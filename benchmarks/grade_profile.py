"""Where a grading worker's seconds go, per student, with warm kernels and with cold ones.

Grades one student holding the reference answers (both notebooks) --students times in this process, as a
grading worker does (autograder.worker.student.grade_student, sandbox on), after one student that warms up the
zygote and nbgrader's caches. Each step below is timed by wrapping the method that does it; the steps
nest (the kernel's steps and the cells are part of the execute step, which is part of nbgrader autograde),
so the column does not add up to the total.

    .venv/bin/python benchmarks/grade_profile.py [--students 5]
"""
import argparse
import collections
import functools
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from jupyter_client.asynchronous.client import AsyncKernelClient
from nbclient.client import NotebookClient
from nbgrader.apps import NbGraderAPI

from autograder import sandbox
from autograder.coordinator import grade
from autograder.worker import execute, verify
from autograder.worker.student import grade_student
from autograder.course import NOTEBOOKS, autograded_tests
from autograder.samples import reference_answers, write_submission
from autograder.submissions import read_student

STEPS = (  # (class, method, label), in the order a notebook meets them
    (NbGraderAPI, "autograde", "nbgrader autograde, in all"),
    (execute.SandboxedExecute, "preprocess", "  execute step, in all"),
    (sandbox.SandboxedKernelManager, "start_kernel", "    sandbox and kernel launch"),
    (AsyncKernelClient, "wait_for_ready", "    kernel start, until it answers"),
    (NotebookClient, "execute_cell", "    cells (imports, fast training, probes)"),
    (sandbox.SandboxedKernelManager, "shutdown_kernel", "    kernel shutdown and sandbox cleanup"),
    (verify.TrustedVerify, "preprocess", "  grader-side checks (TrustedVerify)"),
    (NbGraderAPI, "generate_feedback", "nbgrader generate_feedback"),
)
seconds = collections.Counter()


@contextmanager
def clock(label):
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds[label] += time.perf_counter() - started


def timed(method, label):
    if hasattr(method, "__code__") and method.__code__.co_flags & 0x80:  # a coroutine function
        @functools.wraps(method)
        async def wrapper(*args, **kwargs):
            with clock(label):
                return await method(*args, **kwargs)
    else:
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            with clock(label):
                return method(*args, **kwargs)
    return wrapper


def profile(warm, students):
    """Seconds per student: the whole of grade_student, then each step."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = grade.prepare_course(tmp / "out")
        settings = dict(gradebook=(root / "gradebook.db").read_bytes(), sandbox=True, work_root=str(tmp),
                        warm_kernels=warm)
        write_submission(tmp / "subs" / "s", {name: reference_answers(name) for name in NOTEBOOKS})
        notebooks = read_student(tmp / "subs" / "s")
        grade_student("s", notebooks, autograded_tests(), settings)  # warm-up
        seconds.clear()
        started = time.perf_counter()
        for _ in range(students):
            result = grade_student("s", notebooks, autograded_tests(), settings)
            assert result.score == result.max_score, result.tests
        total = time.perf_counter() - started
    return total / students, {label: seconds[label] / students for _, _, label in STEPS}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=5)
    args = parser.parse_args()
    for owner, name, label in STEPS:
        setattr(owner, name, timed(getattr(owner, name), label))
    (warm_total, warm), (cold_total, cold) = profile(True, args.students), profile(False, args.students)
    print(f"seconds per student (both notebooks, mean of {args.students})   warm kernels  cold kernels")
    print(f"{'grade_student, in all':<48} {warm_total:12.2f} {cold_total:13.2f}")
    for _, _, label in STEPS:
        print(f"{label:<48} {warm[label]:12.2f} {cold[label]:13.2f}")
    print(f"warm kernels save {cold_total - warm_total:.2f} s per student: {cold_total / warm_total:.2f}x")


if __name__ == "__main__":
    main()
