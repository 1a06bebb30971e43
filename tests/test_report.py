"""The class report (autograder/report): its numbers are the records', it needs no network, it escapes what
students wrote, and two runs give the same bytes. No kernel: the class is built from records by hand."""
import base64
import re
import statistics
from collections import Counter
from html.parser import HTMLParser

import matplotlib
import pytest

from autograder import export, records
from autograder.course import autograded_tests
from autograder.records import STATUSES, FinalGrade, Graded, Lateness, NotebookResult, Student, StudentResult
from autograder.report import render_report, write_report
from autograder.report.page import SHORT_MESSAGE, TOP_FAILURES

TESTS = autograded_tests()
MANUAL_MAX = 10.0
CANVAS = "a Canvas download"  # the intake reader's TITLE
HOSTILE = "<script>alert('x')</script>"
LONG = "expected a tensor of shape (B,) holding one KL divergence per pair of Gaussians, got " + "(3, 3) " * 30


def _student(sid, status="ok", failed=(), manual=None, name="", notebooks=None, hours=0.0, fraction=0.0,
             late=False):
    """A graded student: full points but on ``failed`` (test id → message), which score nothing."""
    notebooks = notebooks or {}
    tests = {}
    for notebook, test_id, points in TESTS:
        if notebooks.get(notebook, "ok") != "ok":
            tests[test_id] = records.TestResult(0.0, points, f"{notebook}.ipynb could not be graded")
        elif test_id in failed:
            tests[test_id] = records.TestResult(0.0, points, failed[test_id])
        else:
            tests[test_id] = records.TestResult(points, points)
    score, max_score = sum(t.score for t in tests.values()), sum(t.max_score for t in tests.values())
    result = StudentResult(sid, status, score, max_score, tests,
                           {nb: NotebookResult(s, f"{nb}.ipynb is {s}" if s != "ok" else "")
                            for nb, s in notebooks.items()},
                           errors=[f"{nb}.ipynb is {s}" for nb, s in notebooks.items() if s != "ok"])
    penalty = round(fraction * (score + (manual or 0)), 2)
    final = FinalGrade(manual, MANUAL_MAX, penalty, score + (manual or 0) - penalty, max_score + MANUAL_MAX,
                       Lateness(hours, fraction, f"{hours:g} h late" if hours else ""))
    return Graded(Student(sid, name, late=late, submitted_at="2026-11-30T23:59:00+00:00"), result, final)


def _class():
    kl = [t for nb, t, _ in TESTS if nb == "KL_derivation"]
    vae = [t for nb, t, _ in TESTS if nb == "VAE"]
    return [
        _student("ada", manual=9.0, name="Ada Lovelace"),
        _student("ben", failed={kl[0]: "wrong shape", kl[1]: "wrong sign", vae[0]: LONG}, manual=4.5),
        _student("cy", failed={kl[0]: "wrong shape", vae[0]: HOSTILE}, name=HOSTILE, hours=26.0, fraction=0.1,
                 late=True),
        _student("dee", "invalid", failed={kl[0]: "wrong sign"}, notebooks={"KL_derivation": "ok", "VAE": "invalid"},
                 manual=6.0, late=True),
        _student("eve", "missing", notebooks={"KL_derivation": "missing", "VAE": "missing"}),
        _student("fay", "timeout", failed={kl[0]: "wrong shape"}, notebooks={"KL_derivation": "ok", "VAE": "timeout"},
                 manual=10.0, name="Fay Ó Briain"),
        # five more messages on one test: one more than a row shows
        *(_student(f"gus{i}", failed={kl[1]: f"expected 0.44, got {i / 10}"}) for i in range(5)),
    ]


