"""Deadlines and the late policy: when each student's homework was due, and what handing it in late costs.

The instructor states them when grading (``add_options`` gives `hw4 grade` its options); ``hw4 grade`` saves
the :class:`Policy` as DIR/policy.json, and `hw4 export` reads it back, so a later export needs no options.

Late-policy syntax (docs/grades.md has the instructor's version): comma-separated terms, in any order,
    R%/day  or  R%/hour   R per cent of the total for every day (hour) or part of one after the deadline
    cap=P%                the penalty never exceeds P per cent
    zero-after=D          handed in more than D after the deadline: no credit
    grace=D               handed in at most D after the deadline: on time (lateness still counts from the deadline)
where D is a number and a unit: d (days), h (hours) or min (minutes). "none" or "" is no penalty.
Example: ``10%/day,cap=50%,zero-after=5d,grace=15min``.
"""
from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .records import Lateness

POLICY_FILE = "policy.json"  # in DIR, written by `hw4 grade`, read by `hw4 export`
UNITS = {"d": 86400, "h": 3600, "min": 60}  # seconds in each duration unit of the syntax
RATE_UNITS = {"day": 86400, "hour": 3600}
MINUS = "\u2212"  # the minus sign students read, not a hyphen


class PolicyError(ValueError):
    """A deadline, late policy or extension the instructor gave that cannot be read; says which and why."""


def parse_time(text, what="--due"):
    """An aware datetime from ISO 8601 with a UTC offset (``2026-12-01T23:59-05:00``, ``...Z``) or followed by
    a space and an IANA time zone (``2026-12-01T23:59 America/New_York``); a time without a zone is refused,
    for it means a different moment on every machine."""
    text = str(text).strip()
    stamp, _, zone = text.partition(" ")
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        raise PolicyError(f"{what} {text!r} is not a date and time: write it as in 2026-12-01T23:59-05:00") from None
    if zone:
        if moment.tzinfo is not None:
            raise PolicyError(f"{what} {text!r} gives both a UTC offset and a time zone: give one")
        try:
            moment = moment.replace(tzinfo=ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise PolicyError(f"{what} {text!r}: {zone!r} is not a time zone name (e.g. America/New_York)") from None
    if moment.tzinfo is None:
        raise PolicyError(f"{what} {text!r} has no time zone: add the UTC offset, as in 2026-12-01T23:59-05:00 "
                          "(or 2026-12-01T23:59Z for UTC)")
    return moment


def parse_percent(text, what):
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", str(text))
    if not match or float(match[1]) > 100:
        raise PolicyError(f"{what} {text!r} is not a percentage from 0% to 100%, such as 10%")
    return float(match[1]) / 100


def parse_duration(text, what):
    """Seconds in ``3d``, ``12h``, ``15min``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(d|h|min)\s*", str(text))
    if not match:
        raise PolicyError(f"{what} {text!r} is not a duration: a number and d, h or min, such as 3d or 15min")
    return round(float(match[1]) * UNITS[match[2]])


def _percent(fraction):
    return f"{fraction * 100:g}%"


def _duration(seconds):
    """The shortest spelling of ``seconds`` in the syntax's units."""
    for unit, size in UNITS.items():
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds / 60:g}min"


