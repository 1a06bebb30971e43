"""Deadlines and the late policy (autograder/deadlines.py) and the late note on the feedback page.

No kernel, no gradebook: a Student record and a Policy are all that lateness depends on."""
import json

import pytest

from autograder.deadlines import (
    LateRule,
    Policy,
    PolicyError,
    lateness,
    parse_time,
    policy_from_options,
    read_extensions,
)
from autograder.export.late_notes import add_late_banner
from autograder.records import Lateness, Student

DUE = "2026-12-01T23:59-05:00"


def handed_in(at, sid="s1", **more):
    return Student(sid, name="Zoë Łukasiewicz", submitted_at=at, **more)


def policy(late="10%/day", **more):
    return policy_from_options(due=DUE, late_policy=late, **more)


@pytest.mark.parametrize("text, utc", [
    ("2026-12-01T23:59-05:00", "2026-12-02T04:59:00+00:00"),
    ("2026-12-02T04:59Z", "2026-12-02T04:59:00+00:00"),
    ("2026-12-01T23:59 America/New_York", "2026-12-02T04:59:00+00:00"),  # EST in December
    ("2026-07-01T23:59 America/New_York", "2026-07-02T03:59:00+00:00"),  # EDT in July
])
def test_due_dates_need_a_time_zone_and_mean_one_moment(text, utc):
    from datetime import timezone
    assert parse_time(text).astimezone(timezone.utc).isoformat() == utc


@pytest.mark.parametrize("text, says", [
    ("2026-12-01T23:59", "has no time zone"),
    ("2026-12-01", "has no time zone"),
    ("next friday", "is not a date and time"),
    ("2026-12-01T23:59 Mars/Olympus", "is not a time zone name"),
    ("2026-12-01T23:59-05:00 America/New_York", "both a UTC offset and a time zone"),
])
def test_a_due_date_that_cannot_be_one_moment_is_refused_with_the_reason(text, says):
    with pytest.raises(PolicyError, match=says):
        parse_time(text)


@pytest.mark.parametrize("text, says", [
    ("10%/week", "none of"), ("10/day", "not a percentage"), ("150%/day", "not a percentage"),
    ("cap=30", "not a percentage"), ("zero-after=3 days", "not a duration"), ("10%/day,5%/hour", "twice"),
])
def test_a_late_policy_in_another_syntax_is_refused_with_the_reason(text, says):
    with pytest.raises(PolicyError, match=says):
        LateRule.parse(text)


def test_the_late_policy_is_written_back_as_read():
    for text in ("10%/day", "2%/hour,cap=30%", "10%/day,cap=50%,zero-after=5d,grace=15min", "none"):
        assert str(LateRule.parse(text)) == text
    assert str(LateRule.parse(" zero-after=72h , 10%/Day ")) == "10%/day,zero-after=3d"


def test_a_late_policy_or_extensions_without_a_deadline_is_refused():
    with pytest.raises(PolicyError, match="need --due"):
        policy_from_options(late_policy="10%/day")


def test_on_time_costs_nothing_and_says_nothing():
    assert lateness(handed_in("2026-12-01T23:00-05:00"), policy()) == Lateness()
    assert lateness(handed_in("2026-12-02T04:59+00:00"), policy()) == Lateness()  # the deadline itself, in UTC


def test_each_started_day_costs_the_daily_rate():
    late = lateness(handed_in("2026-12-03T02:59-05:00"), policy())  # 1 day 3 h late: two started days
    assert late.hours == 27 and late.fraction == pytest.approx(0.2)
    assert late.note == ("Handed in 1 day 3 h after the deadline (2026-12-01 23:59 UTC\u221205:00): "
                         "\u221220 % of the total (10 % per started day).")
    one_minute = lateness(handed_in("2026-12-02T00:00-05:00"), policy())
    assert one_minute.fraction == pytest.approx(0.1) and "1 min after" in one_minute.note


def test_an_hourly_rate_a_cap_and_zero_after():
    rule = "2%/hour,cap=30%,zero-after=3d"
    assert lateness(handed_in("2026-12-02T02:30-05:00"), policy(rule)).fraction == pytest.approx(0.06)  # 3 started h
    capped = lateness(handed_in("2026-12-03T23:59-05:00"), policy(rule))
    assert capped.fraction == pytest.approx(0.3) and "at most 30 %" in capped.note
    zero = lateness(handed_in("2026-12-05T00:00-05:00"), policy(rule))
    assert zero.fraction == 1 and "more than 3 days late: no credit" in zero.note


