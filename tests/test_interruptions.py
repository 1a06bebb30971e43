"""Stopping `hw4 grade` with real signals, killing it, running it twice, on a terminal, on a full disk."""
import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from autograder.course import autograded_tests
from autograder.coordinator.runs import Interrupted, interruptible, interruption
from autograder.sandbox.kernel import PLACEHOLDER
from autograder.samples import reference_answers, write_submission
from conftest import HW4
from test_uploads import bad_class

INTERRUPTED = re.compile(r"^interrupted: (\d) of 4 students graded; run the same command again to continue$")
KL_POINTS = {test_id: points for notebook, test_id, points in autograded_tests() if notebook == "KL_derivation"}
FOUR = {"blank": ("missing", {}), "broken": ("missing", {}), "right1": ("missing", KL_POINTS),
        "right2": ("missing", KL_POINTS)}  # status and points per test; VAE.ipynb is missing throughout


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    """Four students, three of whom need a kernel."""
    root = tmp_path_factory.mktemp("four")
    kl = reference_answers("KL_derivation")
    for sid in ("right1", "right2"):
        write_submission(root / sid, {"KL_derivation": kl})
    write_submission(root / "blank", {"KL_derivation": {}})
    (root / "broken").mkdir()
    (root / "broken" / "KL_derivation.ipynb").write_text("not json")
    return root