@dataclass(frozen=True)
class LateRule:
    """What lateness costs, as a fraction of the total: ``rate`` per started ``unit`` (seconds), at most
    ``cap``; all of it after ``zero_after`` seconds; nothing within ``grace`` seconds."""

    rate: float = 0.0
    unit: int = RATE_UNITS["day"]
    cap: float = 1.0
    zero_after: int | None = None
    grace: int = 0

    @classmethod
    def parse(cls, text):
        terms = {}
        for term in filter(None, (t.strip() for t in str(text or "").lower().split(","))):
            key, value = _term(term)
            if key in terms:
                raise PolicyError(f"late policy {text!r} gives {key} twice")
            terms[key] = value
        if "rate" in terms:
            terms["rate"], terms["unit"] = terms["rate"]
        return cls(**terms)

    def __str__(self):
        unit = next(name for name, size in RATE_UNITS.items() if size == self.unit)
        terms = [f"{_percent(self.rate)}/{unit}"] if self.rate else []
        terms += [f"cap={_percent(self.cap)}"] if self.cap < 1 else []
        terms += [f"zero-after={_duration(self.zero_after)}"] if self.zero_after is not None else []
        terms += [f"grace={_duration(self.grace)}"] if self.grace else []
        return ",".join(terms) or "none"

    def fraction(self, seconds):
        """The fraction of the total taken off for handing in ``seconds`` after the deadline."""
        if seconds <= self.grace:
            return 0.0
        if self.zero_after is not None and seconds > self.zero_after:
            return 1.0
        started = math.ceil(seconds / self.unit)  # a part of a day (hour) counts as a whole one
        return round(min(self.cap, self.rate * started), 6)

    def describe(self):
        """The rule in words, for the student: '10 % per started day, at most 50 %'."""
        unit = "day" if self.unit == RATE_UNITS["day"] else "hour"
        words = [f"{self.rate * 100:g} % per started {unit}"] if self.rate else []
        words += [f"at most {self.cap * 100:g} %"] if self.rate and self.cap < 1 else []
        return ", ".join(words)


def _term(term):
    """One term of the late-policy syntax → (LateRule field, value)."""
    if term.lower() == "none":
        return "rate", (0.0, RATE_UNITS["day"])
    rate = re.fullmatch(r"(.+)/(day|hour)", term)
    if rate:
        return "rate", (parse_percent(rate[1], "late-policy rate"), RATE_UNITS[rate[2]])
    key, sep, value = term.partition("=")
    parsers = {"cap": lambda v: parse_percent(v, "cap"), "zero-after": lambda v: parse_duration(v, "zero-after"),
               "grace": lambda v: parse_duration(v, "grace")}
    if not sep or key.strip() not in parsers:
        raise PolicyError(f"late-policy term {term!r} is none of R%/day, R%/hour, cap=P%, zero-after=D, grace=D "
                          "(D such as 3d, 12h or 15min)")
    return key.strip().replace("-", "_"), parsers[key.strip()](value)


@dataclass(frozen=True)
class Policy:
    """The class's deadline, late rule, penalty for a submission the LMS only flagged late, and extensions."""

    due: str = ""  # ISO 8601 with offset; "" when no deadline was given
    rule: LateRule = LateRule()
    flagged: float | None = None  # fraction off for a LATE flag without a time; None: no penalty set
    extensions: dict[str, str] = field(default_factory=dict)  # student id → their own deadline, ISO 8601

    def due_for(self, student_id):
        """The deadline that applies to this student (their extension's, if any), or None."""
        due = self.extensions.get(student_id) or self.due
        return parse_time(due) if due else None

    def to_json(self):
        return {"due": self.due, "late_policy": str(self.rule),
                "flagged_penalty": None if self.flagged is None else _percent(self.flagged),
                "extensions": dict(sorted(self.extensions.items()))}

    @classmethod
    def from_json(cls, data):
        flagged = data.get("flagged_penalty")
        return cls(due=data.get("due", ""), rule=LateRule.parse(data.get("late_policy", "")),
                   flagged=None if flagged is None else parse_percent(flagged, "flagged_penalty"),
                   extensions=dict(data.get("extensions", {})))

    def save(self, out):
        """Write DIR/policy.json: aside, then renamed into place."""
        path = Path(out) / POLICY_FILE
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, out):
        """The policy saved in DIR; no deadline and no penalty when none was saved."""
        path = Path(out) / POLICY_FILE
        if not path.exists():
            return cls()
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, AttributeError) as err:
            raise PolicyError(f"{path} cannot be read: {err}") from None


