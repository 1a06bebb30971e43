"""The class report's page: the summary's numbers and figures through autograder/templates/report.html.j2."""
from __future__ import annotations

from hw4.course import ASSIGNMENT

from ..export import points
from ..files import write_atomic
from ..pages import render
from ..records import STATUSES
from .figures import MANUAL, NOTEBOOK, TOTALS, histogram, students
from .summary import summarize

SHORT_MESSAGE = 120  # characters of a failure message the table shows; the whole one is a click away
TOP_FAILURES = 5  # messages a test's row shows; the others are a click away

STATUS_MEANING = {
    "ok": "every notebook ran to the end",
    "timeout": "a notebook ran past the time limit",
    "crashed": "a notebook's kernel died or the grader could not finish it",
    "invalid": "a notebook could not be graded as handed in: damaged, stripped, renamed, too large or not a file",
    "missing": "a notebook was not handed in",
}
assert set(STATUS_MEANING) == set(STATUSES)


def write_report(path, graded, tests, source_format=None):
    """Write the class report for ``graded`` (Graded records) to ``path``.

    ``tests`` are the autograded tests, (notebook, test id, points) as ``course.autograded_tests()`` gives
    them; ``source_format`` describes the LMS export the run read, as its intake reader's TITLE does ("a Canvas
    download"), and is None for a plain folder of submissions: only an export dates them, so only then does the
    page show lateness."""
    write_atomic(path, render_report(graded, tests, source_format))


def render_report(graded, tests, source_format=None):
    """The page as text, self-contained: styles inline, figures as data URIs."""
    summary = summarize(graded, tests, source_format)
    figures = {spread.key: histogram(spread, size) for spread, size in
               [(summary.totals, TOTALS), (summary.manual, MANUAL)] + [(s, NOTEBOOK) for s in summary.notebooks]}
    return render("report.html.j2", assignment=ASSIGNMENT, summary=summary, figures=figures,
                  meaning=STATUS_MEANING, short=SHORT_MESSAGE, top=TOP_FAILURES,
                  num=_num, exact=_exact, percent=_percent, students=students)


def _num(x):
    """A number for reading (as every output writes points); a dash for none."""
    return "–" if x is None else points(x)


def _exact(x):
    """A number for the page's data-value attributes: every digit, so that a reader gets the record's value."""
    return "" if x is None else repr(float(x))


def _percent(x):
    return "–" if x is None else f"{100 * x:.0f} %"
