"""Intake: each LMS's download, built as that LMS names things, read in place into one row per student.

No kernel runs: read_class and read_upload say which file is graded as which notebook and with what
status. Every test snapshots SOURCE and the folder around it, and checks that nothing was written.
"""
import hashlib
import io
import json
import os
import re
import stat
import warnings
import zipfile

import pytest

from autograder.intake import IntakeError, read_class, sources
from autograder.intake.sources import original, readable
from autograder.submissions import read_upload
from conftest import REPO

MiB = 2**20


def notebook(name, version=0):
    """The released notebook ``name`` (as `hw4 release` left it at the top of the repository), told apart
    from its other versions by a metadata field."""
    nb = json.loads((REPO / f"{name}.ipynb").read_bytes())
    nb["metadata"]["intake_test_version"] = version
    return json.dumps(nb).encode()


def digest(data):
    return hashlib.sha256(data).hexdigest()


def write_zip(path, entries):
    """``entries``: (name, bytes), or (name, (bytes, unix mode[, compression])) for links, special files and
    entries stored uncompressed."""
    with warnings.catch_warnings():  # zipfile warns of the duplicate names some tests write on purpose
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                info = zipfile.ZipInfo(name, (2024, 5, 1, 12, 0, 0))
                data, mode, method = (*data, zipfile.ZIP_DEFLATED)[:3] if isinstance(data, tuple) else \
                    (data, stat.S_IFREG | 0o644, zipfile.ZIP_DEFLATED)
                info.external_attr = mode << 16
                info.compress_type = method
                zf.writestr(info, data)
    return path


