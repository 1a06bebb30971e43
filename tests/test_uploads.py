"""Whatever students upload, each gets one row: real files of each kind where a folder or notebook should be."""
import csv
import json
import os
import socket
import stat
import subprocess
import tempfile
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.course import gradebook_url
from autograder.samples import reference_answers, write_submission
from autograder.submissions import read_student
from conftest import HW4

ODD_NAMES = ("-dash ünï cödé", "x" * 200)  # a leading dash, a space, non-ASCII, 200 characters
NOT_UTF8 = {os.fsdecode(b"caf\xe9 50%"): "caf%E9 50%25"}  # folder name (bytes not UTF-8) → its id everywhere


def _socket(path):
    """A socket file at ``path``: bound at a short path (socket paths are capped at 108 bytes), then moved."""
    with tempfile.TemporaryDirectory() as short, socket.socket(socket.AF_UNIX) as s:
        s.bind(f"{short}/s")
        os.rename(f"{short}/s", path)


def _device(path):
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null's numbers; reading it would not block


def _student(root, sid, make):
    folder = root / sid
    folder.mkdir()
    make(folder)


def bad_class(root):
    """Student id → (status, text of the reason) for one student per kind of bad entry."""
    root.mkdir()
    (root / "upload.zip").write_bytes(b"PK\x03\x04")
    os.mkfifo(root / "pipe")
    _socket(root / "sock")
    _device(root / "device")
    (root / "loop").symlink_to("loop")
    (root / "dangling").symlink_to(root / "nowhere")
    _student(root, "nb-folder", lambda f: (f / "KL_derivation.ipynb").mkdir())
    _student(root, "nb-pipe", lambda f: os.mkfifo(f / "KL_derivation.ipynb"))
    _student(root, "nb-socket", lambda f: _socket(f / "KL_derivation.ipynb"))
    _student(root, "nb-device", lambda f: _device(f / "KL_derivation.ipynb"))
    _student(root, "nb-loop", lambda f: (f / "KL_derivation.ipynb").symlink_to("KL_derivation.ipynb"))
    _student(root, "hw4-file", lambda f: (f / "hw4").write_text("notebooks"))
    _student(root, "hw4-pipe", lambda f: os.mkfifo(f / "hw4"))
    _student(root, "hw4-link", lambda f: (f / "hw4").symlink_to(root / "nb-folder"))
    folder = "the student folder is "
    expect = {"upload.zip": folder + "a file", "pipe": folder + "a named pipe", "sock": folder + "a socket",
              "device": folder + "a device", "loop": folder + "a symbolic link", "dangling": folder + "a symbolic link",
              "nb-folder": "is a folder", "nb-pipe": "is a named pipe", "nb-socket": "is a socket",
              "nb-device": "is a device", "nb-loop": "is a symbolic link", "hw4-file": "hw4 is a file",
              "hw4-pipe": "hw4 is a named pipe", "hw4-link": "hw4 is a symbolic link"}
    return {sid: ("missing" if sid.startswith("nb-") else "invalid", reason) for sid, reason in expect.items()}


def test_a_class_of_every_kind_of_bad_entry_is_graded_with_one_row_each(tmp_path):
    submissions = tmp_path / "submissions"
    expect = bad_class(submissions)
    one_answer = {"mvn_log_prob": reference_answers("KL_derivation")["mvn_log_prob"]}  # enough to score
    for folder in (*ODD_NAMES, *NOT_UTF8):
        write_submission(submissions / folder, {"KL_derivation": one_answer})
    graded = (*ODD_NAMES, *NOT_UTF8.values())
    run = subprocess.run([HW4, "grade", submissions, "--out", tmp_path / "out", "--jobs", "2"],
                         capture_output=True, text=True, timeout=600)  # a blocked read would hang here
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert sorted(rows) == sorted([*expect, *graded])
    students = json.loads((tmp_path / "out" / "grades.json").read_text())["students"]
    for sid, (status, reason) in expect.items():
        assert rows[sid]["status"] == students[sid]["status"] == status, (sid, students[sid]["errors"])
        assert reason in " ".join(students[sid]["errors"]), (sid, students[sid]["errors"])
    for sid in graded:  # graded normally: mvn_log_prob's points, the VAE notebook missing
        assert students[sid]["status"] == rows[sid]["status"] == "missing"
        assert students[sid]["score"] == float(rows[sid]["score"]) > 0
        assert (tmp_path / "out" / "feedback" / sid / "KL_derivation.html").is_file()
    with Gradebook(gradebook_url(tmp_path / "out" / "course")) as gb:
        assert {s.id for s in gb.students} == set(rows)
        assert {sid: gb.find_submission("hw4", sid).score for sid in graded} == \
               {sid: students[sid]["score"] for sid in graded}


def test_unreadable_folders_and_files_are_invalid_with_a_reason():
    """Read as an unprivileged user (root reads everything): a folder and a notebook that cannot be read."""
    with tempfile.TemporaryDirectory() as tmp:  # pytest's are closed to other users
        _unreadable(Path(tmp))


def _unreadable(tmp_path):
    (tmp_path / "closed").mkdir(mode=0o000)
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "KL_derivation.ipynb").write_text("{}")
    (tmp_path / "student" / "KL_derivation.ipynb").chmod(0o000)
    tmp_path.chmod(0o755)
    seen = {name: _as_nobody(lambda: {nb.name: nb.reason for nb in read_student(tmp_path / name).values()})
            for name in ("closed", "student")}
    assert seen["closed"]["VAE"] == "the student folder cannot be read (Permission denied)"
    assert seen["student"]["KL_derivation"] == "KL_derivation.ipynb cannot be read (permission denied)"
    assert read_student(tmp_path / "closed")["VAE"].status == "missing"  # root can: it is just empty


def _as_nobody(function):
    """``function()``'s value, computed in a forked child that runs as an unprivileged user."""
    readable, writable = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            os.write(writable, json.dumps(function()).encode())
        finally:
            os._exit(0)
    os.close(writable)
    with os.fdopen(readable) as pipe:
        value = json.loads(pipe.read())
    os.waitpid(child, 0)
    return value
