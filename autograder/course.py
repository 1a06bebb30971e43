"""The nbgrader course directory that release and grading work in."""
import functools
import os
import shutil
import sys
import warnings
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

ASSIGNMENT = "hw4"
NOTEBOOKS = ("KL_derivation", "VAE")
HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source" / ASSIGNMENT
CONFIG_FILE = HERE / "nbgrader_config.py"

# nbgrader runs `alembic` as a command: find it beside this Python even when its venv is not activated.
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
# nbgrader's gradebook code trips SQLAlchemy's session warnings; they say nothing about the grades.
warnings.filterwarnings("ignore", category=SAWarning)


class NbgraderError(RuntimeError):
    pass


def make_course(root):
    """Lay out an nbgrader course in ``root``: our config and the source notebooks."""
    root = Path(root)
    (root / "source").mkdir(parents=True, exist_ok=True)
    shutil.copytree(SOURCE, root / "source" / ASSIGNMENT, dirs_exist_ok=True)
    shutil.copyfile(CONFIG_FILE, root / CONFIG_FILE.name)
    return root


def api(root, overrides=None):
    """An ``NbGraderAPI`` for the course in ``root``, configured by its nbgrader_config.py."""
    config = PyFileConfigLoader(CONFIG_FILE.name, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    config.Exchange.root = str(Path(root) / "exchange")  # unused, but nbgrader complains about the default
    config.merge(overrides or Config())
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def succeed(result, what):
    """Raise with nbgrader's own log when one of its steps failed."""
    if not result["success"]:
        raise NbgraderError(f"nbgrader {what} failed:\n{result.get('error', '')}\n{result.get('log', '')}")
    return result


def generate_assignment(root):
    succeed(api(root).generate_assignment(ASSIGNMENT, force=True), "generate_assignment")
    return Path(root) / "release" / ASSIGNMENT


@functools.cache
def autograded_tests():
    """(notebook, test id, points) for every autograded test cell, in notebook order."""
    tests = []
    for name in NOTEBOOKS:
        for cell in nbformat.read(SOURCE / f"{name}.ipynb", as_version=4).cells:
            if utils.is_grade(cell) and not utils.is_solution(cell) and cell.cell_type == "code":
                tests.append((name, cell.metadata.nbgrader["grade_id"], float(cell.metadata.nbgrader["points"])))
    return tuple(tests)
