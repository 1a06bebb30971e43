"""The course folder the instructor works in, and the nbgrader course directories built from it."""
import functools
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbgrader import utils
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from hw4.course import ASSIGNMENT, NOTEBOOKS

from .workarounds import patch_nbgrader

HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path("autograder") / "source" / ASSIGNMENT  # inside a course folder
SOURCE = HERE / "source" / ASSIGNMENT  # the copy installed with this package: what grading uses
CONFIG_FILE = HERE / "nbgrader_config.py"
# What a notebook imports beyond what every warm kernel has (sandbox/zygote.py, PRELOAD): the zygote imports
# it at the first kernel of that notebook, so a run that executes none of them never pays for it.
KERNEL_IMPORTS = {"VAE": ("torchvision", "torchvision.utils")}

patch_nbgrader()


class NbgraderError(RuntimeError):
    pass


class CourseError(RuntimeError):
    """No course folder where one is needed."""


def find_root(root=None):
    """The course folder: ``root`` if given, else the nearest folder from here upwards holding the sources."""
    if root is not None:
        if not (Path(root) / SOURCE_DIR).is_dir():
            raise CourseError(f"{root} is not a course folder: it has no {SOURCE_DIR}/")
        return Path(root).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / SOURCE_DIR).is_dir():
            return folder
    raise CourseError(f"no course folder here: neither {here} nor a folder above it holds {SOURCE_DIR}/ "
                      "(run this in your copy of the course bundle, or pass --root DIR)")


def make_course(root, source=SOURCE):
    """Lay out an nbgrader course in ``root``: our config and the source notebooks from ``source``."""
    root = Path(root)
    (root / "source").mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, root / "source" / ASSIGNMENT, dirs_exist_ok=True)
    shutil.copyfile(CONFIG_FILE, root / CONFIG_FILE.name)
    return root


def gradebook_url(root):
    """The SQLAlchemy address of the gradebook of the nbgrader course in ``root``."""
    return f"sqlite:///{Path(root) / 'gradebook.db'}"


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


def released_notebooks(source=SOURCE):
    """Name → bytes of the student version of each notebook in ``source``, as nbgrader generates it."""
    with tempfile.TemporaryDirectory() as tmp:
        released = generate_assignment(make_course(tmp, source))
        return {name: (released / f"{name}.ipynb").read_bytes() for name in NOTEBOOKS}


@functools.cache
def student_notebooks():
    """Name → bytes of the student notebooks of the installed source notebooks, made once per process."""
    return released_notebooks(SOURCE)


def hand_graded_points():
    """The points of the cells graded by hand (the written answers), over all notebooks."""
    return sum(float(cell.metadata.nbgrader["points"]) for name in NOTEBOOKS
               for cell in nbformat.read(SOURCE / f"{name}.ipynb", as_version=4).cells
               if utils.is_grade(cell) and utils.is_solution(cell))


@functools.cache
def autograded_tests():
    """(notebook, test id, points) for every autograded test cell, in notebook order."""
    tests = []
    for name in NOTEBOOKS:
        for cell in nbformat.read(SOURCE / f"{name}.ipynb", as_version=4).cells:
            if utils.is_grade(cell) and not utils.is_solution(cell) and cell.cell_type == "code":
                tests.append((name, cell.metadata.nbgrader["grade_id"], float(cell.metadata.nbgrader["points"])))
    return tuple(tests)
