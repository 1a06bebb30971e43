"""The bundle and the student handout install like any Python project, each into a virtual environment
of its own, and work from there: instructor commands on the course folder, students without the grader."""
import subprocess
import sys
import zipfile
from pathlib import Path

from hw4.cli import INSTRUCTOR_COMMANDS

from autograder.release import HANDOUT
from autograder.samples import reference_answers, write_submission
from conftest import copy_course, snapshot


def run(args, cwd="/"):
    """Run a command away from this repository, which `python -c` would otherwise import from."""
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, cwd=cwd)


def clone_venv(dest, drop):
    """A new virtual environment with this one's third-party packages, less the distributions ``drop``.

    Hard links make it take a second, where installing torch afresh takes minutes and gigabytes; pip
    replaces files rather than writing into them, so this environment is never changed through them."""
    subprocess.run(["cp", "-al", sys.prefix, dest], check=True)
    python = dest / "bin" / "python"
    subprocess.run([python, "-m", "pip", "uninstall", "-y", "-q", *drop], check=True, capture_output=True)
    return python


def pip_install(python, folder):
    """A regular (non-editable) install of the project in ``folder``; its dependencies are already there."""
    done = run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", folder])
    assert done.returncode == 0, done.stderr


def site_packages(python, package):
    """Where ``python`` finds ``package``, found without importing it (autograder would import nbgrader)."""
    code = f"from importlib.util import find_spec; print(find_spec({package!r}).submodule_search_locations[0])"
    return Path(run([python, "-c", code]).stdout.strip())


def test_instructor_commands_work_from_a_regular_install(tmp_path):
    python = clone_venv(tmp_path / "venv", ["hw4-course"])
    pip_install(python, copy_course(tmp_path / "src"))
    hw4 = python.parent / "hw4"
    installed = {name: site_packages(python, name) for name in ("autograder", "hw4")}
    assert all(tmp_path / "venv" in path.parents for path in installed.values()), installed
    before = {name: snapshot(path) for name, path in installed.items()}

    course = copy_course(tmp_path / "course")
    done = run([hw4, "release"], cwd=course / "student")  # the course folder is found upwards
    assert done.returncode == 0, done.stderr
    assert (course / "KL_derivation.ipynb").exists() and (course / HANDOUT).exists()

    write_submission(tmp_path / "class" / "ada", {"KL_derivation": reference_answers("KL_derivation")})
    done = run([hw4, "grade", tmp_path / "class", "--out", "graded", "--jobs", "1"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = (tmp_path / "graded" / "grades.csv").read_text().splitlines()
    assert rows[1].startswith("ada,missing,25,43,"), rows
    assert {name: snapshot(path) for name, path in installed.items()} == before  # nothing written there

    done = run([hw4, "release"], cwd=tmp_path)
    assert done.returncode == 1 and "no course folder here" in done.stderr and "Traceback" not in done.stderr


def test_the_handout_installs_and_checks_without_the_grader(released, tmp_path):
    python = clone_venv(tmp_path / "venv", ["hw4-course", "nbgrader", "dask", "distributed"])
    zipfile.ZipFile(released.root / HANDOUT).extractall(tmp_path)
    handout = tmp_path / "hw4-handout"
    pip_install(python, handout)
    hw4 = python.parent / "hw4"

    assert run([python, "-c", "import autograder"]).returncode == 1
    requires = run([python, "-c", "from importlib.metadata import requires; print(requires('hw4'))"]).stdout
    assert "torch" in requires and "nbgrader" not in requires and "dask" not in requires
    for command in INSTRUCTOR_COMMANDS:
        done = run([hw4, command, "x"])
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert "instructor command" in done.stderr

    done = run([hw4, "check", "KL_derivation.ipynb"], cwd=handout)  # as released: every test to do
    assert done.returncode == 1, done.stderr
    assert done.stdout.count("TODO  test_") == 9 and "0/9 visible tests pass" in done.stdout
    assert "ERROR" not in done.stdout, done.stdout  # the figure cell's kl_mvn is unwritten, not wrong

    (handout / "VAE (1).ipynb").write_text("{not json")
    done = run([hw4, "check", "VAE (1).ipynb"], cwd=handout)
    assert done.returncode == 1 and "INVALID" in done.stdout and "not valid JSON" in done.stdout