def zip_bytes(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buffer.getvalue()


def snapshot(folder):
    """Every path below ``folder`` with its size and content hash: what a test compares before and after."""
    seen = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            content = digest(open(path, "rb").read()) if stat.S_ISREG(info.st_mode) else stat.S_IFMT(info.st_mode)
            seen[path] = (info.st_size if stat.S_ISREG(info.st_mode) else 0, content)
    return seen


@pytest.fixture
def area(tmp_path):
    """tmp_path, and a function reading a class into rows that checks that nothing in tmp_path changed."""
    def read(source, fmt=None):
        before = snapshot(tmp_path)
        try:
            intake = read_class(source, fmt)
            return intake, {sid: read_upload(upload) for sid, upload in intake.uploads.items()}
        finally:
            assert snapshot(tmp_path) == before, "reading the class wrote or changed files"

    return tmp_path, read


def notes(rows, sid):
    return " | ".join(note for nb in rows[sid].values() for note in nb.notes)


def reasons(rows, sid):
    return {name: (nb.status, nb.reason) for name, nb in rows[sid].items()}


# ---------------------------------------------------------------- Canvas

def canvas_entries():
    own = zip_bytes([("hw4/VAE.ipynb", notebook("VAE", 7)), ("hw4/KL_derivation.ipynb", notebook("KL_derivation", 7)),
                     ("__MACOSX/hw4/._VAE.ipynb", b"\x00\x05\x16\x07")])
    return [
        ("smithjane_1001_5001_VAE.ipynb", notebook("VAE", 1)),
        ("smithjane_1001_5002_KL_derivation.ipynb", notebook("KL_derivation", 1)),
        ("smithjane_LATE_1002_5003_VAE.ipynb", notebook("VAE", 2)),  # another Jane Smith, late
        ("smithjane_LATE_1002_5004_KL_derivation.ipynb", notebook("KL_derivation", 2)),
        ("oconnorsean_1003_5005_VAE.ipynb", notebook("VAE", 30)),  # resubmitted twice
        ("oconnorsean_1003_5006_VAE-1.ipynb", notebook("VAE", 31)),
        ("oconnorsean_1003_5007_VAE-2.ipynb", notebook("VAE", 32)),
        ("oconnorsean_1003_5008_KL_derivation-1.ipynb", notebook("KL_derivation", 3)),
        ("oconnorsean_1003_5009_report.pdf", b"%PDF-1.4"),
        ("oconnorsean_1003_5010_helpers.py", b"print()"),
        ("oconnorsean_1003_5011_curve.png", b"\x89PNG"),
        ("müllerzoë_1004_5012_hw4.zip", own),  # accents in the name; the notebooks in their own zip
        ("anon4kx2_5013_VAE.ipynb", notebook("VAE", 5)),  # anonymous grading
        ("leeann_1006_text.html", b"<p>my answers are in the PDF</p>"),
    ]


def test_a_canvas_download_keys_students_by_user_id_and_keeps_the_latest(area):
    tmp, read = area
    intake, rows = read(write_zip(tmp / "submissions.zip", canvas_entries()))
    assert intake.format == "canvas" and list(intake.uploads) == ["1001", "1002", "1003", "1004", "1006", "anon4kx2"]
    students = {sid: upload.student for sid, upload in intake.uploads.items()}
    assert students["1001"].name == students["1002"].name == "smithjane"  # two Jane Smiths stay two students
    assert (students["1001"].late, students["1002"].late) == (False, True)
    assert rows["1001"]["VAE"].sha256 == digest(notebook("VAE", 1))
    assert rows["1002"]["KL_derivation"].sha256 == digest(notebook("KL_derivation", 2))
    sean = rows["1003"]
    assert sean["VAE"].sha256 == digest(notebook("VAE", 32)) and sean["VAE"].status == "ok"
    assert sean["KL_derivation"].sha256 == digest(notebook("KL_derivation", 3))
    assert "graded VAE-2.ipynb, the latest of 3 files uploaded as VAE.ipynb" in notes(rows, "1003")
    assert "ignored files that are not notebooks: curve.png, helpers.py, report.pdf" in notes(rows, "1003")
    assert rows["1004"]["VAE"].sha256 == digest(notebook("VAE", 7)) and rows["1004"]["VAE"].status == "ok"
    assert "read the notebooks from the zip hw4.zip" in notes(rows, "1004")
    assert rows["anon4kx2"]["VAE"].status == "ok" and rows["anon4kx2"]["KL_derivation"].status == "missing"
    assert {nb.status for nb in rows["1006"].values()} == {"missing"}
    assert "text.html" in notes(rows, "1006")


def test_the_same_canvas_download_unzipped_gives_the_same_rows(area):
    tmp, read = area
    folder = tmp / "unzipped"
    folder.mkdir()
    for name, data in canvas_entries():
        (folder / name).write_bytes(data)
    zipped = write_zip(tmp / "submissions.zip", canvas_entries())
    from_folder, rows = read(folder)
    from_zip, zip_rows = read(zipped)
    assert from_folder.format == from_zip.format == "canvas"
    assert {sid: {n: nb.sha256 for n, nb in row.items()} for sid, row in rows.items()} == \
           {sid: {n: nb.sha256 for n, nb in row.items()} for sid, row in zip_rows.items()}


# ---------------------------------------------------------------- Moodle

def test_moodle_flat_and_in_folders_key_students_by_participant_id(area):
    tmp, read = area
    flat = write_zip(tmp / "flat.zip", [
        ("Jane Smith_2001_assignsubmission_file_VAE.ipynb", notebook("VAE", 1)),
        ("Jane Smith_2001_assignsubmission_file_KL_derivation.ipynb", notebook("KL_derivation", 1)),
        ("Jane Smith_2002_assignsubmission_file_VAE.ipynb", notebook("VAE", 2)),
        ("Seán O'Brien-Núñez_2003_assignsubmission_file_KL_derivation.ipynb", notebook("KL_derivation", 3)),
        ("Seán O'Brien-Núñez_2003_assignsubmission_file_notes.pdf", b"%PDF"),
        ("Anne Marie_2004_assignsubmission_onlinetext_onlinetext.html", b"<p>see attached</p>"),
    ])
    folders = write_zip(tmp / "folders.zip", [
        ("Jane Smith_2001_assignsubmission_file/VAE.ipynb", notebook("VAE", 1)),
        ("Jane Smith_2001_assignsubmission_file/KL_derivation.ipynb", notebook("KL_derivation", 1)),
        ("Jane Smith_2002_assignsubmission_file_/VAE.ipynb", notebook("VAE", 2)),  # before Moodle 4.1
        ("Seán O'Brien-Núñez_2003_assignsubmission_file/KL_derivation.ipynb", notebook("KL_derivation", 3)),
        ("Seán O'Brien-Núñez_2003_assignsubmission_file/notes.pdf", b"%PDF"),
        ("Anne Marie_2004_assignsubmission_onlinetext/onlinetext.html", b"<p>see attached</p>"),
    ])
    for source in (flat, folders):
        intake, rows = read(source)
        assert intake.format == "moodle" and list(intake.uploads) == ["2001", "2002", "2003", "2004"]
        assert intake.uploads["2003"].student.name == "Seán O'Brien-Núñez"
        assert rows["2001"]["VAE"].sha256 == digest(notebook("VAE", 1))
        assert rows["2002"]["VAE"].sha256 == digest(notebook("VAE", 2))
        assert rows["2003"]["KL_derivation"].status == "ok" and "notes.pdf" in notes(rows, "2003")
        assert rows["2004"]["VAE"].status == "missing" and "onlinetext.html" in notes(rows, "2004")


# ---------------------------------------------------------------- Gradescope

METADATA = """\
submission_301:
  :submitters:
  - :name: Jane Smith
    :sid: '7001'
    :email: jane.smith@example.edu
  :created_at: 2024-05-01 11:59:03.123456000 -07:00
  :score: !ruby/object:BigDecimal 18:0.0
  :status: processed
  :history:
  - :created_at: 2024-04-30 10:00:00.000000000 -07:00
    :score: !ruby/object:BigDecimal 18:0.0
submission_302:
  :submitters:
  - :name: Jane Smith
    :sid: '7002'
    :email: jsmith2@example.edu
  - :name: Kō Tanaka
    :sid: '7003'
    :email: ko@example.edu
  :created_at: 2024-05-01 12:30:00.000000000 -07:00
submission_303:
  :submitters:
  - :name: Visiting Student
    :email: visitor@example.org
  :created_at: 2024-05-02 09:00:00.000000000 +02:00
"""


def test_a_gradescope_export_keys_by_sid_or_submission_id_and_splits_groups(area):
    tmp, read = area
    root = "assignment_123_export/"
    source = write_zip(tmp / "export.zip", [
        (root + "submission_metadata.yml", METADATA.encode()),
        (root + "submission_301/VAE.ipynb", notebook("VAE", 1)),
        (root + "submission_301/KL_derivation.ipynb", notebook("KL_derivation", 1)),
        (root + "submission_302/VAE.ipynb", notebook("VAE", 2)),
        (root + "submission_303/KL_derivation.ipynb", notebook("KL_derivation", 3)),
        (root + "submission_303/scan.jpg", b"\xff\xd8"),
    ])
    intake, rows = read(source)
    assert intake.format == "gradescope" and list(intake.uploads) == ["7001", "7002", "7003", "submission_303"]
    jane = intake.uploads["7001"].student
    assert (jane.name, jane.email, jane.sis_id) == ("Jane Smith", "jane.smith@example.edu", "7001")
    assert jane.submitted_at == "2024-05-01T11:59:03.123456-07:00"
    assert "graded the latest of 2 submissions" in notes(rows, "7001")
    assert rows["7002"]["VAE"].sha256 == rows["7003"]["VAE"].sha256 == digest(notebook("VAE", 2))
    assert "a group submission with Kō Tanaka" in notes(rows, "7002")
    assert intake.uploads["submission_303"].student.email == "visitor@example.org"
    assert rows["submission_303"]["KL_derivation"].status == "ok" and "scan.jpg" in notes(rows, "submission_303")


# ---------------------------------------------------------------- nbgrader and plain folders

def test_nbgrader_submitted_folder_keeps_the_timestamp(area):
    tmp, read = area
    for sid, stamp in (("alice", "2024-05-01 18:59:03.123456 UTC"), ("bob", "not a time")):
        folder = tmp / "course" / "submitted" / sid / "hw4"
        folder.mkdir(parents=True)
        (folder / "VAE.ipynb").write_bytes(notebook("VAE"))
        (folder / "timestamp.txt").write_text(stamp)
    (tmp / "course" / "submitted" / "alice" / "hw3").mkdir()  # another assignment's folder
    (tmp / "course" / "autograded" / "alice" / "hw4").mkdir(parents=True)  # the rest of a course folder
    (tmp / "course" / "source" / "hw4").mkdir(parents=True)
    for source in (tmp / "course", tmp / "course" / "submitted"):
        intake, rows = read(source)
        assert intake.format == "nbgrader" and list(intake.uploads) == ["alice", "bob"]
        assert intake.uploads["alice"].student.submitted_at == "2024-05-01T18:59:03.123456+00:00"
        assert rows["alice"]["VAE"].status == "ok" and "timestamp" not in notes(rows, "alice")
        assert "timestamp.txt could not be read" in notes(rows, "bob")


def test_a_zip_of_the_class_folder_is_read_inside_its_folder(area):
    tmp, read = area
    wrapped = write_zip(tmp / "class.zip", [("submissions/ada/VAE.ipynb", notebook("VAE")),
                                            ("submissions/ben/hw4/KL_derivation.ipynb", notebook("KL_derivation"))])
    one = write_zip(tmp / "one.zip", [("ada/VAE.ipynb", notebook("VAE"))])  # one student, not a wrapper
    assert list(read(wrapped)[0].uploads) == ["ada", "ben"]
    assert list(read(one)[0].uploads) == ["ada"]


def test_format_recognition_can_be_overridden(area):
    tmp, read = area
    folder = tmp / "class"
    (folder / "smithjane_1001_5001_VAE.ipynb").mkdir(parents=True)  # a student folder with a Canvas-like name
    (folder / "smithjane_1001_5001_VAE.ipynb" / "VAE.ipynb").write_bytes(notebook("VAE"))
    intake, rows = read(folder, "folders")
    assert intake.format == "folders" and rows["smithjane_1001_5001_VAE.ipynb"]["VAE"].status == "ok"
    with pytest.raises(IntakeError, match="unknown format 'blackboard'"):
        read_class(folder, "blackboard")


def test_non_utf8_names_get_a_readable_reversible_id(area):
    tmp, read = area
    folder = tmp / "class"
    folder.mkdir()
    for raw in (b"caf\xe9", b"50%", b"\xff\xfe"):
        os.mkdir(os.path.join(os.fsencode(folder), raw))
        open(os.path.join(os.fsencode(folder), raw, b"VAE.ipynb"), "wb").write(notebook("VAE"))
    zipped = tmp / "class.zip"
    write_zip(zipped, [("cafX/VAE.ipynb", notebook("VAE"))])
    data = zipped.read_bytes()
    zipped.write_bytes(data.replace(b"cafX/", b"caf\xe9/"))  # a name in a legacy code page, as Windows zips have
    intake, rows = read(folder)
    assert list(intake.uploads) == ["%FF%FE", "50%25", "caf%E9"]
    assert [original(sid) for sid in intake.uploads] == [b"\xff\xfe", b"50%", b"caf\xe9"]
    assert all(row["VAE"].status == "ok" for row in rows.values())
    intake, rows = read(zipped)
    assert list(intake.uploads) == ["caf%E9"] and rows["caf%E9"]["VAE"].status == "ok"
    assert readable("Zoë".encode()) == "Zoë"


# ---------------------------------------------------------------- bad input

def test_bad_sources_get_one_clear_error(area):
    tmp, read = area
    (tmp / "notes.zip").write_text("these are my notes, not a zip")
    good = write_zip(tmp / "good.zip", [("1001/VAE.ipynb", notebook("VAE"))]).read_bytes()
    (tmp / "truncated.zip").write_bytes(good[: len(good) - 40])
    write_zip(tmp / "climbs.zip", [("1001/VAE.ipynb", notebook("VAE")), ("../../evil.ipynb", b"{}")])
    write_zip(tmp / "absolute.zip", [("/etc/cron.d/evil", b"* * * * * root true")])
    write_zip(tmp / "name.zip", [("café/VAE.ipynb", notebook("VAE"))])  # flagged as UTF-8: then made not UTF-8
    (tmp / "name.zip").write_bytes((tmp / "name.zip").read_bytes().replace("é".encode(), b"\xc3\x28"))
    (tmp / "pipe").mkdir()
    os.mkfifo(tmp / "pipe" / "fifo")
    expect = {"name.zip": "an entry's name is marked UTF-8 but is not", "missing.zip": "cannot read",
              "notes.zip": "is not a zip file", "truncated.zip": "truncated or damaged",
              "climbs.zip": "paths leave the zip (../../evil.ipynb)", "absolute.zip": "paths leave the zip",
              "pipe/fifo": "neither a folder nor a zip"}
    for name, message in expect.items():
        with pytest.raises(IntakeError, match=re.escape(message)):
            read(tmp / name)


def test_bad_entries_in_a_zip_each_get_a_row(area, monkeypatch):
    tmp, read = area
    monkeypatch.setattr(sources, "MAX_OWN_ZIP_BYTES", MiB)  # a student's zip: 1 MiB here, to keep the test small
    source = write_zip(tmp / "class.zip", [
        ("link/VAE.ipynb", (b"/etc/passwd", stat.S_IFLNK | 0o777)),
        ("link-folder", (b"/home", stat.S_IFLNK | 0o777)),
        ("twice/VAE.ipynb", notebook("VAE", 1)),
        ("twice/VAE.ipynb", notebook("VAE", 2)),
        ("huge/VAE.ipynb", b" " * (21 * MiB) + b"{}"),
        ("pipe/VAE.ipynb", (b"", stat.S_IFIFO | 0o644)),
        ("bad-own-zip/hw4.zip", b"PK\x03\x04 and then nothing"),
        ("bomb-own-zip/hw4.zip", zip_bytes([(f"{n}.ipynb", b" " * MiB) for n in range(2)])),
        ("fine/VAE.ipynb", notebook("VAE")),
        ("corrupt/VAE.ipynb", (notebook("VAE", 9), stat.S_IFREG | 0o644, zipfile.ZIP_STORED)),
    ])
    data = source.read_bytes()
    source.write_bytes(data.replace(b'"intake_test_version": 9', b'"intake_test_version": 8'))  # fails its CRC
    intake, rows = read(source)
    assert intake.format == "folders"
    assert reasons(rows, "corrupt")["VAE"][1].startswith("VAE.ipynb cannot be read from")
    assert "it is damaged (Bad CRC-32" in reasons(rows, "corrupt")["VAE"][1]
    assert reasons(rows, "link")["VAE"] == ("invalid", "VAE.ipynb is a symbolic link, not a notebook file")
    assert reasons(rows, "link-folder")["VAE"] == \
           ("invalid", "the student folder is a symbolic link, not a folder holding the notebooks")
    assert reasons(rows, "twice")["VAE"] == \
           ("invalid", "VAE.ipynb is one of 2 entries of this name in the zip, not a notebook file")
    assert reasons(rows, "huge")["VAE"][1].startswith("VAE.ipynb is 21 MiB; the limit is 20 MiB")
    assert reasons(rows, "pipe")["VAE"] == ("invalid", "VAE.ipynb is a named pipe, not a notebook file")
    assert "truncated or damaged zip" in reasons(rows, "bad-own-zip")["VAE"][1]
    assert "may be a zip bomb" in reasons(rows, "bomb-own-zip")["VAE"][1]
    assert rows["fine"]["VAE"].status == "ok"


def test_a_class_zip_that_expands_beyond_the_limit_is_refused(area, monkeypatch):
    tmp, read = area
    entries = [(f"{sid}/VAE.ipynb", notebook("VAE", sid)) for sid in range(4)]
    source = write_zip(tmp / "class.zip", entries)
    declared = sum(len(data) for _, data in entries)
    monkeypatch.setattr(sources, "MAX_CLASS_BYTES", declared - 1)
    with pytest.raises(IntakeError, match="may be a zip bomb"):
        read(source)
    # Declared sizes within the limit, but the students' own zips expand beyond it as they are read.
    own = [(f"{sid}/hw4.zip", zip_bytes([("VAE.ipynb", notebook("VAE", sid))])) for sid in range(4)]
    source = write_zip(tmp / "nested.zip", own)
    monkeypatch.setattr(sources, "MAX_CLASS_BYTES", sum(len(data) for _, data in own) + len(notebook("VAE")))
    with pytest.raises(IntakeError, match="expands to more than the limit as it is read"):
        read(source)

