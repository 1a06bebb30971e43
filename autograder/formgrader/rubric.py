"""The rubric of a hand-graded answer: written in the source notebook, shown to graders, never to students.

A rubric sits inside the solution region of its hand-graded answer cell, so nbgrader's ClearSolutions removes
it from the student version with the solution. It is marked as nbgrader marks the mark scheme of a task cell
(nbgrader's name for a rubric), and written as a list (docs/instructors.md, "Rubrics"):

    ### BEGIN MARK SCHEME
    - 2: what earns these two points, in Markdown with $LaTeX$
      (an entry goes on over indented lines)
    - 1: the next item
    Typical deductions:
    - −1: a common slip, and which item it comes off
    ### END MARK SCHEME

Items come before "Typical deductions:", each starting with its points, and their points add up to the cell's.
Deductions are free Markdown list entries that state their own amount. The mark scheme of an nbgrader task
cell stays free text, which formgrader shows as it is.
"""
import re
from dataclasses import dataclass

from nbgrader import utils

BEGIN, END = "### BEGIN MARK SCHEME", "### END MARK SCHEME"
SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")  # nbgrader's default solution markers
DEDUCTIONS = "Typical deductions:"
ITEM = re.compile(r"(\d+(?:\.\d+)?):\s+(\S.*)", re.DOTALL)  # "2: text" once the "- " is off


class RubricError(ValueError):
    """A rubric that cannot be read, or that could reach students."""


@dataclass(frozen=True)
class RubricItem:
    points: float
    text: str  # Markdown

    @property
    def points_label(self):
        return f"{self.points:g}"


@dataclass(frozen=True)
class Rubric:
    items: tuple  # of RubricItem
    deductions: tuple  # of Markdown strings

    @property
    def points(self):
        return sum(item.points for item in self.items)

    @property
    def points_label(self):
        return f"{self.points:g}"


def rubric_span(lines):
    """(first, last) indices of the BEGIN and END lines in ``lines``, or None if there is no rubric."""
    begins = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if not begins and not ends:
        return None
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise RubricError(f"a cell holds one rubric, from a line '{BEGIN}' to a line '{END}' after it; "
                          f"found {len(begins)} of the first and {len(ends)} of the second")
    return begins[0], ends[0]


def without_rubric(source):
    """``source`` with its rubric block, markers included, taken out."""
    lines = source.split("\n")
    span = rubric_span(lines)
    if span is None:
        return source
    return "\n".join(lines[:span[0]] + lines[span[1] + 1:]).rstrip("\n")


def entries(lines):
    """The list entries of ``lines``, each joined with its indented continuation lines: (items, deductions)."""
    items, deductions = [], []
    current, open_entry = items, False
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if line.strip() == DEDUCTIONS:
            current, open_entry = deductions, False
        elif line.startswith("- "):
            current.append(line[2:].strip())
            open_entry = True
        elif line[0].isspace() and open_entry:
            current[-1] += "\n" + line.strip()
        else:
            raise RubricError(f"line {number} of the rubric is neither a list entry ('- ...'), an indented line "
                              f"continuing one, nor '{DEDUCTIONS}': {line.strip()!r}")
    return items, deductions


def parse_rubric(lines):
    """The Rubric written in ``lines``, the lines between the markers."""
    texts, deductions = entries(lines)
    items = []
    for text in texts:
        match = ITEM.fullmatch(text)
        if not match:
            raise RubricError(f"a rubric item starts with its points, as in '- 2: ...': {text.splitlines()[0]!r}")
        items.append(RubricItem(float(match.group(1)), match.group(2)))
    if not items:
        raise RubricError("the rubric has no items ('- POINTS: what earns them')")
    return Rubric(tuple(items), tuple(deductions))


def cell_rubric(cell):
    """The Rubric of a notebook cell, or None; RubricError if it is malformed or could reach students."""
    lines = cell.source.split("\n")
    span = rubric_span(lines)
    if span is None or utils.is_task(cell):
        return None
    name = cell.metadata.get("nbgrader", {}).get("grade_id", "without a grade id")
    solution = [i for i, line in enumerate(lines) if any(marker in line for marker in SOLUTION)]
    if not (utils.is_grade(cell) and utils.is_solution(cell)):
        raise RubricError(f"cell {name} has a rubric but is not a hand-graded answer cell (nbgrader: "
                          "'Manually graded answer')")
    if len(solution) != 2 or not solution[0] < span[0] < span[1] < solution[1]:
        raise RubricError(f"the rubric of cell {name} must sit between its '{SOLUTION[0]}' and "
                          f"'{SOLUTION[1]}' lines, where nbgrader removes it from the student version")
    try:
        rubric = parse_rubric(lines[span[0] + 1:span[1]])
    except RubricError as error:
        raise RubricError(f"the rubric of cell {name}: {error}") from None
    points = float(cell.metadata.nbgrader["points"])
    if rubric.points != points:
        raise RubricError(f"the rubric of cell {name} gives {rubric.points_label} points in all, "
                          f"but the cell is worth {points:g}")
    return rubric


def notebook_rubrics(nb):
    """Grade id → Rubric, for every cell of ``nb`` that has one."""
    found = ((cell, cell_rubric(cell)) for cell in nb.cells)
    return {cell.metadata.nbgrader["grade_id"]: rubric for cell, rubric in found if rubric is not None}