def test_a_grace_period_forgives_only_what_falls_within_it():
    rule = "10%/day,grace=15min"
    within = lateness(handed_in("2026-12-02T00:10-05:00"), policy(rule))
    assert within.fraction == 0 and "within the 15 min grace period: no penalty" in within.note
    assert lateness(handed_in("2026-12-02T00:20-05:00"), policy(rule)).fraction == pytest.approx(0.1)


def test_an_extension_moves_that_students_deadline_only(tmp_path):
    extensions = tmp_path / "extensions.csv"
    extensions.write_text("\ufeffstudent_id,due\ns1,2026-12-04T23:59-05:00\n", encoding="utf-8")
    rules = policy(extensions=str(extensions))
    at = "2026-12-03T02:59-05:00"
    assert lateness(handed_in(at, "s1"), rules) == Lateness()
    assert lateness(handed_in(at, "s2"), rules).fraction == pytest.approx(0.2)
    later = lateness(handed_in("2026-12-05T01:00-05:00", "s1"), rules)
    assert later.fraction == pytest.approx(0.1) and "after your extended deadline" in later.note


@pytest.mark.parametrize("text, says", [
    ("id,due\ns1,2026-12-04T23:59-05:00\n", "must start with the header"),
    ("student_id,due\ns1,2026-12-04T23:59\n", "line 2: due .* has no time zone"),
    ("student_id,due\ns1,2026-12-04T23:59Z\ns1,2026-12-05T23:59Z\n", "line 3: a second extension for s1"),
])
def test_a_bad_extensions_file_is_refused_with_its_line(tmp_path, text, says):
    path = tmp_path / "extensions.csv"
    path.write_text(text)
    with pytest.raises(PolicyError, match=says):
        read_extensions(path)


def test_a_late_flag_without_a_time_costs_the_flagged_penalty():
    flagged = Student("s3", late=True)  # e.g. Canvas's _LATE_ in the file name, no time recorded
    late = lateness(flagged, policy(flagged_penalty="10%"))
    assert late.fraction == pytest.approx(0.1) and late.note.startswith("Marked late")
    assert lateness(flagged, policy()) == Lateness()  # no penalty stated for flags: none taken
    assert lateness(Student("s3"), policy(flagged_penalty="10%")) == Lateness()
    # the time, where there is one, decides, not the flag
    assert lateness(handed_in("2026-12-01T20:00-05:00", late=True), policy(flagged_penalty="10%")) == Lateness()


def test_the_policy_is_saved_in_dir_and_read_back(tmp_path):
    extensions = tmp_path / "extensions.csv"
    extensions.write_text("student_id,due\nß-1,2026-12-04T23:59 Europe/Berlin\n", encoding="utf-8")
    saved = policy("10%/day,cap=50%,zero-after=5d,grace=15min", flagged_penalty="12.5%", extensions=str(extensions))
    path = saved.save(tmp_path)
    assert path.name == "policy.json"
    saved_text = json.loads(path.read_text(encoding="utf-8"))["late_policy"]
    assert saved_text == "10%/day,cap=50%,zero-after=5d,grace=15min"
    assert Policy.load(tmp_path) == saved
    assert Policy.load(tmp_path / "nowhere") == Policy()  # no policy: no deadline, no penalty


PAGE = '<!DOCTYPE html>\n<html>\n<head><title>VAE</title></head>\n<body class="jp-Notebook">\n<p>42</p>\n</body>\n</html>\n'


def test_the_late_note_heads_the_feedback_page_once():
    late = lateness(handed_in("2026-12-03T02:59-05:00"), policy())
    page = add_late_banner(PAGE, late)
    body = page.index('<body class="jp-Notebook">')
    assert body < page.index('role="note"') < page.index("<p>42</p>")
    assert "1 day 3 h after the deadline" in page and "&lt;" not in page
    assert add_late_banner(page, late) == page  # a second run replaces, never stacks
    assert add_late_banner(page, Lateness()) == PAGE  # on time after a regrade: the note goes
    assert add_late_banner(PAGE, Lateness()) == PAGE
