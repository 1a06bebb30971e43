"""Seconds to grade one submission: the KL notebook alone, and both notebooks.

Grades one student holding the reference answers, in a fresh output folder each time, with `hw4 grade`'s
defaults (sandbox on) and one job. "worker" is what the student costs a grading worker: nbgrader's
autograde and feedback, the sandboxed kernel's start and imports, the notebook's cells (fast mode for
the VAE) and the grader-side checks; "command" adds the class-wide set-up (the course directory, nbgrader's
generate_assignment, the worker pool). Each is measured with warm kernels (the default: forked from a
zygote, whose start-up and imports a single student pays in full) and with cold ones (a fresh Python per
notebook). Prints medians and ranges over --repeats runs.

    .venv/bin/python benchmarks/grade_one.py [--repeats 3]
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

from autograder.coordinator.grade import grade_class
from autograder.samples import reference_answers, write_submission


def seconds_to_grade(notebooks, warm):
    with tempfile.TemporaryDirectory() as tmp:
        write_submission(Path(tmp) / "subs" / "student", {name: reference_answers(name) for name in notebooks})
        started = time.perf_counter()
        result = grade_class(Path(tmp) / "subs", Path(tmp) / "out", jobs=1, log=lambda _: None,
                             warm_kernels=warm)["student"]
        return result.seconds, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'submission':<22} {'kernels':<8} {'seconds':<8} {'median':>7} {'min':>7} {'max':>7}")
    for label, notebooks in (("KL_derivation.ipynb", ["KL_derivation"]),
                             ("both notebooks", ["KL_derivation", "VAE"])):
        for kernels, warm in (("warm", True), ("cold", False)):
            runs = [seconds_to_grade(notebooks, warm) for _ in range(args.repeats)]
            for kind, times in zip(("worker", "command"), zip(*runs)):
                print(f"{label:<22} {kernels:<8} {kind:<8} "
                      f"{statistics.median(times):7.2f} {min(times):7.2f} {max(times):7.2f}")


if __name__ == "__main__":
    main()
