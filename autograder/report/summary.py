"""The class report's numbers, computed from ``Graded`` records only (as grades.json is), one record a part.

Nothing here formats or draws: ``figures`` draws these numbers and the template prints them.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass

from ..records import STATUSES


@dataclass(frozen=True)
class Spread:
    """One number over students (a total, a notebook's points), out of ``maximum``."""

    key: str  # names it in the page's data attributes: "total", "notebook.VAE", "manual"
    title: str
    values: tuple[float, ...]
    maximum: float

    @property
    def count(self):
        return len(self.values)

    @property
    def mean(self):
        return statistics.fmean(self.values) if self.values else None

    @property
    def median(self):
        return statistics.median(self.values) if self.values else None

    @property
    def lowest(self):
        return min(self.values, default=None)

    @property
    def highest(self):
        return max(self.values, default=None)


@dataclass(frozen=True)
class Failure:
    """One verdict, word for word, and the students who got it."""

    message: str
    students: tuple[str, ...]  # ids, sorted

    @property
    def count(self):
        return len(self.students)


@dataclass(frozen=True)
class TestSummary:
    """How the class did on one autograded test."""

    notebook: str
    test_id: str
    points: float
    mean: float | None  # over the whole class
    full: int  # students with full points
    students: int  # the whole class
    failures: tuple[Failure, ...]  # from students whose notebook ran, most common first
    not_run: tuple[str, ...]  # ids of students whose notebook was not graded (see the statuses)

    @property
    def share(self):
        return self.full / self.students if self.students else None


@dataclass(frozen=True)
class StatusGroup:
    status: str
    students: tuple  # Graded records, by id


@dataclass(frozen=True)
class LateSummary:
    """The late students (after the deadline, or flagged late by the LMS) and what it cost them."""

    late: tuple  # Graded records with hours > 0 or the LMS's late flag, by id
    penalised: int
    points_off: float  # all penalties together


@dataclass(frozen=True)
class ClassSummary:
    graded: tuple  # the Graded records, by student id
    students: int
    totals: Spread
    notebooks: tuple[Spread, ...]
    tests: tuple[TestSummary, ...]
    statuses: tuple[StatusGroup, ...]  # every status, in the contract's order, empty ones too
    manual: Spread  # hand-graded points of the students graded so far
    not_hand_graded: tuple  # Graded records, by id
    lateness: LateSummary | None  # only when the run read an LMS export
    source_format: str | None


def summarize(graded, tests, source_format=None):
    """The report's numbers for ``graded`` (Graded records) and ``tests`` ((notebook, test id, points))."""
    graded = sorted(graded, key=lambda g: g.student.id)
    max_total = max((g.final.max_total for g in graded), default=0.0)
    manual_max = max((g.final.manual_max for g in graded), default=0.0)
    hand_graded = [g for g in graded if g.final.manual is not None]
    return ClassSummary(
        graded=tuple(graded),
        students=len(graded),
        totals=Spread("total", "Totals", tuple(g.final.total for g in graded), max_total),
        notebooks=tuple(_notebook_spreads(graded, tests)),
        tests=tuple(_test_summary(graded, test) for test in tests),
        statuses=tuple(StatusGroup(s, tuple(g for g in graded if g.result.status == s)) for s in STATUSES),
        manual=Spread("manual", "Hand-graded points", tuple(g.final.manual for g in hand_graded), manual_max),
        not_hand_graded=tuple(g for g in graded if g.final.manual is None),
        lateness=_lateness(graded) if source_format else None,
        source_format=source_format)


def notebook_status(result, notebook):
    """The notebook's own status; a result without per-notebook entries (a rejected upload) gives its own."""
    entry = result.notebooks.get(notebook)
    return entry.status if entry else result.status


def points_on(result, test_id):
    """The student's points on a test; a test the result does not list scored nothing."""
    entry = result.tests.get(test_id)
    return entry.score if entry else 0.0


def _notebook_spreads(graded, tests):
    by_notebook = defaultdict(list)
    for notebook, test_id, points in tests:
        by_notebook[notebook].append((test_id, points))
    for notebook, items in by_notebook.items():
        values = tuple(sum(points_on(g.result, t) for t, _ in items) for g in graded)
        yield Spread(f"notebook.{notebook}", f"{notebook}: autograded points", values, sum(p for _, p in items))


def _test_summary(graded, test):
    notebook, test_id, points = test
    ran = [g for g in graded if notebook_status(g.result, notebook) == "ok"]
    not_run = tuple(g.student.id for g in graded if notebook_status(g.result, notebook) != "ok")
    full = sum(points_on(g.result, test_id) >= points for g in graded)
    by_message = defaultdict(list)
    for g in ran:
        entry = g.result.tests.get(test_id)
        if entry is None or entry.score < points:
            by_message[entry.message if entry else ""].append(g.student.id)
    # most students first; equal counts by message, so that two runs list them alike
    failures = sorted((Failure(m, tuple(ids)) for m, ids in by_message.items()), key=lambda f: (-f.count, f.message))
    scores = [points_on(g.result, test_id) for g in graded]
    return TestSummary(notebook, test_id, points, statistics.fmean(scores) if scores else None, full, len(graded),
                       tuple(failures), not_run)


def _lateness(graded):
    late = tuple(g for g in graded if g.final.lateness.hours > 0 or g.student.late)
    return LateSummary(late, sum(g.final.penalty > 0 for g in graded), sum(g.final.penalty for g in graded))
