# nbgrader configuration for homework 4. `hw4 grade` copies this file into the course directory it builds,
# so an instructor running nbgrader or its formgrader there gets the same pipeline.
c = get_config()  # noqa: F821 (nbgrader's config loader defines it)

c.CourseDirectory.course_id = "hw4"

# Student code runs in a sandbox; the hidden tests' verdicts are computed afterwards, in this process.
c.Autograde.autograde_preprocessors = [
    "autograder.worker.execute.SandboxedExecute",
    "autograder.worker.verify.TrustedVerify",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
from autograder.sandbox import CELL_TIMEOUT_S  # noqa: E402 (config files import as they go)

c.Execute.timeout = CELL_TIMEOUT_S  # seconds per cell; the whole notebook is capped by SandboxedExecute.wall_seconds
# The grader kills the sandbox afterwards anyway; a graceful kernel shutdown only adds seconds per notebook.
c.Execute.shutdown_kernel = "immediate"
# A student who deleted a test cell gets it back, and graded, rather than a silent zero.
c.OverwriteCells.add_missing_cells = True

# Feedback shows every test's verdict (TrustedVerify's output) and the visible tests, but not the code between
# ### BEGIN HIDDEN TESTS and ### END HIDDEN TESTS (the probe calls): nbgrader's own ClearHiddenTests removes it
# before the HTML is made (jupyter/nbgrader#1363).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402 (config files import as they go)
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

from autograder.worker.feedback import DescribeImages, FeedbackExporter  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, DescribeImages, CSSHTMLHeaderPreprocessor]
# The same page as nbgrader's, rendered in a third less time (see feedback.py).
c.GenerateFeedback.exporter_class = FeedbackExporter

# Rubrics of hand-graded answers: checked when the assignment is generated, shown in formgrader beside each
# answer, with MathJax from the grading server (see autograder/formgrader/).
from autograder.formgrader import configure as configure_rubrics  # noqa: E402

configure_rubrics(c)