def read_extensions(path):
    """Student id → deadline (ISO 8601) from a CSV with the header ``student_id,due``."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:  # -sig: spreadsheets often save a BOM
            rows = list(csv.reader(file))
    except (OSError, UnicodeDecodeError) as err:
        raise PolicyError(f"cannot read the extensions file {path}: {err}") from None
    if not rows or [cell.strip() for cell in rows[0][:2]] != ["student_id", "due"]:
        raise PolicyError(f"the extensions file {path} must start with the header line: student_id,due")
    extensions = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 2 or not row[0].strip():
            raise PolicyError(f"{path}, line {line}: expected student_id,due")
        sid = row[0].strip()
        if sid in extensions:
            raise PolicyError(f"{path}, line {line}: a second extension for {sid}")
        extensions[sid] = parse_time(row[1], f"{path}, line {line}: due").isoformat()
    return extensions


def policy_from_options(due=None, late_policy=None, flagged_penalty=None, extensions=None):
    """The :class:`Policy` of `hw4 grade`'s options (see ``add_options``); raises PolicyError."""
    if (late_policy or extensions) and not due:
        raise PolicyError("--late-policy and --extensions need --due, the deadline they count from")
    return Policy(due=parse_time(due).isoformat() if due else "", rule=LateRule.parse(late_policy),
                  flagged=None if flagged_penalty is None else parse_percent(flagged_penalty, "--flagged-penalty"),
                  extensions=read_extensions(extensions) if extensions else {})


def add_options(parser):
    """`hw4 grade`'s deadline options, for ``policy_from_options(**their values)``."""
    parser.add_argument("--due", metavar="WHEN", help="the deadline, with its time zone: 2026-12-01T23:59-05:00")
    parser.add_argument("--late-policy", metavar="RULE", help="what lateness costs, e.g. 10%%/day,cap=50%%,"
                                                               "zero-after=5d,grace=15min (see docs/grades.md)")
    parser.add_argument("--flagged-penalty", metavar="P%", help="penalty for a submission the LMS only flags "
                                                                "late, without a time (e.g. 10%%)")
    parser.add_argument("--extensions", metavar="CSV", help="per-student deadlines: a CSV with student_id,due")


def lateness(student, policy):
    """How late ``student`` handed in under ``policy``, what it costs, and the note that tells them."""
    due = policy.due_for(student.id)
    if due and student.submitted_at:
        handed_in = parse_time(student.submitted_at, f"the submission time of {student.id}")
        seconds = (handed_in - due).total_seconds()
        if seconds <= 0:
            return Lateness()
        fraction = policy.rule.fraction(seconds)
        extended = student.id in policy.extensions
        return Lateness(seconds / 3600, fraction, _note(seconds, due, fraction, policy.rule, extended))
    if student.late and policy.flagged is not None and student.id not in policy.extensions:
        # An extension given here postdates the LMS's flag, which was set against the LMS's own deadline.
        return Lateness(0.0, policy.flagged, f"Marked late by the course's submission system: "
                                             f"{MINUS}{policy.flagged * 100:g} % of the total.")
    return Lateness()


def _note(seconds, due, fraction, rule, extended):
    deadline = "your extended deadline" if extended else "the deadline"
    when = f"{span(seconds)} after {deadline} ({due:%Y-%m-%d %H:%M} UTC{_offset(due)})"
    if fraction == 1.0 and rule.zero_after is not None and seconds > rule.zero_after:
        return f"Handed in {when}, more than {span(rule.zero_after)} late: no credit ({MINUS}100 % of the total)."
    if seconds <= rule.grace:
        return f"Handed in {when}, within the {span(rule.grace)} grace period: no penalty."
    if not fraction:
        return f"Handed in {when}: no late penalty."
    return f"Handed in {when}: {MINUS}{fraction * 100:g} % of the total ({rule.describe()})."


def _offset(moment):
    """'−05:00' for a time 5 hours behind UTC, '+00:00' for UTC."""
    minutes = round(moment.utcoffset() / timedelta(minutes=1))
    sign = MINUS if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def span(seconds):
    """A duration as a student reads it: '1 day 3 h', '2 days 5 min', '45 min'. Rounded up to the minute, so
    that a student charged for a started day sees a duration past the whole days."""
    days, rest = divmod(math.ceil(seconds / 60), 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} day{'s' if days > 1 else ''}"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    return " ".join(parts)
