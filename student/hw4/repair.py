"""Put back the grading metadata that a tool dropped from a submitted notebook's cells.

Some editors save a notebook without its cells' metadata, nbgrader's included (jupyter/nbgrader#424, #1398),
although the student's work is all there. Each cell that lost it is matched to the released notebook
(graded.py): first by content (every cell the student left as released, tests and locked cells among them),
then, between two matched cells, an answer cell by the name it defines (SPEC §2) and any other graded cell
by its place. A matched graded cell gets back its released metadata, nbgrader's checksum included, so the
notebook is then graded exactly like an intact one. Nothing is guessed: when a cell cannot be placed with
certainty, the notebook is not repaired and the reason says which. A notebook is only repaired when some
graded cell is found without its metadata (or no cell has any): otherwise cells without metadata are the
student's own, and a deleted test cell must not take the place of one of them.
"""
import copy
from collections import Counter
from dataclasses import dataclass, field

from hw4.graded import definitions, fingerprint

ADVICE = ("copy your answers into a fresh copy of the released notebook, check it with `hw4 check`, and hand "
          "that in")


@dataclass(frozen=True)
class Repaired:
    """Something a tool did to a submitted file, which the reader undid."""

    damage: str  # what the tool did
    fix: str  # what the reader does about it, in the present tense

    def note(self, when="repaired it"):
        return f"{self.damage}; the grader {when}: {self.fix}"


class CannotRepair(ValueError):
    """A notebook whose cells lost their metadata cannot be matched to the released one with certainty."""


@dataclass
class _Matching:
    cells: list  # the submitted notebook's cells
    released: list  # its released cells (graded.ReleasedCell)
    pairs: dict = field(default_factory=dict)  # released index → submitted index
    how: dict = field(default_factory=dict)  # released index → 'content', 'name' or 'place'
    problems: list = field(default_factory=list)

    def bare(self, index):
        """Whether submitted cell ``index`` lost its grading metadata (or never had any) and is not placed yet."""
        return "nbgrader" not in self.cells[index].get("metadata", {}) and index not in self.pairs.values()

    def pair(self, r, s, how):
        self.pairs[r], self.how[r] = s, how

    def where(self, start, stop):
        """Released cells start..stop-1 located for a student, by the graded cells around them."""
        before = next((c.grade_id for c in reversed(self.released[:start]) if c.grade_id), None)
        after = next((c.grade_id for c in self.released[stop:] if c.grade_id), None)
        if before and after:
            return f"between '{before}' and '{after}'"
        return f"after '{before}'" if before else f"before '{after}'" if after else "in the notebook"


def repair(notebook, released):
    """Restore, in place, the metadata of the graded cells of ``notebook`` that lost it, and say so in a
    :class:`Repaired`; None when nothing needed restoring (or a copied graded cell makes matching pointless:
    the reader reports the copy). Raises :class:`CannotRepair` when a cell cannot be placed with certainty."""
    match = _Matching(notebook.cells, released)
    if not _by_metadata(match):
        return None
    _by_content(match)
    stripped_whole = not any("nbgrader" in cell.get("metadata", {}) for cell in match.cells)
    if not stripped_whole and not any(how == "content" and released[r].role for r, how in match.how.items()):
        return None  # no graded cell lost its metadata: cells without it are the student's own, left alone
    anchors = sorted(match.pairs.items())
    if not anchors:
        match.problems.append("none of its cells matches the released notebook")
    elif any(a[1] > b[1] for a, b in zip(anchors, anchors[1:])):
        moved = next(b[0] for a, b in zip(anchors, anchors[1:]) if a[1] > b[1])
        what = f"the cell '{released[moved].grade_id}'" if released[moved].grade_id else "a cell"
        match.problems.append(f"{what} was moved from its place in the released notebook "
                              f"({match.where(moved, moved + 1)})")
    else:
        for (r0, s0), (r1, s1) in zip([(-1, -1)] + anchors, anchors + [(len(released), len(match.cells))]):
            _place_gap(match, range(r0 + 1, r1), range(s0 + 1, s1))
    restored = [r for r, s in match.pairs.items() if released[r].role and "nbgrader" not in match.cells[s].metadata]
    if match.problems:
        raise CannotRepair("its cells have lost their grading metadata (a tool dropped it when saving), and the "
                           f"grader cannot put it back with certainty: {match.problems[0]}; {ADVICE}")
    _restore(match, restored)
    return Repaired(f"the grading metadata of {_count(len(restored), 'graded cell')} was lost (a tool dropped it "
                    "when saving)", _fix(match, restored))


