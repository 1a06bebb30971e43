"""The cells of each released notebook, as `hw4 release` records them in ``graded_cells.json``.

The reader compares a submission with this record: which graded cells it must hold, and the fingerprint of
every released cell. A notebook whose cell metadata a tool dropped is put back together from it (repair.py):
cells are recognised by their fingerprints, answers by the names they define, and a recognised graded cell
gets back the whole metadata it was released with, nbgrader's checksum included.
"""
import hashlib
import json
import re
from dataclasses import asdict, dataclass

from hw4.course import GRADED_CELLS

RESTORED = ("test", "locked")  # roles whose cells the grader replaces with its own copy

# A top-level def or class (SPEC §2: each answer cell starts with the one it grades). A pattern, not the ast,
# because an answer with a syntax error must still be recognised.
DEFINITION = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


@dataclass(frozen=True)
class ReleasedCell:
    """One cell of a released notebook, in order."""

    cell_type: str
    sha256: str
    role: str | None = None  # see role(); None: not graded
    grade_id: str | None = None
    id: str | None = None  # the cell id (nbformat 4.5)
    defines: tuple[str, ...] = ()  # an answer cell: the names its stub defines
    metadata: dict | None = None  # a graded cell: its whole metadata, as released


def role(cell):
    """What grading does with ``cell``: 'answer', 'written' (graded by hand), 'test', 'locked' or None."""
    info = cell.get("metadata", {}).get("nbgrader", {})
    if info.get("solution"):
        return "written" if info.get("grade") and cell.get("cell_type") == "markdown" else "answer"
    if info.get("grade"):
        return "test"
    return "locked" if info.get("locked") else None


def fingerprint(cell):
    return hashlib.sha256(cell.get("source", "").encode()).hexdigest()


def definitions(cell):
    """The names a code cell defines at its top level."""
    return tuple(DEFINITION.findall(cell.get("source", ""))) if cell.get("cell_type") == "code" else ()


def describe(nb):
    """The cells of the released notebook ``nb``, in order, as :class:`ReleasedCell` records."""
    cells = []
    for cell in nb.cells:
        kind = role(cell)
        graded = dict(role=kind, grade_id=cell.metadata.nbgrader["grade_id"], metadata=cell.metadata) if kind else {}
        cells.append(ReleasedCell(cell.cell_type, fingerprint(cell), id=cell.get("id"),
                                  defines=definitions(cell) if kind == "answer" else (), **graded))
    return cells


def dumps(described):
    """Notebook name → its described cells, as the JSON bytes of graded_cells.json (byte-identical each time)."""
    def fields(cell):  # those set, to keep the file short
        return {key: value for key, value in asdict(cell).items() if value not in (None, ())}

    cells = {name: [fields(cell) for cell in described_cells] for name, described_cells in described.items()}
    return (json.dumps(cells, indent=1, sort_keys=True) + "\n").encode()


def manifest():
    """Notebook name → its released cells, in order."""
    cells = json.loads(GRADED_CELLS.read_text())
    return {name: [ReleasedCell(**{**c, "defines": tuple(c.get("defines", ()))}) for c in listed]
            for name, listed in cells.items()}


def graded_cells(released):
    """Grade id → the released graded cell."""
    return {cell.grade_id: cell for cell in released if cell.role}