def _start(submissions, out):
    """`hw4 grade` in a session of its own, as a shell starts a foreground job."""
    return subprocess.Popen([HW4, "grade", submissions, "--out", out, "--jobs", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _processes():
    """pid → (parent pid, start time, state) of every process."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone
            continue
        table[int(entry.name)] = (int(fields[1]), fields[19], fields[0])
    return table


def _descendants(pid):
    """(pid, start time) of everything ``pid`` started, and what they started (a zygote's kernels too)."""
    table, found, frontier = _processes(), set(), [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, start, _) in table.items():
            if ppid == parent and (child, start) not in found:
                found.add((child, start))
                frontier.append(child)
    return found


def _alive(processes):
    table = _processes()
    return {(pid, start) for pid, start in processes if pid in table and table[pid][1:] != (start, "Z")
            and table[pid][1] == start}  # a zombie is dead; a new process may have the pid of a gone one


def _interrupted_lines(stderr):
    """The coordinator's one line. Searched for, not taken as the last line: a library in a child that is
    being killed may still print (once seen: oneMKL's "Cannot load libtorch_cpu.so")."""
    return [m for line in stderr.splitlines() if (m := INTERRUPTED.match(line))]


def _wait_until_grading(run, out, results=1):
    """Until ``results`` students are saved and a student's kernel runs (its sandbox's placeholder is up: the
    sandbox check before grading runs bwrap too); what the run has started by then."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and run.poll() is None:
        started = _descendants(run.pid)
        kernel_up = PLACEHOLDER[0] in {_name(pid) for pid, _ in _alive(started)}
        if kernel_up and len(list((out / "results").glob("*.json"))) >= results:
            return started
        time.sleep(0.2)
    raise AssertionError(f"the run never got to grading: {run.communicate()}")


def _name(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:  # gone
        return ""


def _stop(run, signum, started, *, group):
    """Send ``signum``; return the seconds until the run exited and the processes still alive then."""
    sent = time.monotonic()
    os.killpg(run.pid, signum) if group else os.kill(run.pid, signum)
    try:
        stdout, stderr = run.communicate(timeout=60)
    except subprocess.TimeoutExpired as err:
        raise AssertionError(f"60 s after the signal, the run has {'not ' * (run.poll() is None)}exited, "
                             f"and these processes hold its output: {_holders(run)}\n{err.stderr}") from None
    exited = time.monotonic() - sent
    while _alive(started) and time.monotonic() - sent < 5:  # parent-death signals act asynchronously
        time.sleep(0.05)
    return exited, _alive(started), stdout, stderr


def _holders(run):
    """(pid, parent pid, command line) of each process, the run's or not, with its stdout or stderr open."""
    pipes = {os.readlink(f"/proc/self/fd/{pipe.fileno()}") for pipe in (run.stdout, run.stderr)}
    table, found = _processes(), []
    for pid in table:
        try:
            if pid != os.getpid() and pipes & {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}:
                found.append((pid, table[pid][0], Path(f"/proc/{pid}/cmdline").read_bytes()[:200]))
        except OSError:  # gone, or its descriptors changed as they were read
            pass
    return found


def _grades(out):
    return json.loads((out / "grades.json").read_text())["students"]


def test_an_interruption_that_a_library_swallowed_is_still_the_reason():
    def like_nbgrader():  # its API catches every exception, then fails in its own way
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)
        except BaseException:
            pass
        raise RuntimeError("nbgrader generate_assignment failed")

    with pytest.raises(Interrupted) as failed, interruptible():
        like_nbgrader()
    assert failed.value.signum == signal.SIGTERM  # not the library's RuntimeError
    with pytest.raises(ValueError) as failed, interruptible():
        raise ValueError("no signal this time")
    assert interruption(failed.value) is None


def test_ctrl_c_then_a_kill_stop_cleanly_and_the_next_run_finishes_the_class(four, tmp_path):
    """An instructor's run is stopped by Ctrl-C, its rerun is killed outright (kill -9, a machine going down),
    and a third run finishes the class as one uninterrupted run would have graded it."""
    out = tmp_path / "out"
    run = _start(four, out)
    started = _wait_until_grading(run, out)
    exited, left, stdout, stderr = _stop(run, signal.SIGINT, started, group=True)  # what Ctrl-C does
    print(f"exited {exited:.2f} s after Ctrl-C")
    assert run.returncode == 130, stderr
    assert exited < 5 and not left
    assert "Traceback" not in stdout + stderr
    said = _interrupted_lines(stderr)
    assert len(said) == 1, stderr
    graded = int(said[0].group(1))
    assert graded == len(list((out / "results").glob("*.json"))) >= 1
    assert not list(out.rglob("*.tmp")) and not (out / "work").exists()

    run = _start(four, out)  # it resumes, and is killed while it grades a student it had left
    started = _wait_until_grading(run, out, results=graded)
    run.kill()
    run.communicate()
    killed = time.monotonic()
    while _alive(started) and time.monotonic() - killed < 10:
        time.sleep(0.05)
    print(f"all {len(started)} processes gone {time.monotonic() - killed:.2f} s after SIGKILL")
    assert not _alive(started)

    rerun = subprocess.run([HW4, "grade", four, "--out", out, "--jobs", "1"], capture_output=True, text=True,
                           timeout=600)  # the lock file is still there, held by no one
    assert rerun.returncode == 0, rerun.stderr
    resumed = re.search(r"grading (\d) of 4 students \((\d) already graded\)", rerun.stdout)
    assert resumed and int(resumed.group(1)) + int(resumed.group(2)) == 4 and int(resumed.group(2)) >= graded
    assert _scores(_grades(out)) == FOUR  # what one uninterrupted run gives


def _scores(grades):
    """Student id → (status, the points of each test that scored any)."""
    return {sid: (g["status"], {test_id: t["score"] for test_id, t in g["tests"].items() if t["score"]})
            for sid, g in grades.items()}


def test_a_second_run_on_the_same_folder_is_refused_and_sigterm_stops_the_first(tmp_path):
    out, kl = tmp_path / "out", reference_answers("KL_derivation")
    sleep = kl["mvn_log_prob"] + "\n\nimport time\ntime.sleep(600)"  # keeps the first run going, whatever the load
    write_submission(tmp_path / "class" / "sleeper", {"KL_derivation": {**kl, "mvn_log_prob": sleep}})
    first = _start(tmp_path / "class", out)
    started = _wait_until_grading(first, out, results=0)
    second = subprocess.run([HW4, "grade", tmp_path / "class", "--out", out], capture_output=True, text=True,
                            timeout=120)
    assert second.returncode == 1
    assert f"another hw4 grade (pid {first.pid}) is writing to {out}" in second.stderr
    exited, left, stdout, stderr = _stop(first, signal.SIGTERM, started, group=False)
    print(f"exited {exited:.2f} s after SIGTERM")
    assert first.returncode == 143 and exited < 5 and not left, stderr
    assert "interrupted: 0 of 1 students graded" in stderr and "Traceback" not in stderr, stderr


def test_a_terminal_gets_a_progress_bar_with_each_student_above_it(tmp_path):
    expect = bad_class(tmp_path / "submissions")
    terminal, program_side = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a window, as a terminal has
    run = subprocess.Popen([HW4, "grade", tmp_path / "submissions", "--out", tmp_path / "out", "--jobs", "2"],
                           stdout=program_side, stderr=program_side)
    os.close(program_side)
    screen = b""
    while chunk := _read(terminal):
        screen += chunk
    assert run.wait(timeout=60) == 0
    text = screen.decode()
    assert re.search(rf"{len(expect)}/{len(expect)} \[[\d:]+<00:00, +[\d.]+ ?(student/s|s/student)\]", text), text
    for sid in expect:
        assert f"  {sid}: invalid" in text or f"  {sid}: missing" in text


def _read(fd):
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: the program side is closed
        return b""


def test_an_unwritable_out_or_a_full_disk_is_a_clear_error_and_keeps_the_results(tmp_path):
    submissions, disk = tmp_path / "submissions", tmp_path / "disk"
    bad_class(submissions)
    disk.mkdir()
    script = f"""
        mount -t tmpfs -o size=4M tmpfs {disk}
        {HW4} grade {submissions} --out {disk}/out > /dev/null || exit 1
        cp {disk}/out/grades.json {tmp_path}/before.json
        mkdir {submissions}/late && head -c 8M /dev/zero > {disk}/filler 2> /dev/null
        {HW4} grade {submissions} --out {disk}/out > {tmp_path}/full.out 2> {tmp_path}/full.err
        echo $? > {tmp_path}/full.rc
        cp {disk}/out/grades.json {tmp_path}/after.json
        find {disk}/out -name '*.tmp' > {tmp_path}/tmpfiles
        mount -o remount,ro {disk}
        {HW4} grade {submissions} --out {disk}/readonly > /dev/null 2> {tmp_path}/readonly.err
    """
    setup = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, timeout=600)
    assert setup.returncode == 1, setup.stderr  # the last hw4 grade failed, as it must
    assert (tmp_path / "full.rc").read_text().strip() == "1"
    assert re.fullmatch(rf"hw4 grade: cannot write to {disk}/out: No space left on device( \(\S+\))?; "
                        r"the results already saved there are kept\n", (tmp_path / "full.err").read_text())
    assert (tmp_path / "after.json").read_text() == (tmp_path / "before.json").read_text()
    assert (tmp_path / "tmpfiles").read_text() == ""
    assert (tmp_path / "readonly.err").read_text() == \
           f"hw4 grade: cannot write to {disk}/readonly: Read-only file system ({disk}/readonly); " \
           "the results already saved there are kept\n"
