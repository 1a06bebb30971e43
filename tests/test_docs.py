"""The README is a front door and the manual behind it stays true: every link, path and command it cites exists."""
import re
import subprocess
import sys
from pathlib import Path

from hw4.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "student" / "README.md",
         REPO / "autograder" / "checks" / "CHECKS.md", REPO / "benchmarks" / "README.md"]
# A backquoted path of this repository: a name with a slash or an extension the bundle uses, not a glob or a
# placeholder (DIR/..., SOURCE, <id>), not an address.
PATH = re.compile(r"`((?:[\w.-]+/)*[\w.-]+(?:/|\.(?:py|md|ipynb|json|yml|toml|txt|j2|zip|csv)))`")
GENERATED = ("dist/", "hw4-handout", ".venv/", "data/", "demo/")  # made by commands, not in git
PLACEHOLDERS = {"NAME", "DIR", "SOURCE", "ID", "FILE"}  # what a recipe or a command line fills in


def test_the_readme_is_a_front_door():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 100
    assert "make demo" in "\n".join(lines) and "make test" in "\n".join(lines)


def test_every_link_in_the_docs_points_to_a_file_that_exists():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text()):
            if "://" not in target and not target.startswith("mailto:"):
                assert (page.parent / target).exists(), f"{page.relative_to(REPO)} links to {target}"


def test_every_repository_path_the_docs_cite_exists():
    files = set(subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split())
    folders = {p + "/" for f in files for p in _parents(f)}
    missing = []
    for page in PAGES:
        for path in PATH.findall(page.read_text()):
            if path.startswith(GENERATED) or PLACEHOLDERS & {Path(part).stem for part in Path(path).parts} \
                    or "/" not in path.rstrip("/") and path not in files:
                continue  # a bare file name (grades.csv, VAE.ipynb) names an output or a student's file
            if not (path in files or path in folders or _below(path, page, files)):
                missing.append(f"{page.relative_to(REPO)}: {path}")
    assert not missing, "the docs cite paths that are not in the repository:\n" + "\n".join(missing)


def test_every_hw4_command_the_docs_cite_exists():
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    for page in PAGES:
        for name in re.findall(r"`(?:\.venv/bin/)?hw4 ([a-z]+)", page.read_text()):
            assert name in commands, f"{page.relative_to(REPO)} cites `hw4 {name}`"


def test_ruff_finds_nothing():
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def _parents(path):
    parts = Path(path).parts[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _below(path, page, files):
    """A path written relative to the page's own folder (student/README.md cites hw4/...)."""
    here = page.parent.relative_to(REPO)
    return str(here / path).rstrip("/") in files or any(f.startswith(str(here / path)) for f in files)
