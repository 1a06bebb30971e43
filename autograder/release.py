"""`hw4 release`: the student notebooks, generated from the source notebooks by nbgrader."""
import tempfile
from pathlib import Path

from .course import NOTEBOOKS, generate_assignment, make_course

REPO = Path(__file__).resolve().parent.parent


def release(dest=REPO):
    """Write the student versions of the notebooks to ``dest``; return the paths that changed."""
    changed = []
    with tempfile.TemporaryDirectory() as tmp:
        released = generate_assignment(make_course(tmp))
        for name in NOTEBOOKS:
            data = (released / f"{name}.ipynb").read_bytes()
            target = Path(dest) / f"{name}.ipynb"
            if not target.exists() or target.read_bytes() != data:
                target.write_bytes(data)
                changed.append(target)
    return changed
