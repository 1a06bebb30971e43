"""A full run of both student notebooks, answered with the reference solution, shows a student no warning:
no stderr under any cell, and training's progress as a progress bar (a Jupyter widget), as in JupyterLab."""
import os
import re

import pytest
from nbclient import NotebookClient

from autograder.samples import reference_answers, student_notebook
from conftest import REPO
from hw4.check import QUIET
from hw4.course import FAST, NOTEBOOKS

WIDGET = "application/vnd.jupyter.widget-view+json"
BARS = {"KL_derivation": [], "VAE": ["train"]}  # the cells that draw a progress bar


def requirement_names(path):
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {re.split(r"[<>=!~\[ ;]", line)[0].lower() for line in lines if line}


def test_the_handout_installs_what_a_progress_bar_needs():
    """tqdm.auto draws a widget only where ipywidgets is installed; elsewhere it warns in red (TqdmWarning)."""
    assert "ipywidgets" in requirement_names(REPO / "student" / "requirements.txt")
    assert "- .[lab]" in (REPO / "student" / "environment.yml").read_text()  # conda installs the same


@pytest.mark.parametrize("name", NOTEBOOKS)  # apart, so that two test workers can run them at once
def test_a_full_run_leaves_no_stderr_under_any_cell(name, tmp_path, monkeypatch):
    monkeypatch.setenv(FAST, "1")  # training on a few batches: the same cells run, in seconds
    nb = student_notebook(name, reference_answers(name))
    NotebookClient(nb, timeout=300, kernel_name="python3", extra_arguments=QUIET,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", (index, output.get("evalue"))
            assert output.get("name") != "stderr", (index, output.text)
    bars = [cell.metadata.nbgrader["grade_id"] for cell in nb.cells
            if any(WIDGET in output.get("data", {}) for output in cell.get("outputs", []))]
    assert bars == BARS[name]
    assert os.listdir(tmp_path) in ([], ["data"])  # the run writes nothing but MNIST's cache
