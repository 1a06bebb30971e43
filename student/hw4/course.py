"""The course manifest: the facts both packages read, each defined once here.

The student package owns it because it must never import the instructor's; the instructor's package
(``autograder``) reads every notebook name, limit and environment variable name from here. Adding a
notebook starts with ``NOTEBOOKS`` (see docs/developers.md, "Where a change goes").
"""
from pathlib import Path

ASSIGNMENT = "hw4"  # nbgrader's assignment name, and the folder of the source notebooks
NOTEBOOKS = ("KL_derivation", "VAE")  # the graded notebooks, in grading order, without ".ipynb"
GRADED_CELLS = Path(__file__).with_name("graded_cells.json")  # written by `hw4 release`, read by the reader

MAX_NOTEBOOK_BYTES = 20 * 2**20  # a submitted notebook larger than this is invalid

# Environment variables: the names, and who sets them.
FAST = "HW4_FAST"  # `hw4 results --fast`: train on a few batches
OFFLINE = "HW4_OFFLINE"  # 1: do not try to download MNIST (set in every graded kernel)
PROBE_DIR = "HW4_PROBE_DIR"  # where the hidden tests' probe reads inputs and writes outputs, while grading
RESULTS_DIR = "HW4_RESULTS_DIR"  # `hw4 results`: where the notebooks save figures and metrics
NBGRADER_EXECUTION = "NBGRADER_EXECUTION"  # set by nbgrader while it validates or autogrades: fast mode too
