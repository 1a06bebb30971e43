"""The course folder the instructor works in, and the nbgrader course directories built from it."""
import functools
import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import nbformat
from jsonschema.validators import validator_for
from nbgrader import api as gradebook_api
from nbgrader import dbutil, utils
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import MetadataValidator
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from hw4.course import ASSIGNMENT, NOTEBOOKS

HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path("autograder") / "source" / ASSIGNMENT  # inside a course folder
SOURCE = HERE / "source" / ASSIGNMENT  # the copy installed with this package: what grading uses
CONFIG_FILE = HERE / "nbgrader_config.py"

# nbgrader runs `alembic` as a command: find it beside this Python even when its venv is not activated.
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
# nbgrader's gradebook code trips SQLAlchemy's session warnings; they say nothing about the grades.
warnings.filterwarnings("ignore", category=SAWarning)


def alembic_head():
    """The newest revision of nbgrader's gradebook migrations, which nbgrader stamps on every new gradebook."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", dbutil.ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


# nbgrader learns that revision by running `alembic heads` as a command each time it creates a gradebook: a
# Python start of about 2 s, for a constant. This process reads it itself, once.
gradebook_api.get_alembic_version = functools.cache(alembic_head)


def _checked_once(check_schema):
    """``check_schema`` that checks a given schema once in this process, then trusts it."""
    checked = set()

    def check_once(schema, *args, **kwargs):
        if args or kwargs:  # options jsonschema.validate does not pass: checked each time
            return check_schema(schema, *args, **kwargs)
        key = json.dumps(schema, sort_keys=True)
        if key not in checked:
            check_schema(schema)  # raises if the schema is invalid, which then stays unchecked
            checked.add(key)
    return staticmethod(check_once)


# nbgrader validates each cell's metadata with jsonschema.validate, which first checks nbgrader's schema itself
# against the JSON Schema metaschema: 1 ms a cell, a tenth of a second of every student's grading, for a
# schema that never changes.
_METADATA_SCHEMA = validator_for(MetadataValidator().schema)
_METADATA_SCHEMA.check_schema = _checked_once(_METADATA_SCHEMA.check_schema)


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


@functools.cache
def autograded_tests():
    """(notebook, test id, points) for every autograded test cell, in notebook order."""
    tests = []
    for name in NOTEBOOKS:
        for cell in nbformat.read(SOURCE / f"{name}.ipynb", as_version=4).cells:
            if utils.is_grade(cell) and not utils.is_solution(cell) and cell.cell_type == "code":
                tests.append((name, cell.metadata.nbgrader["grade_id"], float(cell.metadata.nbgrader["points"])))
    return tuple(tests)
