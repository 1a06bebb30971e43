"""Gradescope's "Export Submissions": a folder ``submission_<id>/`` per submission, and
``submission_metadata.yml`` saying who made each one.

Followed: the export as instructors' scripts read it (e.g. public Gradescope-to-LMS converters): the
metadata maps each folder name to ``:submitters:`` (a list of ``:name:``, ``:sid:``, ``:email:``), the
submission's ``:created_at:`` and its ``:history:`` of earlier submissions. The keys are Ruby symbols
written as YAML strings (``:sid``), and some values carry Ruby tags (``!ruby/object:BigDecimal``), read
here as plain values. The key is the student's SID, or the folder's name (``submission_<id>``) where the
submitter has none. A group submission gives each member a row.
"""
import re
from datetime import datetime, timezone

import yaml

from hw4.course import MAX_NOTEBOOK_BYTES

from ..records import Student, Upload

NAME = "gradescope"
TITLE = "a Gradescope export"
PRIORITY = 10
METADATA = "submission_metadata.yml"
FOLDER = re.compile(r"submission_\d+")


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, reading Ruby-tagged values as the plain values they tag."""


def _untagged(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _untagged)


def recognises(source):
    names = [entry.path.name for entry in source.children()]
    return METADATA in names or any(FOLDER.fullmatch(name) for name in names)


def read(source):
    metadata, notes = _metadata(source)
    folders = sorted(e.path.name for e in source.children() if e.kind == "a folder" and FOLDER.fullmatch(e.path.name))
    uploads = []
    for folder in sorted(set(folders) | set(metadata)):
        record = metadata.get(folder)
        files = [f for f in source.below(folder) if f.kind != "a folder"] if folder in folders else []
        uploads += _uploads(folder, record if isinstance(record, dict) else {}, files)
    return _latest(uploads), notes


def _metadata(source):
    """Folder name → its record in submission_metadata.yml, and notes on what could not be read."""
    entry = next((e for e in source.children() if e.path.name == METADATA), None)
    if entry is None:
        return {}, [f"no {METADATA}: students are keyed by their folder's name"]
    try:
        data = yaml.load(entry.read(MAX_NOTEBOOK_BYTES), Loader=_Loader)
    except (yaml.YAMLError, ValueError, OSError) as err:
        return {}, [f"{METADATA} could not be read ({err}): students are keyed by their folder's name"]
    return (data if isinstance(data, dict) else {}), []


def _uploads(folder, record, files):
    """One upload per submitter of the submission in ``folder``."""
    submitters = [s for s in record.get(":submitters") or [] if isinstance(s, dict)] or [{}]
    when = _iso(record.get(":created_at"))
    notes = []
    if not record:
        notes.append(f"{folder} is not in {METADATA}: keyed by its folder's name")
    history = record.get(":history") or []
    if history:
        notes.append(f"graded the latest of {len(history) + 1} submissions (Gradescope keeps only the latest's files)")
    students = [Student(str(s.get(":sid") or "").strip() or folder, name=str(s.get(":name") or ""),
                        email=str(s.get(":email") or ""), sis_id=str(s.get(":sid") or "").strip(),
                        submitted_at=when) for s in submitters]
    uploads = []
    for student in students:
        group = [other.name or other.id for other in students if other is not student]
        extra = [f"a group submission with {', '.join(group)}"] if group else []
        uploads.append(Upload(student, files=list(files), notes=notes + extra))
    return uploads


def _latest(uploads):
    """One upload per student id: the latest where a student appears in several submissions."""
    by_id = {}
    for upload in uploads:
        by_id.setdefault(upload.student.id, []).append(upload)
    chosen = []
    for sid, versions in sorted(by_id.items()):
        versions.sort(key=lambda u: _instant(u.student.submitted_at))
        latest = versions[-1]
        if len(versions) > 1:
            latest.notes.append(f"in {len(versions)} submissions: graded the latest ({latest.student.submitted_at})")
        chosen.append(latest)
    return chosen


def _instant(iso):
    """A time to sort by (the earliest possible where there is none or it cannot be read)."""
    try:
        return datetime.fromisoformat(iso).astimezone(timezone.utc)
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)


def _iso(value):
    """An ISO 8601 time with its offset, from the YAML's timestamp (or its text); '' when there is none."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    if isinstance(value, str) and value.strip():
        try:
            return datetime.fromisoformat(value.strip().replace(" ", "T", 1).replace(" ", "")).isoformat()
        except ValueError:
            return value.strip()
    return ""

