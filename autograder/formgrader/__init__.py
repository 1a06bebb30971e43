"""Rubrics of hand-graded answers, and what nbgrader's formgrader shows in a course of this bundle: each
hand-graded answer with its rubric, the mathematics typeset by MathJax from the grading machine itself.

formgrader renders each submission with a plain ``HTMLExporter(config=...)`` built from the course's
nbgrader_config.py (nbgrader/server_extensions/formgrader/formgrader.py), so the page is configured there:
our template (templates/hw4_formgrade, built on nbgrader's "formgrade"), our preprocessor, and MathJax's
address on the server, where the jupyter-server-mathjax extension serves the MathJax 2 that formgrade.js uses.
"""
from pathlib import Path

import nbgrader
from nbgrader.converters import GenerateAssignment

from .preprocessors import AttachRubrics, CheckRubrics
from .rubric import Rubric, RubricError, RubricItem, notebook_rubrics, without_rubric

__all__ = ["AttachRubrics", "CheckRubrics", "Rubric", "RubricError", "RubricItem", "configure",
           "notebook_rubrics", "without_rubric"]

NBGRADER_RELEASE_STEPS = GenerateAssignment.class_traits()["preprocessors"].default()  # nbgrader's own list
TEMPLATES = Path(__file__).with_name("templates")
# formgrader's and the feedback page's templates, where nbgrader's generate_feedback finds them too (importing
# formgrader's handlers to ask would import the Jupyter server: half a second for every grading process).
NBGRADER_TEMPLATES = str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates")
TEMPLATE = "hw4_formgrade"
# Relative to the server's base URL: jupyter-server-mathjax's static folder, and one of its configurations.
MATHJAX = "static/jupyter_server_mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"


def configure(c):
    """Check rubrics at release and show them in formgrader, in the nbgrader config ``c``; leave nbgrader's
    feedback page as it is."""
    c.GenerateAssignment.preprocessors = [CheckRubrics, *NBGRADER_RELEASE_STEPS]
    c.HTMLExporter.template_name = TEMPLATE
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), NBGRADER_TEMPLATES]
    c.HTMLExporter.extra_template_paths = [NBGRADER_TEMPLATES]  # where ours finds 'formgrade/index.html.j2'
    c.HTMLExporter.preprocessors = [AttachRubrics]
    c.HTMLExporter.mathjax_url = MATHJAX
    # The feedback page's exporter is an HTMLExporter too, made by GenerateFeedback (its parent), which would
    # otherwise inherit all of the above: it keeps nbgrader's feedback template and runs no rubric preprocessor.
    feedback = c.GenerateFeedback.HTMLExporter
    feedback.template_name = "feedback"
    feedback.extra_template_basedirs = [NBGRADER_TEMPLATES]
    feedback.preprocessors = []
