"""Two nbgrader steps for rubrics: one checks them at release, one hands them to formgrader's page."""
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from .rubric import RubricError, notebook_rubrics

SOURCE = CourseDirectory.source_directory.default_value  # nbgrader's "source", as make_course lays it out


class CheckRubrics(NbGraderPreprocessor):  # nbgrader's steps are enabled by default, nbconvert's are not
    """Stop `hw4 release` (nbgrader's generate_assignment) on a rubric that is malformed, does not add up to its
    cell's points, or sits outside the solution region, where it would reach students."""

    def preprocess(self, nb, resources):
        notebook_rubrics(nb)  # raises RubricError, which nbgrader reports with the notebook's name
        return nb, resources


def source_notebook(resources):
    """The course's source notebook of the submission formgrader renders, or None outside formgrader.

    formgrader renders ``autograded/<student>/<assignment>/<notebook>.ipynb`` of the course, naming the
    assignment and notebook in ``resources``; the source notebook is in the nearest folder above holding it."""
    folder = resources.get("metadata", {}).get("path")
    assignment, notebook = resources.get("assignment_id"), resources.get("notebook_id")
    if not (folder and assignment and notebook):
        return None
    for course in (Path(folder), *Path(folder).parents):
        candidate = course / SOURCE / assignment / f"{notebook}.ipynb"
        if candidate.is_file():
            return candidate
    return None


class AttachRubrics(Preprocessor):
    """Put the rubrics of the source notebook into ``resources["rubrics"]`` (grade id → Rubric) for the
    formgrade template, which shows each below its answer; the student's notebook is left as it is."""

    def preprocess(self, nb, resources):
        path = source_notebook(resources)
        resources["rubrics"] = {}
        if path is not None:
            try:
                resources["rubrics"] = notebook_rubrics(nbformat.read(path, as_version=4))
            except RubricError as error:
                self.log.error("%s: %s", path, error)
                resources["rubric_error"] = f"{path}: {error}"
        return nb, resources
