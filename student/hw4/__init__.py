"""Homework 4 helpers: MNIST loading, the `hw4` command, and the grading probe."""
import os

from hw4.course import FAST, NBGRADER_EXECUTION


def fast_mode():
    """True while nbgrader grades or validates a notebook, and in `hw4 results --fast`: train on a few batches."""
    return bool(os.environ.get(NBGRADER_EXECUTION) or os.environ.get(FAST))