def _by_metadata(match):
    """Pair the cells that kept their metadata; False when nothing is missing or a graded cell is copied."""
    index = {cell.grade_id: r for r, cell in enumerate(match.released) if cell.role}
    for s, cell in enumerate(match.cells):
        r = index.get(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"))
        if r in match.pairs:
            return False
        if r is not None:
            match.pair(r, s, "metadata")
    return len(match.pairs) < len(index)


def _by_content(match):
    """Pair each released cell with the one bare cell of the same content, where both are unique."""
    released = Counter(cell.sha256 for cell in match.released)
    bare = [s for s in range(len(match.cells)) if match.bare(s)]
    submitted = Counter(fingerprint(match.cells[s]) for s in bare)
    by_print = {fingerprint(match.cells[s]): s for s in bare}
    for r, cell in enumerate(match.released):
        s = by_print.get(cell.sha256)
        if r not in match.pairs and s is not None and released[cell.sha256] == submitted[cell.sha256] == 1 \
                and match.cells[s].cell_type == cell.cell_type:
            match.pair(r, s, "content")


def _place_gap(match, released_range, submitted_range):
    """Between two matched cells: answers by the names they define, then other graded cells by their place."""
    open_cells = [s for s in submitted_range if match.bare(s)]
    for r in released_range:
        if match.released[r].role == "answer" and r not in match.pairs:
            _place_answer(match, r, open_cells, released_range)
    left = [r for r in released_range if r not in match.pairs]
    open_cells = [s for s in open_cells if match.bare(s)]
    for cell_type in sorted({match.released[r].cell_type for r in left}):
        wanted = [r for r in left if match.released[r].cell_type == cell_type]
        found = [s for s in open_cells if match.cells[s].cell_type == cell_type]
        graded = [match.released[r].grade_id for r in wanted if match.released[r].role]
        if not graded or not found:
            continue  # nothing graded to place here, or the graded cells were deleted: the reader notes them
        unnamed = [match.released[r] for r in wanted if match.released[r].role == "answer"]
        where = match.where(released_range.start, released_range.stop)
        if unnamed:
            match.problems.append(f"no cell {where} starts with `def {unnamed[0].defines[0]}` or "
                                  f"`class {unnamed[0].defines[0]}`, so its answer cannot be found")
        elif len(found) != len(wanted):
            match.problems.append(f"{where} there are {len(found)} {_kind(cell_type)} cells where the released "
                                  f"notebook has {len(wanted)}, so the cell '{graded[0]}' cannot be told apart")
        else:
            for r, s in zip(wanted, found):
                match.pair(r, s, "place")
    _check_order(match, released_range)


def _place_answer(match, r, open_cells, released_range):
    """Pair the answer cell ``r`` with the one open cell defining its names; else note why not."""
    names = match.released[r].defines
    if not names:
        return  # a stub that defines nothing can only be matched by content
    defining = [s for s in open_cells if match.bare(s) and set(names) <= set(definitions(match.cells[s]))]
    others = {n for cell in match.released if cell.role == "answer" for n in cell.defines} - set(names)
    where = match.where(released_range.start, released_range.stop)
    if len(defining) > 1:
        match.problems.append(f"{len(defining)} cells {where} define `{names[0]}`; keep one")
    elif defining and others & set(definitions(match.cells[defining[0]])):
        both = sorted(others & set(definitions(match.cells[defining[0]])))[0]
        match.problems.append(f"one cell defines both `{names[0]}` and `{both}`; each needs its own cell")
    elif defining:
        match.pair(r, defining[0], "name")
    elif any(match.bare(s) and set(names) <= set(definitions(match.cells[s])) for s in range(len(match.cells))):
        match.problems.append(f"the cell defining `{names[0]}` is not in its place ({where})")


def _check_order(match, released_range):
    placed = [match.pairs[r] for r in released_range if r in match.pairs]
    if placed != sorted(placed):
        match.problems.append(f"the cells {match.where(released_range.start, released_range.stop)} are not in "
                              "the order of the released notebook")


def _kind(cell_type):
    return {"markdown": "Markdown", "code": "code"}.get(cell_type, cell_type)


def _restore(match, restored):
    taken = {cell.get("id") for cell in match.cells}
    for r in restored:
        cell, original = match.cells[match.pairs[r]], match.released[r]
        cell.metadata = {**cell.metadata, **copy.deepcopy(original.metadata)}
        if "id" in cell and original.id and original.id not in taken:  # nbformat 4.5 notebooks have cell ids
            taken.discard(cell.id)
            cell.id = original.id
            taken.add(cell.id)


def _fix(match, restored):
    """How the cells were recognised: the surer ways first; those recognised by their place are named."""
    counts = Counter(match.how[r] for r in restored)
    ways = [f"{counts['content']} by {_their(counts['content'])} content"] if counts["content"] else []
    if counts["name"]:
        ways.append(f"{_count(counts['name'], 'answer cell')} by the {_count_noun(counts['name'], 'name')} "
                    f"{'it defines' if counts['name'] == 1 else 'they define'}")
    placed = [match.released[r].grade_id for r in restored if match.how[r] == "place"]
    if placed:
        ways.append(f"{len(placed)} by {_their(len(placed))} place ({', '.join(repr(p) for p in placed)})")
    return f"it is restored from the released notebook, recognising {_and(ways)}"


def _their(n):
    return "its" if n == 1 else "their"


def _count_noun(n, noun):
    return noun if n == 1 else noun + "s"


def _count(n, noun):
    return f"{n} {_count_noun(n, noun)}"


def _and(parts):
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
