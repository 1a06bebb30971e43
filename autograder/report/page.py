"""The class report's page: the summary's numbers and figures through templates/report.html.j2."""
from __future__ import annotations

import jinja2

from hw4.course import ASSIGNMENT

from ..records import STATUSES
from .figures import MANUAL, NOTEBOOK, TOTALS, fmt, histogram, students
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
    them; ``source_format`` names the LMS export the run read, if any (the page then shows lateness)."""
    from ..grade import write_atomic  # imported here: grade writes the report, and imports this module

    write_atomic(path, render_report(graded, tests, source_format))


def render_report(graded, tests, source_format=None):
    """The page as text: self-contained (styles inline, figures as data URIs) and all ASCII, non-ASCII
    characters as HTML character references, so that it reads the same whatever the machine's encoding."""
    summary = summarize(graded, tests, source_format)
    figures = {spread.key: histogram(spread, size) for spread, size in
               [(summary.totals, TOTALS), (summary.manual, MANUAL)] + [(s, NOTEBOOK) for s in summary.notebooks]}
    text = _environment().get_template("report.html.j2").render(
        assignment=ASSIGNMENT, summary=summary, figures=figures, meaning=STATUS_MEANING,
        short=SHORT_MESSAGE, top=TOP_FAILURES)
    return text.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _environment():
    env = jinja2.Environment(loader=jinja2.PackageLoader("autograder.report", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["num"] = lambda x: "–" if x is None else fmt(x)
    env.filters["exact"] = lambda x: "" if x is None else repr(float(x))  # for data-value: full precision
    env.filters["students"] = students
    env.filters["percent"] = lambda x: "–" if x is None else f"{100 * x:.0f} %"
    return env