class Page(HTMLParser):
    """What the tests read of the page: the numbers it marks, its rows and its images."""

    def __init__(self, text):
        super().__init__()
        self.numbers, self.failures, self.rows, self.images, self.status_of = {}, {}, {}, [], {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("data-key", "").endswith(".failure"):
            self.failures.setdefault(a["data-key"], {})[a["data-message"]] = int(a["data-value"])
        elif "data-key" in a:
            assert a["data-key"] not in self.numbers, a["data-key"]
            self.numbers[a["data-key"]] = float(a["data-value"]) if a["data-value"] else None
        if tag == "tr" and "data-total" in a:
            self.rows[a["data-student"]] = a
        if "data-status" in a and tag != "tr":
            self.status_of[a["data-student"]] = a["data-status"]
        if tag == "img":
            self.images.append(a)


@pytest.fixture(scope="module")
def graded():
    return _class()


@pytest.fixture(scope="module")
def page(graded):
    return render_report(graded, TESTS, source_format=CANVAS)


def test_the_pages_numbers_are_the_records(graded, page):
    seen = Page(page)
    totals = [g.final.total for g in graded]
    assert seen.numbers["students"] == len(graded)
    assert seen.numbers["total.mean"] == statistics.fmean(totals)
    assert seen.numbers["total.median"] == statistics.median(totals)
    assert (seen.numbers["total.lowest"], seen.numbers["total.highest"]) == (min(totals), max(totals))
    for g in graded:  # the class table holds what grades.json holds, and the final grade
        row, kept = seen.rows[g.student.id], g.result.summary()
        assert row["data-status"] == kept["status"] and seen.status_of[g.student.id] == kept["status"]
        assert float(row["data-score"]) == kept["score"] and float(row["data-max-score"]) == kept["max_score"]
        assert float(row["data-total"]) == g.final.total and float(row["data-penalty"]) == g.final.penalty
        assert row["data-manual"] == ("" if g.final.manual is None else repr(g.final.manual))
    for status in STATUSES:
        assert seen.numbers[f"status.{status}"] == sum(g.result.status == status for g in graded)
    for notebook in {nb for nb, _, _ in TESTS}:
        points = [sum(g.result.tests[t].score for nb, t, _ in TESTS if nb == notebook) for g in graded]
        assert seen.numbers[f"notebook.{notebook}.mean"] == statistics.fmean(points)


def test_each_test_counts_full_points_and_groups_failures_word_for_word(graded, page):
    seen = Page(page)
    for notebook, test_id, points in TESTS:
        scores = [g.result.tests[test_id] for g in graded]
        assert seen.numbers[f"test.{test_id}.points"] == points
        assert seen.numbers[f"test.{test_id}.full"] == sum(t.score == points for t in scores)
        assert seen.numbers[f"test.{test_id}.mean"] == statistics.fmean(t.score for t in scores)
        ran = [g for g in graded if g.result.notebooks.get(notebook, NotebookResult("ok")).status == "ok"]
        expected = Counter(g.result.tests[test_id].message for g in ran if g.result.tests[test_id].score < points)
        assert seen.failures.get(f"test.{test_id}.failure", {}) == dict(expected)
        assert seen.numbers.get(f"test.{test_id}.not_run", 0) == len(graded) - len(ran)
    kl_first = TESTS[0][1]
    assert seen.failures[f"test.{kl_first}.failure"] == {"wrong shape": 3, "wrong sign": 1}
    assert TOP_FAILURES == 5 and "<summary>Other messages: 1, from 1 student</summary>" in page  # 6 on TESTS[1]


def test_hand_graded_part_and_lateness(graded, page):
    seen = Page(page)
    manual = [g.final.manual for g in graded if g.final.manual is not None]
    assert seen.numbers["manual.graded"] == len(manual) == 4
    assert seen.numbers["manual.mean"] == statistics.fmean(manual)
    assert seen.numbers["manual.median"] == statistics.median(manual)
    assert f"read from {CANVAS}" in page
    assert seen.numbers["late.count"] == 2  # cy after the deadline, dee flagged late by the LMS
    assert seen.numbers["late.penalised"] == 1
    assert seen.numbers["late.points_off"] == sum(g.final.penalty for g in graded)


def test_figures_are_embedded_pngs_with_their_numbers_in_the_alt_text(graded, page):
    images = Page(page).images
    assert len(images) == 2 + len({nb for nb, _, _ in TESTS})  # totals, hand-graded, one per notebook
    for image in images:
        assert image["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(image["src"].split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    totals = [g.final.total for g in graded]
    mean, median = export.points(statistics.fmean(totals)), export.points(statistics.median(totals))
    assert f"mean {mean}, median {median}" in images[0]["alt"]


def test_the_page_needs_no_network(page):
    outside_figures = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert not re.search(r"https?:|//", outside_figures, re.IGNORECASE)
    assert not re.search(r"<(script|link|iframe|object)\b", page, re.IGNORECASE)
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', page))


def test_what_students_wrote_is_shown_as_text(page):
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page  # the message and the name, as text
    assert "Fay Ó Briain" in page


def test_a_long_message_is_shortened_in_the_table_and_whole_a_click_away(page):
    assert f"<summary>{LONG[:SHORT_MESSAGE]}&hellip;</summary><pre>{LONG}</pre>" in page


def test_two_runs_give_the_same_bytes_whatever_the_users_matplotlib_settings(graded, page, tmp_path):
    with matplotlib.rc_context({"font.size": 20, "figure.facecolor": "black", "lines.linewidth": 7}):
        write_report(tmp_path / "report.html", list(reversed(graded)), TESTS, CANVAS)
    assert (tmp_path / "report.html").read_bytes() == page.encode("utf-8")


def test_an_empty_class_gets_a_page_without_figures_and_lateness_only_from_an_lms_export():
    plain, canvas = render_report([], TESTS), render_report([], TESTS, source_format=CANVAS)
    assert Page(plain).numbers["students"] == 0 and Page(plain).images == []
    assert 'id="lateness"' not in plain  # a plain folder of submissions has no dates
    assert Page(canvas).numbers["late.count"] == 0
